"""The mail layer: rendering, the outbox (both backends) and delivery to a real SMTP server."""

from __future__ import annotations

import email
import shutil
import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import jinja2
import pytest
import sqlalchemy as sa

from groupops.mail import (
    Recipient,
    SmtpConfig,
    SmtpTransport,
    build_message,
    enqueue,
    get_entry,
    pending_entries,
    render_email,
    send_entry,
)
from groupops.mail.i18n import CATALOGUE, LANGUAGES, fmt_duration, fmt_pct, translate
from groupops.mail.render import TEMPLATES_DIR
from groupops.settings import Settings

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32  # content is opaque to the mail layer
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """The real shared layout and macros plus a small ``hello`` email using them."""
    folder = tmp_path / "templates"
    folder.mkdir()
    for name in ("_base.html", "_base.txt", "_macros.html"):
        shutil.copy(TEMPLATES_DIR / name, folder / name)
    (folder / "hello.subject.txt").write_text("{{ t('digest.greeting', name=name) }}\n  Hi\n")
    (folder / "hello.txt").write_text(
        '{% extends "_base.txt" %}{% block heading %}Hello{% endblock %}'
        "{% block content %}{{ name }} wrote {{ n | num }} messages.{% endblock %}"
    )
    (folder / "hello.html").write_text(
        '{% extends "_base.html" %}{% import "_macros.html" as m %}'
        "{% block heading %}Hello{% endblock %}"
        '{% block content %}<p>{{ name }} wrote {{ n | num }}.</p>{{ m.chart("c1", "chart") }}'
        "{% endblock %}"
    )
    return folder


def _render(templates: Path, language: str = "en", **ctx: object) -> object:
    context = {"company": "ACME & Co", "name": "<Li Lei>", "n": 1234, **ctx}
    return render_email(
        "hello", context, language=language, images={"c1": PNG}, templates_dir=templates
    )


def test_render_escapes_html_only_and_shares_the_layout(templates: Path) -> None:
    out = render_email(
        "hello",
        {"company": "ACME & Co", "name": "<Li Lei>", "n": 1234},
        language="en",
        templates_dir=templates,
    )
    assert out.subject == "Hello <Li Lei>, Hi"
    assert "&lt;Li Lei&gt; wrote 1,234." in out.html
    assert "ACME &amp; Co" in out.html  # the layout's header, escaped
    assert '<img class="chart" src="cid:c1" alt="chart">' in out.html
    assert out.text.startswith("ACME & Co\nHello\n")
    assert "<Li Lei> wrote 1,234 messages." in out.text
    assert "<" not in out.text.replace("<Li Lei>", "")  # no markup in the text part


def test_render_uses_the_requested_language(templates: Path) -> None:
    out = render_email(
        "hello", {"company": "示例", "name": "李雷", "n": 3}, language="zh-CN",
        templates_dir=templates,
    )  # fmt: skip
    assert out.subject == "李雷，您好： Hi"
    assert "本邮件由 groupops 根据示例群管理制度自动生成" in out.text
    assert out.language == "zh-CN"


def test_render_refuses_missing_variables_and_unknown_languages(templates: Path) -> None:
    with pytest.raises(jinja2.UndefinedError):
        render_email("hello", {"company": "x", "name": "y"}, language="en", templates_dir=templates)
    with pytest.raises(ValueError, match="unsupported language"):
        render_email("hello", {"company": "x", "name": "y", "n": 1}, language="fr",
                     templates_dir=templates)  # fmt: skip
    with pytest.raises(jinja2.TemplateNotFound):
        render_email("nope", {}, language="en", templates_dir=templates)


def test_catalogue_is_complete() -> None:
    for key, texts in CATALOGUE.items():
        assert set(texts) == set(LANGUAGES), key
        for lang in LANGUAGES:
            assert texts[lang].strip(), (key, lang)
    with pytest.raises(KeyError, match="no en message"):
        translate("no.such.key", "en")


# Reply times are working time: minutes under an hour, then working hours and working days of
# the policy's 7.5 h (450 min) working day — never wall days of 1440 minutes.
@pytest.mark.parametrize(
    ("minutes", "language", "expected"),
    [
        (None, "en", "–"),
        (float("nan"), "zh-CN", "–"),
        (12.4, "en", "12 min"),
        (12.4, "zh-CN", "12 分钟"),
        (59.4, "zh-CN", "59 分钟"),
        (60, "en", "1 working hour"),
        (90, "en", "1.5 working hours"),
        (120, "zh-CN", "2 工作小时"),
        (449, "zh-CN", "7.4 工作小时"),
        (450, "en", "1 working day"),
        (3 * 1440, "en", "9.6 working days"),  # was "3 d" (wall days)
        (96.5 * 60, "zh-CN", "12.9 个工作日"),  # the 96.5 working hours
        (-90, "en", "-1.5 working hours"),
    ],
)
def test_fmt_duration(minutes: float | None, language: str, expected: str) -> None:
    assert fmt_duration(minutes, 450, language) == expected


def test_fmt_pct() -> None:
    assert fmt_pct(0.234, "en") == "23%"
    assert fmt_pct(0.2346, "en", 1) == "23.5%"


def _structure(msg: EmailMessage) -> list[str]:
    return [part.get_content_type() for part in msg.walk()]


def test_build_message_is_a_real_alternative_with_inline_images(templates: Path) -> None:
    rendered = _render(templates)
    msg = build_message(
        rendered,
        sender=Recipient("ops@example.com", "群运营"),
        to={"lilei@example.com": "李雷", "han@example.com": None},
        key="k1",
        now=NOW,
    )
    assert _structure(msg) == [
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
    ]
    parts = list(msg.walk())
    assert parts[1].get_content() == rendered.text
    assert parts[3].get_content() == rendered.html
    assert parts[4]["Content-ID"] == "<c1>"
    assert parts[4].get_content_disposition() == "inline"
    assert parts[4].get_content() == PNG
    assert msg["X-Groupops-Key"] == "k1"
    assert [a.addr_spec for a in msg["To"].addresses] == ["lilei@example.com", "han@example.com"]
    assert msg["To"].addresses[0].display_name == "李雷"


def _count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("select count(*) from outbox")).scalar_one())


def test_enqueue_stores_row_and_eml_once_per_key(
    engine: sa.Engine, templates: Path, tmp_path: Path
) -> None:
    rendered = _render(templates)
    outbox = tmp_path / "outbox"
    args = {"key": "digest:week:2026-W47:owner:wecom:u001", "to": [Recipient("a@example.com")],
            "sender": "ops@example.com", "outbox_dir": outbox, "kind": "digest"}  # fmt: skip
    first = enqueue(engine, rendered, now=NOW, **args)
    assert first.created
    assert first.entry.status == "pending" and first.entry.attempts == 0
    assert first.entry.eml_path.parent == outbox and first.entry.eml_path.exists()
    stored = email.message_from_bytes(first.entry.eml_path.read_bytes(), policy=default_policy)
    assert stored["Subject"] == rendered.subject

    again = enqueue(engine, rendered, now=NOW, **args)
    assert not again.created
    assert again.entry.id == first.entry.id
    assert _count(engine) == 1 and len(list(outbox.iterdir())) == 1

    forced = enqueue(engine, rendered, now=NOW.replace(hour=2), force=True, **args)
    assert forced.created and forced.entry.id == first.entry.id
    assert forced.entry.eml_path != first.entry.eml_path  # the earlier file is kept
    assert _count(engine) == 1 and len(list(outbox.iterdir())) == 2


def test_send_delivers_the_stored_message_once(
    engine: sa.Engine,
    templates: Path,
    tmp_path: Path,
    smtp_server: tuple[str, int, list],
) -> None:
    host, port, received = smtp_server
    rendered = _render(templates)
    result = enqueue(
        engine, rendered, key="k:send", to={"a@example.com": "A", "b@example.com": "B"},
        sender="ops@example.com", outbox_dir=tmp_path / "outbox", now=NOW,
    )  # fmt: skip
    transport = SmtpTransport(SmtpConfig(host=host, port=port))
    sent = send_entry(engine, result.entry.id, transport)
    assert sent.status == "sent" and sent.attempts == 1 and sent.sent_at is not None
    assert len(received) == 1
    mail_from, rcpts, raw = received[0]
    assert mail_from == "ops@example.com"
    assert sorted(rcpts) == ["a@example.com", "b@example.com"]
    assert raw.replace(b"\r\n", b"\n") == result.entry.eml_path.read_bytes().replace(b"\r\n", b"\n")
    assert pending_entries(engine) == []

    send_entry(engine, result.entry.id, transport)  # already sent: nothing goes out
    assert len(received) == 1


def test_failed_send_is_recorded_and_retried_later(
    engine: sa.Engine,
    templates: Path,
    tmp_path: Path,
    smtp_server: tuple[str, int, list],
) -> None:
    host, port, received = smtp_server
    rendered = _render(templates)
    result = enqueue(
        engine, rendered, key="k:fail", to=[Recipient("a@example.com")],
        sender="ops@example.com", outbox_dir=tmp_path / "outbox", now=NOW,
    )  # fmt: skip
    import socket

    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(OSError):
        send_entry(engine, result.entry.id, SmtpTransport(SmtpConfig(host=host, port=closed_port)))
    failed = get_entry(engine, result.entry.id)
    assert failed.status == "failed" and failed.attempts == 1
    assert failed.last_error and "Connection" in failed.last_error
    assert failed.eml_path.exists()
    assert [e.id for e in pending_entries(engine)] == [result.entry.id]

    ok = send_entry(engine, result.entry.id, SmtpTransport(SmtpConfig(host=host, port=port)))
    assert ok.status == "sent" and ok.attempts == 2 and ok.last_error is None
    assert len(received) == 1


def test_smtp_config_never_shows_the_password() -> None:
    from pydantic import SecretStr

    settings = Settings(smtp_host="mail.example.com", smtp_password=SecretStr("hunter2"))
    config = SmtpConfig.from_settings(settings)
    assert config is not None
    assert "hunter2" not in repr(config) and "hunter2" not in str(config)
    assert "hunter2" not in str(settings.redacted())
    assert SmtpConfig.from_settings(Settings(smtp_host=None)) is None


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # loopback test server
def test_login_with_user_and_password(engine: sa.Engine, templates: Path, tmp_path: Path) -> None:
    """A real SMTP server that requires AUTH: the configured user and password log in."""
    import socket

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult
    from pydantic import SecretStr

    logins: list[tuple[bytes, bytes]] = []
    received: list[bytes] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope.original_content)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # PLAIN only: smtplib would otherwise retry the refused login with LOGIN, a mechanism that
    # this test server answers only when its own 5-minute timeout ends.
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_required=True, auth_require_tls=False,
                            auth_exclude_mechanism=["LOGIN"])  # fmt: skip
    controller.start()
    try:
        rendered = _render(templates)
        entry = enqueue(engine, rendered, key="k:auth", to=[Recipient("a@example.com")],
                        sender="ops@example.com", outbox_dir=tmp_path, now=NOW).entry  # fmt: skip
        wrong = SmtpConfig(host="127.0.0.1", port=port, user="ops", password=SecretStr("nope"),
                           timeout_s=10)  # fmt: skip
        with pytest.raises(smtplib.SMTPException):  # refused (535), then the server hangs up
            send_entry(engine, entry.id, SmtpTransport(wrong))
        assert get_entry(engine, entry.id).status == "failed"
        assert "nope" not in (get_entry(engine, entry.id).last_error or "")
        right = SmtpConfig(host="127.0.0.1", port=port, user="ops", password=SecretStr("s3cret"))
        assert send_entry(engine, entry.id, SmtpTransport(right)).status == "sent"
    finally:
        controller.stop()
    assert logins[0] == (b"ops", b"nope") and logins[-1] == (b"ops", b"s3cret")
    assert b"s3cret" not in [p for _, p in logins[:-1]]
    assert len(received) == 1


@pytest.mark.timeout(60)
def test_a_silent_server_fails_the_send_instead_of_hanging(
    engine: sa.Engine, templates: Path, tmp_path: Path
) -> None:
    """A server that accepts the connection and never answers: the send fails (and the entry
    stays sendable for Prefect's retry), it does not hang the flow."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        entry = enqueue(engine, _render(templates), key="k:silent", to=[Recipient("a@example.com")],
                        sender="ops@example.com", outbox_dir=tmp_path, now=NOW).entry  # fmt: skip
        with pytest.raises(OSError):
            send_entry(
                engine,
                entry.id,
                SmtpTransport(SmtpConfig(host="127.0.0.1", port=port, timeout_s=1)),
            )
    failed = get_entry(engine, entry.id)
    assert failed.status == "failed" and failed.attempts == 1
    assert [e.id for e in pending_entries(engine)] == [entry.id]
