"""The send-digests flow under Prefect: delivery over a real SMTP server, once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from activity_data import TZ, load_into, write_bundle

from groupops.db import make_engine, upgrade
from groupops.settings import get_settings
from tests.ports import free_port

AS_OF = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    engine = make_engine(url)
    load_into(engine, write_bundle(tmp_path / "bundle"))
    engine.dispose()
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", url)
    monkeypatch.setenv("GROUPOPS_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("GROUPOPS_MAIL_FROM", "groupops@example.com")
    monkeypatch.delenv("GROUPOPS_SMTP_HOST", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "outbox"
    get_settings.cache_clear()


@pytest.mark.flow
@pytest.mark.usefixtures("prefect")
def test_flow_sends_each_digest_once(
    configured: Path, monkeypatch: pytest.MonkeyPatch,
    smtp_server: tuple[str, int, list],
) -> None:  # fmt: skip
    from flows.send_digests import send_digests

    host, port, received = smtp_server
    monkeypatch.setenv("GROUPOPS_SMTP_HOST", host)
    monkeypatch.setenv("GROUPOPS_SMTP_PORT", str(port))
    get_settings.cache_clear()

    first = send_digests(period="week", as_of=AS_OF, send=True)
    assert first.period == "2026-W47" and first.smtp_configured
    assert [(r.outcome, r.sent) for r in first.rows] == [("queued", True)] * 5
    assert len(received) == 5
    assert {tuple(sorted(r)) for _, r, _ in received} == {
        ("u01@example.com",), ("u05@example.com",), ("u02@example.com",),
        ("u03@example.com", "u04@example.com"), ("u06@example.com",),
    }  # fmt: skip

    second = send_digests(period="week", as_of=AS_OF, send=True)
    assert [(r.outcome, r.sent) for r in second.rows] == [("already", False)] * 5
    assert len(received) == 5


@pytest.mark.flow
@pytest.mark.usefixtures("prefect")
def test_without_smtp_host_digests_stay_in_the_outbox(configured: Path) -> None:
    from flows.send_digests import send_digests

    run = send_digests(period="week", as_of=AS_OF, send=True, owner="u05")
    assert not run.smtp_configured
    assert [(r.outcome, r.sent) for r in run.rows] == [("queued", False), ("queued", False)]
    assert sorted(p.name.split("-", 1)[1] for p in configured.iterdir()) == [
        "digest_week_2026-W47_admin_wecom_prod.eml",
        "digest_week_2026-W47_owner_wecom_u05.eml",
    ]


@pytest.mark.flow
@pytest.mark.usefixtures("prefect")
def test_smtp_password_from_the_environment_or_a_secret_block() -> None:
    from prefect.blocks.system import Secret
    from pydantic import SecretStr

    from groupops.settings import Settings
    from tasks.mail import smtp_config, smtp_password

    Secret(value="from-block").save("groupops-smtp-test", overwrite=True)
    from_block = Settings(smtp_host="mail.example.com", smtp_password_block="groupops-smtp-test")
    assert smtp_password(from_block).get_secret_value() == "from-block"
    config = smtp_config(from_block)
    assert config is not None and "from-block" not in repr(config)
    env_first = Settings(
        smtp_password=SecretStr("from-env"), smtp_password_block="groupops-smtp-test"
    )
    assert smtp_password(env_first).get_secret_value() == "from-env"
    assert smtp_password(Settings()) is None


@pytest.mark.flow
@pytest.mark.usefixtures("prefect")
def test_a_digest_that_cannot_be_sent_fails_the_run_and_the_next_run_sends_it(
    configured: Path, monkeypatch: pytest.MonkeyPatch,
    smtp_server: tuple[str, int, list],
) -> None:  # fmt: skip
    """Nothing listens on the configured port: every attempt fails (retried, here without the
    backoff), the run ends Failed naming the digests, they stay in the outbox as failed, and
    never count as sent. The next run, with the server back, sends them."""
    import flows.send_digests as flow_module
    from flows.send_digests import send_digests
    from groupops.mail import DeliveryFailed, pending_entries
    from tasks.mail import deliver

    monkeypatch.setattr(flow_module, "deliver", deliver.with_options(retry_delay_seconds=0))
    host, port, received = smtp_server
    monkeypatch.setenv("GROUPOPS_SMTP_HOST", host)
    monkeypatch.setenv("GROUPOPS_SMTP_PORT", str(free_port()))
    get_settings.cache_clear()

    with pytest.raises(DeliveryFailed) as failed:
        send_digests(period="week", as_of=AS_OF, send=True, owner="u05")
    keys = ["digest:week:2026-W47:owner:wecom:u05", "digest:week:2026-W47:admin:wecom:prod"]
    assert sorted(failed.value.delivery.failed) == sorted(keys)
    assert failed.value.delivery.sent == []
    engine = make_engine(get_settings().database_url)
    stuck = pending_entries(engine, kind="digest")
    engine.dispose()
    assert sorted(e.key for e in stuck) == sorted(keys)
    assert {(e.status, e.attempts) for e in stuck} == {("failed", 1 + 4)}  # 4 retries

    monkeypatch.setenv("GROUPOPS_SMTP_PORT", str(port))
    get_settings.cache_clear()
    later = send_digests(period="week", as_of=AS_OF, send=True, owner="u05")
    assert [(r.outcome, r.sent) for r in later.rows] == [("already", True)] * 2
    assert len(received) == 2 and later.failed == []
