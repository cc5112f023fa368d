"""`groupops doctor` passes on a healthy setup and names the broken part on each of: the store
down, SMTP authentication wrong (a real aiosmtpd server with AUTH), the CJK font missing, a
source unreachable, and a source silent beyond its threshold (the stale-data alarm)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from groupops.db import make_engine
from groupops.ingest import open_bundle, run_ingest
from groupops.ops.doctor import diagnose
from groupops.ops.health import FlowRuns, Report, check_flow
from groupops.policy import Policy
from groupops.settings import Settings, get_settings
from tests.bundles import message, write_bundle
from tests.fake_slack import FakeSlack
from tests.ports import free_port

USER, PASSWORD = "ops@example.com", "correct horse"
# Monday 2026-11-16 is a working day; the bundle's messages are on 2026-11-02 (a Monday).
LAST_MESSAGE = datetime(2026, 11, 2, 1, 59, tzinfo=UTC)


def _font() -> str:
    return "Noto Sans CJK SC"


@pytest.fixture
def auth_smtp() -> Iterator[int]:
    """A real SMTP server requiring AUTH LOGIN/PLAIN (without TLS, on loopback)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticator(
        server: object, session: object, envelope: object, mechanism: str, auth_data: object
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == USER
            and auth_data.password.decode() == PASSWORD
        )
        return AuthResult(success=ok, handled=False)  # unhandled: the server answers 535

    class Sink:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            return "250 OK"

    port = free_port()
    controller = Controller(
        Sink(),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def _store(tmp_path: Path, db_url: str) -> None:
    bundle = write_bundle(
        tmp_path / "bundle",
        messages=[message(n, group="proj" if n % 2 else "mkt") for n in range(1, 60)],
    )
    engine = make_engine(db_url)
    try:
        run_ingest(open_bundle(bundle), engine, Policy(), now=datetime(2026, 11, 3, tzinfo=UTC))
    finally:
        engine.dispose()


def _settings(db_url: str, tmp_path: Path, **extra: object) -> Settings:
    return Settings(
        database_url=db_url,
        sources_path=tmp_path / "no-sources.toml",
        outbox_dir=tmp_path / "outbox",
        **extra,
    )


def _broken(report: Report) -> list[str]:
    return [c.name for c in report.checks if c.status == "error"]


def test_healthy_setup_passes(db_url: str, tmp_path: Path, auth_smtp: int) -> None:
    _store(tmp_path, db_url)
    settings = _settings(
        db_url,
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=auth_smtp,
        smtp_user=USER,
        smtp_password=PASSWORD,
    )
    # The data's last message was on Monday 2026-11-02 10:00 (+08:00): at 11:00 it is fresh.
    report = diagnose(settings, as_of=datetime(2026, 11, 2, 3, 0, tzinfo=UTC), font=_font)
    assert report.ok, report.as_dict()
    statuses = {c.name: c.status for c in report.checks}
    assert statuses["store"] == statuses["schema"] == statuses["policy"] == "ok"
    assert statuses["smtp"] == statuses["font"] == statuses["runs"] == "ok"
    assert PASSWORD not in json.dumps(report.as_dict())


def test_store_down_is_named(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://groupops:secret-pw@127.0.0.1:{free_port()}/groupops"
    report = diagnose(_settings(url, tmp_path), font=_font)
    assert not report.ok and _broken(report) == ["store"]
    (store,) = [c for c in report.checks if c.name == "store"]
    assert "unreachable" in store.detail and "secret-pw" not in store.detail


def test_store_behind_is_named(empty_db_url: str, tmp_path: Path) -> None:
    report = diagnose(_settings(empty_db_url, tmp_path), font=_font)
    assert _broken(report) == ["schema"]
    assert "groupops db upgrade" in report.broken[0].detail


def test_smtp_auth_wrong_is_named(db_url: str, tmp_path: Path, auth_smtp: int) -> None:
    _store(tmp_path, db_url)
    settings = _settings(
        db_url,
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=auth_smtp,
        smtp_user=USER,
        smtp_password="wrong password",
    )
    report = diagnose(settings, as_of=datetime(2026, 11, 2, 3, 0, tzinfo=UTC), font=_font)
    assert _broken(report) == ["smtp"]
    assert "authentication failed" in report.broken[0].detail
    assert "wrong password" not in json.dumps(report.as_dict())


def test_smtp_unreachable_is_named(db_url: str, tmp_path: Path) -> None:
    settings = _settings(db_url, tmp_path, smtp_host="127.0.0.1", smtp_port=free_port())
    report = diagnose(settings, font=_font)
    assert "smtp" in _broken(report)


def test_font_missing_is_named(db_url: str, tmp_path: Path) -> None:
    _store(tmp_path, db_url)
    report = diagnose(
        _settings(db_url, tmp_path), as_of=datetime(2026, 11, 2, 3, tzinfo=UTC), font=lambda: None
    )
    assert _broken(report) == ["font"]
    assert "fonts-noto-cjk" in report.broken[0].detail


def test_a_source_silent_beyond_its_threshold_is_named(db_url: str, tmp_path: Path) -> None:
    """The groups' last messages are on Monday 2026-11-02 at 09:58 (mkt) and 09:59 (proj),
    +08:00. Silence counts in working hours (9:00-12:00, 13:30-18:00): by Tuesday's close it
    is 14 h, under the policy's 16; on Wednesday at 15:00 it is 18.5 h."""
    _store(tmp_path, db_url)
    settings = _settings(db_url, tmp_path)
    tuesday_close = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)  # 18:00 +08:00
    assert diagnose(settings, as_of=tuesday_close, font=_font).ok
    wednesday = datetime(2026, 11, 4, 7, 0, tzinfo=UTC)  # 15:00 +08:00
    report = diagnose(settings, as_of=wednesday, font=_font)
    assert _broken(report) == ["stale:wecom/mkt", "stale:wecom/proj"]
    stale = report.broken[1].as_dict()
    assert stale["groups"] == ["proj"] and stale["threshold_working_hours"] == 16
    assert stale["silent_working_hours"] == 18.52  # 2 h 01 + 4 h 30 + 7 h 30 + 4 h 30
    assert stale["newest_at"] == "2026-11-02T01:59:00+00:00"


def test_sources_reachable_or_named(
    db_url: str, tmp_path: Path, slack_server: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An enabled live source is probed (its groups' info): the fake Slack answers, a source
    whose server is down is named, and a source with no message ever stored is stale."""
    slack_server.channels["C1"] = {"name": "marketing", "creator": "U1"}
    slack_server.members["C1"] = ["U1"]
    dead = free_port()
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f"""
[[sources]]
name = "slack-up"
kind = "slack"
base_url = "{slack_server.base_url}"
groups = ["C1"]
token = {{ env = "TEST_SLACK_TOKEN" }}

[[sources]]
name = "slack-down"
kind = "slack"
base_url = "http://127.0.0.1:{dead}/api/"
groups = ["C2"]
token = {{ env = "TEST_SLACK_TOKEN" }}
timeout_s = 2
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("TEST_SLACK_TOKEN", "xoxb-test-token")
    settings = Settings(database_url=db_url, sources_path=sources)
    report = diagnose(settings, font=_font)
    statuses = {c.name: c.status for c in report.checks}
    assert statuses["source:slack-up"] == "ok"
    assert statuses["source:slack-down"] == "error"
    assert statuses["stale:slack-up"] == statuses["stale:slack-down"] == "error"


def test_a_deployment_that_missed_a_scheduled_slot_is_late() -> None:
    now = datetime(2026, 11, 30, 10, 5, tzinfo=UTC)
    slots = [datetime(2026, 11, 30, 9, 30, tzinfo=UTC), datetime(2026, 11, 30, 10, 0, tzinfo=UTC)]
    fresh = check_flow(FlowRuns("watch-deadlines", slots[0], slots), now)
    assert fresh.status == "ok"
    late = check_flow(
        FlowRuns("watch-deadlines", datetime(2026, 11, 30, 8, tzinfo=UTC), slots), now
    )
    assert late.status == "error" and "missed" in late.detail
    never = check_flow(FlowRuns("watch-deadlines", None, slots), now)
    assert never.status == "error"


@pytest.mark.parametrize(
    ("created_at", "last_success_at", "status"),
    [
        # Registered before both slots and never run: it did miss them.
        ("09:00", None, "error"),
        # Registered between the slots: one slot owed, the one in progress may still run.
        ("09:45", None, "warning"),
        # Registered after both (a fresh `make deploy`): nothing was owed yet.
        ("10:02", None, "skipped"),
        # A success before the deployment's registration counts as usual.
        ("10:02", "09:31", "ok"),
    ],
)
def test_slots_before_the_deployment_existed_are_not_owed(
    created_at: str, last_success_at: str | None, status: str
) -> None:
    def at(hhmm: str) -> datetime:
        hour, minute = map(int, hhmm.split(":"))
        return datetime(2026, 11, 30, hour, minute, tzinfo=UTC)

    now = at("10:05")
    slots = [at("09:30"), at("10:00")]
    last = at(last_success_at) if last_success_at else None
    check = check_flow(FlowRuns("watch-deadlines", last, slots, created=at(created_at)), now)
    assert check.status == status, check.detail


def test_cli_exit_code_names_the_broken_part(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store(tmp_path, db_url)
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", db_url)
    monkeypatch.setenv("GROUPOPS_SOURCES_PATH", str(tmp_path / "none.toml"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setattr("groupops.digest.charts.cjk_font", _font)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        ok = runner.invoke(app, ["doctor", "--json", "--as-of", "2026-11-02T11:00"])
        assert ok.exit_code == 0, ok.output
        assert json.loads(ok.stdout)["ok"] is True
        stale = runner.invoke(app, ["doctor", "--as-of", "2026-11-12T11:00"])
        assert stale.exit_code == 1
        assert "broken: stale:wecom/mkt, stale:wecom/proj" in stale.stdout
        monkeypatch.setattr("groupops.digest.charts.cjk_font", lambda: None)
        no_font = runner.invoke(app, ["doctor", "--json", "--as-of", "2026-11-02T11:00"])
        assert no_font.exit_code == 1
        assert json.loads(no_font.stdout)["broken"] == ["font"]
    finally:
        get_settings.cache_clear()


def test_prefect_server_down_is_named(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With PREFECT_API_URL set the doctor reads each deployment's last run; a server that does
    not answer is the broken part `prefect`, not a traceback."""
    _store(tmp_path, db_url)
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", db_url)
    monkeypatch.setenv("GROUPOPS_SOURCES_PATH", str(tmp_path / "none.toml"))
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "0")
    monkeypatch.setattr("groupops.digest.charts.cjk_font", _font)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["doctor", "--json", "--as-of", "2026-11-02T11:00"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["broken"] == ["prefect"]
