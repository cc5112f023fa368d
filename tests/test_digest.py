"""Digests: who gets which, the context's figures (against pandas on the bundle's rows),
rendering, idempotent queuing, and delivery to a real SMTP server."""

from __future__ import annotations

import email
import warnings
from datetime import datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from activity_data import TZ, load_into, messages, write_bundle

from groupops.activity.stats import load_stats
from groupops.digest import (
    build_digests,
    charts,
    digest_log,
    digest_period,
    prepare_digests,
    queue_digests,
)
from groupops.digest.context import DigestScope, build_digest
from groupops.mail import render_email
from groupops.policy import Policy
from groupops.roster import Directory
from tests.ports import free_port

AS_OF = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)  # Monday: the week 11-16..11-23 is complete
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def store(engine: sa.Engine, tmp_path: Path) -> sa.Engine:
    load_into(engine, write_bundle(tmp_path / "bundle"))
    return engine


def _week_counts(since: str, until: str) -> pd.Series:
    raw = pd.DataFrame(messages())
    local = pd.to_datetime(raw["sent_at"], utc=True).dt.tz_convert(TZ)
    mask = (local >= pd.Timestamp(since, tz=TZ)) & (local < pd.Timestamp(until, tz=TZ))
    return raw[mask].groupby(["group_id", "sender_id"]).size()


def test_one_owner_digest_per_owner_and_one_admin_digest_per_group(store: sa.Engine) -> None:
    digests = build_digests(store, Policy(), digest_period("week", AS_OF, Policy()))
    scopes = [(d.scope.audience, d.scope.subject_id, d.scope.groups, d.scope.recipient_ids)
              for d in digests]  # fmt: skip
    assert scopes == [
        ("owner", "u01", ("mkt", "proj"), ("u01",)),
        ("owner", "u05", ("prod",), ("u05",)),
        ("admin", "mkt", ("mkt",), ("u03", "u04")),
        ("admin", "prod", ("prod",), ("u06",)),
        ("admin", "proj", ("proj",), ("u02",)),
    ]
    assert digests[0].key == "digest:week:2026-W47:owner:wecom:u01"
    assert [r.address for r in digests[2].recipients] == ["u03@example.com", "u04@example.com"]
    assert digests[0].recipients[0].name == "王强"


def test_owner_digest_context_matches_the_data(store: sa.Engine) -> None:
    digests = build_digests(store, Policy(), digest_period("week", AS_OF, Policy()), owner="u01")
    assert [d.scope.audience for d in digests] == ["owner", "admin", "admin"]
    ctx = digests[0].context
    assert ctx["period"]["label"] == "2026-W47"
    assert (
        str(ctx["period"]["since"]) == "2026-11-16"
        and str(ctx["period"]["last_day"]) == "2026-11-22"
    )
    assert str(ctx["period"]["prev_since"]) == "2026-11-09"
    assert ctx["recipient_names"] == "王强"
    assert [s["id"] for s in ctx["sections"]] == ["activity"]
    activity = ctx["sections"][0]["data"]

    now = _week_counts("2026-11-16", "2026-11-23")
    before = _week_counts("2026-11-09", "2026-11-16")
    mine = ["mkt", "proj"]
    summary = {f["key"]: f for f in activity["summary"]}
    expected_now = int(now.loc[mine].sum())
    expected_before = int(before.loc[mine].sum())
    assert summary["messages"]["value"] == expected_now == ctx["messages_total"]
    assert summary["messages"]["change"]["delta"] == expected_now - expected_before
    active_now = now.loc[mine].index.get_level_values("sender_id").nunique()
    assert summary["active_members"]["value"] == active_now
    assert summary["new_members"]["value"] == 1 and summary["departed_members"]["value"] == 1

    groups = {g["group_id"]: g for g in activity["groups"]}
    assert list(groups) == sorted(mine, key=lambda g: -int(now.loc[g].sum()))
    for gid in mine:
        top = groups[gid]["top_members"]
        expected_top = now.loc[gid].sort_values(ascending=False)
        assert [p["messages"] for p in top] == list(expected_top.head(5))
        assert all(p["name"] != p["member_id"] for p in top)  # names from the directory
    assert [p["member_id"] for p in groups["proj"]["new_members"]] == ["u11"]
    assert [p["member_id"] for p in groups["mkt"]["departed_members"]] == ["u12"]
    inactive = {p["member_id"]: p for p in groups["proj"]["inactive_members"]}
    assert "u09" in inactive and inactive["u09"]["last_seen_at"] is None
    assert activity["charts"] == {"daily": "chart-daily", "heatmap": "chart-heatmap"}
    assert set(digests[0].images) == {"chart-daily", "chart-heatmap"}
    assert all(png.startswith(PNG_MAGIC) for png in digests[0].images.values())


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_digest_renders_in_both_languages(store: sa.Engine, language: str) -> None:
    policy = Policy(language=language)
    digest = build_digests(store, policy, digest_period("week", AS_OF, policy))[0]
    out = render_email("digest", digest.context, language=language, images=digest.images)
    if language == "zh-CN":
        assert (
            out.subject
            == f"2 个群周报：无待处理事项，{digest.context['messages_total']} 条消息（2026-W47）"
        )
        assert "最活跃成员" in out.html and "最活跃成员" in out.text
    else:
        assert (
            out.subject
            == f"2 groups, weekly digest: nothing to handle, {digest.context['messages_total']} messages (2026-W47)"
        )
        assert "Most active members" in out.html and "Most active members" in out.text
    assert 'src="cid:chart-daily"' in out.html and 'src="cid:chart-heatmap"' in out.html
    assert "<" not in out.text and "cid:" not in out.text
    assert "项目运营群" in out.text and "市场运营群" in out.text


def test_names_are_escaped_in_html_only(store: sa.Engine) -> None:
    policy = Policy()
    period = digest_period("week", AS_OF, policy)
    stats = load_stats(store, period, policy)
    stats.groups.loc[stats.groups["group_id"] == "prod", "name"] = "<b>产品</b> & 运营"
    scope = DigestScope("admin", "wecom", "prod", ("u06",), ("prod",), period)
    digest = build_digest(scope, stats, Directory.load(store), policy)
    out = render_email("digest", digest.context, language="zh-CN", images=digest.images)
    assert "<b>产品</b>" not in out.html
    assert "&lt;b&gt;产品&lt;/b&gt; &amp; 运营" in out.html
    assert "<b>产品</b> & 运营" in out.text and "<b>产品</b> & 运营" in out.subject


def _outbox_rows(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("select count(*) from outbox")).scalar_one())


def test_queuing_is_idempotent_and_force_requeues(store: sa.Engine, tmp_path: Path) -> None:
    args = {"kind": "week", "as_of": AS_OF, "outbox_dir": tmp_path / "outbox",
            "sender": "ops@example.com"}  # fmt: skip
    first = prepare_digests(store, Policy(), **args)
    assert [o.outcome for o in first] == ["queued"] * 5
    assert all(o.eml_path and o.eml_path.exists() for o in first)
    second = prepare_digests(store, Policy(), **args)
    assert [o.outcome for o in second] == ["already"] * 5
    assert [o.outbox_id for o in second] == [o.outbox_id for o in first]
    assert _outbox_rows(store) == 5 and len(list((tmp_path / "outbox").iterdir())) == 5
    forced = prepare_digests(store, Policy(), owner="u05", force=True, **args)
    assert [(o.key, o.outcome) for o in forced] == [
        ("digest:week:2026-W47:owner:wecom:u05", "queued"),
        ("digest:week:2026-W47:admin:wecom:prod", "queued"),
    ]
    assert _outbox_rows(store) == 5 and len(list((tmp_path / "outbox").iterdir())) == 7


def test_a_week_without_data_is_held_not_queued(store: sa.Engine, tmp_path: Path) -> None:
    quiet = datetime(2027, 1, 11, 9, 0, tzinfo=TZ)  # week of 2027-01-04: no data ingested at all
    # Activity only: the overdue section (tested in test_digest_overdue.py) would have its say.
    outcomes = prepare_digests(store, Policy(), kind="week", as_of=quiet, providers=(),
                               outbox_dir=tmp_path / "outbox", sender="ops@example.com")  # fmt: skip
    # Not "empty" (a quiet week): there is no data to say it was quiet (tests/test_coverage.py).
    assert {o.outcome for o in outcomes} == {"held"}
    assert all(
        o.reason and o.reason.startswith("no data ingested for 2027-01-04") for o in outcomes
    )
    assert _outbox_rows(store) == 0
    assert not (tmp_path / "outbox").exists()
    # The reason is kept with the decision (digest_log.reason), for every held digest.
    log = {r["key"]: (r["outcome"], r["reason"]) for r in digest_log(store)}
    assert log == {o.key: ("held", o.reason) for o in outcomes}


def test_monthly_digest_covers_the_previous_month(store: sa.Engine, tmp_path: Path) -> None:
    policy = Policy()
    period = digest_period("month", datetime(2026, 12, 1, 9, tzinfo=TZ), policy)
    digest = build_digests(store, policy, period, owner="u05")[0]
    assert digest.key == "digest:month:2026-11:owner:wecom:u05"
    raw = pd.DataFrame(messages())
    local = pd.to_datetime(raw["sent_at"], utc=True).dt.tz_convert(TZ)
    expected = int(((raw["group_id"] == "prod") & (local.dt.month == 11)).sum())
    assert digest.context["messages_total"] == expected
    out = render_email("digest", digest.context, language="zh-CN", images=digest.images)
    assert "月报：" in out.subject and out.subject.endswith("（2026-11）")


def test_a_digest_without_email_address_is_not_queued(store: sa.Engine, tmp_path: Path) -> None:
    policy = Policy()
    period = digest_period("week", AS_OF, policy)
    stats = load_stats(store, period, policy)
    scope = DigestScope("admin", "wecom", "proj", ("u09",), ("proj",), period)  # u09: no email
    digest = build_digest(scope, stats, Directory.load(store), policy)
    assert digest.has_content and digest.recipients == []
    outcome = queue_digests(store, [digest], outbox_dir=tmp_path, sender="ops@example.com")[0]
    assert outcome.outcome == "no_recipients" and _outbox_rows(store) == 0


def test_charts_render_without_a_cjk_font(monkeypatch: pytest.MonkeyPatch) -> None:
    days = pd.date_range("2026-11-16", periods=7, freq="D")
    series = {"项目运营群": pd.Series([3, 0, 2, 5, 1, 0, 4], index=days)}
    heat = pd.DataFrame(0, index=range(7), columns=range(24))
    heat.loc[0, 9] = 4
    monkeypatch.setattr(charts, "cjk_font", lambda: None)
    assert charts.chart_language("zh-CN") == "en"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph would warn
        assert charts.daily_chart(series, "zh-CN", fallback_labels=["proj"]).startswith(PNG_MAGIC)
        assert charts.heatmap_chart(heat, "zh-CN").startswith(PNG_MAGIC)


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_charts_draw_every_glyph(language: str) -> None:
    # The CJK font comes with the Python dependencies: a chart never falls back.
    assert charts.cjk_font() == "Noto Sans CJK SC"
    assert charts.chart_language("zh-CN") == "zh-CN"
    days = pd.date_range("2026-11-16", periods=7, freq="D")
    series = {"项目运营群": pd.Series([3, 0, 2, 5, 1, 0, 4], index=days),
              "市场运营群": pd.Series([1, 1, 1, 1, 1, 1, 1], index=days)}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        charts.daily_chart(series, language)
        charts.heatmap_chart(pd.DataFrame(1, index=range(7), columns=range(24)), language)


def _parts(raw: bytes) -> tuple[EmailMessage, list[str]]:
    msg = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    return msg, [p.get_content_type() for p in msg.walk()]


def test_cli_sends_each_digest_once_over_smtp(
    store: sa.Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    smtp_server: tuple[str, int, list],
) -> None:  # fmt: skip
    from typer.testing import CliRunner

    from cli import app
    from groupops.settings import get_settings

    host, port, received = smtp_server
    for key, value in {"DATABASE_URL": db_url, "OUTBOX_DIR": str(tmp_path / "outbox"),
                       "SMTP_HOST": host, "SMTP_PORT": str(port),
                       "MAIL_FROM": "groupops@example.com"}.items():  # fmt: skip
        monkeypatch.setenv(f"GROUPOPS_{key}", value)
    get_settings.cache_clear()
    try:
        args = ["digest", "--period", "week", "--as-of", "2026-11-23T09:00", "--send", "--local"]
        first = CliRunner().invoke(app, args)
        assert first.exit_code == 0, first.output
        assert len(received) == 5
        by_rcpt = {tuple(sorted(rcpts)): raw for _, rcpts, raw in received}
        assert set(by_rcpt) == {("u01@example.com",), ("u05@example.com",),
                                ("u03@example.com", "u04@example.com"), ("u06@example.com",),
                                ("u02@example.com",)}  # fmt: skip
        msg, structure = _parts(by_rcpt[("u01@example.com",)])
        assert structure == ["multipart/alternative", "text/plain", "multipart/related",
                             "text/html", "image/png", "image/png"]  # fmt: skip
        assert msg["Subject"].startswith("2 个群周报：") and "（2026-W47）" in msg["Subject"]
        assert msg["To"].addresses[0].addr_spec == "u01@example.com"
        assert msg["From"].addresses[0].addr_spec == "groupops@example.com"
        images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
        assert sorted(p["Content-ID"] for p in images) == ["<chart-daily>", "<chart-heatmap>"]
        html = next(p for p in msg.walk() if p.get_content_type() == "text/html").get_content()
        assert "cid:chart-daily" in html
        text = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_content()
        assert "<" not in text and "最活跃成员" in text

        second = CliRunner().invoke(app, args)
        assert second.exit_code == 0, second.output
        assert len(received) == 5  # nothing new
        assert "already" in second.output
    finally:
        get_settings.cache_clear()


def test_cli_local_follows_the_same_delivery_rule(
    store: sa.Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    smtp_server: tuple[str, int, list],
) -> None:  # fmt: skip
    """``digest --local --send`` uses groupops.mail.deliver too: nothing listening → exit 1,
    the digests named as not sent and kept in the outbox; the next run sends them."""
    from typer.testing import CliRunner

    from cli import app
    from groupops.mail import pending_entries
    from groupops.settings import get_settings

    host, port, received = smtp_server
    for key, value in {"DATABASE_URL": db_url, "OUTBOX_DIR": str(tmp_path / "outbox"),
                       "SMTP_HOST": host, "SMTP_PORT": str(free_port()),
                       "MAIL_FROM": "groupops@example.com"}.items():  # fmt: skip
        monkeypatch.setenv(f"GROUPOPS_{key}", value)
    get_settings.cache_clear()
    args = ["digest", "--period", "week", "--as-of", "2026-11-23T09:00", "--owner", "u05",
            "--send", "--local"]  # fmt: skip
    try:
        failed = CliRunner().invoke(app, args)
        assert failed.exit_code == 1, failed.output
        assert "not sent (kept in the outbox" in failed.output
        assert "digest:week:2026-W47:owner:wecom:u05" in failed.output
        assert {e.status for e in pending_entries(store, kind="digest")} == {"failed"}
        assert received == []

        monkeypatch.setenv("GROUPOPS_SMTP_PORT", str(port))
        get_settings.cache_clear()
        later = CliRunner().invoke(app, args)
        assert later.exit_code == 0, later.output
        assert len(received) == 2 and pending_entries(store, kind="digest") == []
    finally:
        get_settings.cache_clear()


# Reply times in the digest are working time, told by the one formatter
# (groupops.clock.lateness.format_duration): the headline, the health line, the member table,
# in the text, the HTML and the group-bot card alike.
@pytest.mark.parametrize(
    ("minutes", "language", "words"),
    [
        (37.0, "zh-CN", "37 分钟"),
        (300.0, "zh-CN", "5 工作小时"),
        (450.0, "en", "1 working day"),
        (5790.0, "zh-CN", "12.9 个工作日"),  # 96.5 working hours: not "4 天"
        (5790.0, "en", "12.9 working days"),
    ],
)
def test_reply_times_in_working_hours_and_days(
    store: sa.Engine, minutes: float, language: str, words: str
) -> None:
    from groupops.mail import render_card

    def every_reply_takes(start: pd.Series, end: pd.Series) -> pd.Series:
        return pd.Series(minutes, index=start.index, dtype="float64")

    policy = Policy(language=language)
    digest = build_digests(store, policy, digest_period("week", AS_OF, policy),
                           owner="u05", duration=every_reply_takes)[0]  # fmt: skip
    summary = digest.context["sections"][0]["data"]["summary"]
    assert (
        next(f for f in summary if f["key"] == "reply_median")["value"] == minutes
    )  # JSON: minutes
    out = render_email("digest", digest.context, language=language, images=digest.images)
    card = render_card("digest", digest.context, language=language)
    reply_label = "回复时间中位数" if language == "zh-CN" else "Median reply"
    for text in (out.text, card.body):
        line = next(x for x in text.splitlines() if x.lstrip("- ").startswith(reply_label))
        assert words in line, line
    assert words in out.html
    # The headline and every member who answered a mention (the member table) say the same.
    assert sum(words in x for x in out.text.splitlines()) >= 2
