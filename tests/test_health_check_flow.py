"""The health-check flow emails ops once per silent source (a real SMTP server) and fails
while any source is stale; a source with fresh data raises nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from groupops.db import make_engine
from groupops.ingest import open_bundle, run_ingest
from groupops.policy import Policy
from groupops.settings import get_settings
from tests.bundles import message, write_bundle

pytestmark = [pytest.mark.flow, pytest.mark.usefixtures("prefect")]


@pytest.fixture
def configured(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    bundle = write_bundle(
        tmp_path / "bundle",
        messages=[message(n, group="proj" if n % 2 else "mkt") for n in range(1, 60)],
    )
    engine = make_engine(db_url)
    run_ingest(open_bundle(bundle), engine, Policy(), now=datetime(2026, 11, 3, tzinfo=UTC))
    engine.dispose()
    policy = tmp_path / "policy.toml"
    text = Path("data/policy.toml").read_text(encoding="utf-8")
    policy.write_text(
        text.replace("alert_emails = []", 'alert_emails = ["ops@example.com"]'), encoding="utf-8"
    )
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", db_url)
    monkeypatch.setenv("GROUPOPS_POLICY_PATH", str(policy))
    monkeypatch.setenv("GROUPOPS_SOURCES_PATH", str(tmp_path / "none.toml"))
    monkeypatch.setenv("GROUPOPS_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("GROUPOPS_MAIL_FROM", "groupops@example.com")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_stale_sources_alarm_ops_once(
    configured: Path, monkeypatch: pytest.MonkeyPatch, smtp_server: tuple[str, int, list]
) -> None:
    from flows.health_check import StaleData, health_check

    host, port, received = smtp_server
    monkeypatch.setenv("GROUPOPS_SMTP_HOST", host)
    monkeypatch.setenv("GROUPOPS_SMTP_PORT", str(port))
    get_settings.cache_clear()

    fresh = health_check(as_of=datetime(2026, 11, 3, 10, 0, tzinfo=UTC))  # Tuesday 18:00
    assert fresh.stale == [] and received == []

    wednesday = datetime(2026, 11, 4, 7, 0, tzinfo=UTC)  # 18.5 working hours of silence
    with pytest.raises(StaleData, match=r"wecom/mkt.*wecom/proj"):
        health_check(as_of=wednesday)
    assert len(received) == 2
    assert {tuple(rcpt) for _sender, rcpt, _raw in received} == {("ops@example.com",)}
    raw = b"\n".join(body for _s, _r, body in received).decode("utf-8", "replace")
    assert "wecom/proj" in raw and "wecom/mkt" in raw

    with pytest.raises(StaleData):  # still silent an hour later: no second email
        health_check(as_of=datetime(2026, 11, 4, 8, 0, tzinfo=UTC))
    assert len(received) == 2
