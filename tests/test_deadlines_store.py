"""Deadline watching against the store: reminders recorded and emailed once per step,
violations recorded idempotently, the watch-deadlines flow and the read-only CLI."""

from __future__ import annotations

import email
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from email.policy import default as default_policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli import app
from groupops.db import make_engine, session_scope
from groupops.db.models import Group, Member, Message
from groupops.deadlines.reminders import (
    load_obligations,
    load_reminders,
    outbox_key,
    send_reminders,
)
from groupops.mail import pending_entries
from groupops.moderation import load_violations, record_violations
from groupops.policy import Policy
from groupops.settings import get_settings

TZ = ZoneInfo("Asia/Shanghai")
POLICY = Policy()
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def at(d: int, h: int, mi: int = 0) -> datetime:
    return datetime(2026, 11, d, h, mi, tzinfo=TZ)


def seed(engine: sa.Engine, *, asks: int = 1) -> None:
    """Group g1 (owner boss, admin adm); alice @mentions bob ``asks`` times, a day apart."""
    with session_scope(engine) as s:
        s.add(
            Group(
                platform="wecom",
                group_id="g1",
                name="项目运营群",
                owner_id="boss",
                admin_ids=["adm"],
                content_hash=0,
                updated_at=NOW,
            )
        )
        # bob's real name differs from his display name: people are shown by the real name.
        for mid, name, real, mail in [
            ("alice", "爱丽丝", None, "alice@example.com"),
            ("bob", "鲍勃", "鲍博文", "bob@example.com"),
            ("adm", "管理员", None, "adm@example.com"),
            ("boss", "老板", None, "boss@example.com"),
        ]:
            s.add(
                Member(
                    platform="wecom",
                    member_id=mid,
                    display_name=name,
                    real_name=real,
                    email=mail,
                    content_hash=0,
                    updated_at=NOW,
                )
            )
        s.flush()
        for i in range(asks):
            s.add(
                Message(
                    platform="wecom",
                    group_id="g1",
                    message_id=f"m{i + 1}",
                    sender_id="alice",
                    sent_at=at(24 + i, 10),
                    kind="text",
                    text=f"@鲍勃 报价单发我一下（{i + 1}）",
                    mentions=["bob"],
                    content_hash=0,
                    updated_at=NOW,
                )
            )


def run(engine: sa.Engine, as_of: datetime, outbox: Path, dry_run: bool = False) -> list[object]:
    ob = load_obligations(engine, POLICY, as_of)
    return list(
        send_reminders(
            engine,
            ob,
            POLICY,
            sender="groupops@example.com",
            outbox_dir=outbox,
            now=as_of,
            dry_run=dry_run,
        )
    )


def test_each_escalation_step_goes_out_once(engine: sa.Engine, tmp_path: Path) -> None:
    seed(engine)
    outbox = tmp_path / "outbox"
    assert run(engine, at(24, 14), outbox) == []  # before the 75 % mark (14:30)

    first = run(engine, at(24, 14, 45), outbox)
    assert [(r.step, r.recipients, r.channel) for r in first] == [(0, ["bob"], "email")]
    assert run(engine, at(24, 15), outbox) == []  # the same step never twice

    second = run(engine, at(24, 16), outbox)
    assert [(r.step, r.recipients) for r in second] == [(1, ["adm"])]
    third = run(engine, at(25, 16), outbox)  # 8 working hours overdue: the owner's digest
    assert [(r.step, r.recipients, r.channel, r.outbox_key) for r in third] == [
        (2, ["boss"], "digest", None)
    ]
    assert run(engine, at(26, 16), outbox) == []

    recorded = load_reminders(engine)
    assert list(recorded["step"]) == [0, 1, 2]
    assert list(recorded["channel"]) == ["email", "email", "digest"]
    entries = pending_entries(engine, kind="deadline_reminder")
    assert [e.key for e in entries] == [
        outbox_key("reply:wecom:g1:m1:bob", 0),
        outbox_key("reply:wecom:g1:m1:bob", 1),
    ]
    assert [e.recipients for e in entries] == [["bob@example.com"], ["adm@example.com"]]
    msg = email.message_from_bytes(entries[1].eml_path.read_bytes(), policy=default_policy)
    assert msg["Subject"] == "【逾期】鲍博文未按时回复消息（项目运营群）"
    body = msg.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "11月24日 15:30" in text and "0.5 工作小时" in text and "报价单发我一下" in text


def test_a_first_run_past_the_owner_step_tells_admins_and_owner(
    engine: sa.Engine, tmp_path: Path
) -> None:
    seed(engine)
    sent = run(engine, at(26, 16), tmp_path / "outbox")
    assert [(r.step, r.recipients, r.channel) for r in sent] == [
        (1, ["adm"], "email"),
        (2, ["boss"], "digest"),
    ]
    assert run(engine, at(26, 17), tmp_path / "outbox") == []


def test_dry_run_writes_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    seed(engine)
    would = run(engine, at(24, 16), tmp_path / "outbox", dry_run=True)
    assert [(r.step, r.recipients) for r in would] == [(1, ["adm"])]
    assert load_reminders(engine).empty
    assert pending_entries(engine) == []
    assert not (tmp_path / "outbox").exists()


def test_violations_are_recorded_once_into_the_moderation_record(engine: sa.Engine) -> None:
    seed(engine, asks=3)
    ob = load_obligations(engine, POLICY, at(30, 10))
    assert record_violations(engine, ob.violations, NOW) == 1
    assert record_violations(engine, ob.violations, NOW) == 0
    (stored,) = load_violations(engine)
    assert (stored.member_id, stored.category, stored.evidence_key, stored.source) == (
        "bob",
        "non_response",
        "period:2026-11",
        "detected",
    )
    assert stored.message_ids == ("m1", "m2", "m3")
    assert stored.penalty is None and stored.decided_at is None  # the moderation run decides


def test_long_ids_give_a_short_outbox_key() -> None:
    key = outbox_key("reply:matrix:" + "!room" * 60 + ":m1:@someone:example.org", 1)
    assert len(key) <= 191 and key.startswith("deadline:reply:step1:")


# -- the CLI (read-only) ------------------------------------------------------------------------


@pytest.fixture
def store(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", db_url)
    monkeypatch.setenv("GROUPOPS_OUTBOX_DIR", str(tmp_path / "outbox"))
    get_settings.cache_clear()
    engine = make_engine(db_url)
    seed(engine)
    engine.dispose()
    yield db_url
    get_settings.cache_clear()


@pytest.mark.usefixtures("store")
def test_cli_overdue_json_and_table() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["overdue", "--as-of", "2026-11-24T16:00", "--json"])
    assert result.exit_code == 0, result.output
    items = json.loads(result.output)
    assert items == [
        {
            "kind": "reply",
            "platform": "wecom",
            "group_id": "g1",
            "message_id": "m1",
            "assignee_id": "bob",
            "requester_id": "alice",
            "requested_at": "2026-11-24T10:00:00+08:00",
            "due_at": "2026-11-24T15:30:00+08:00",
            "overdue_working_minutes": 30.0,
            "escalation": 1,
            "assignee_name": "鲍博文",
            "requester_name": "爱丽丝",
            # An item's own words when it is not a message (a minutes action item).
            "text": None,
            # A reply's deadline is the one asked; only a task can carry a commitment.
            "asked_due_at": "2026-11-24T15:30:00+08:00",
            "committed_due_at": None,
            "deadline_words": None,
            # The one lateness formatter (groupops.clock.lateness): minutes kept above.
            "late": "0.5 working hours",
        }
    ]
    assert (
        json.loads(runner.invoke(app, ["overdue", "--as-of", "2026-11-24T15:00", "--json"]).output)
        == []
    )
    other = runner.invoke(
        app, ["overdue", "--as-of", "2026-11-24T16:00", "--group", "g2", "--json"]
    )
    assert json.loads(other.output) == []
    table = runner.invoke(app, ["overdue", "--as-of", "2026-11-24T16:00"])
    assert table.exit_code == 0 and "admins" in table.output and "0.5 working hours" in table.output
    assert "鲍博文" in table.output and "爱丽丝" in table.output


@pytest.mark.usefixtures("store")
def test_cli_tasks_json() -> None:
    result = CliRunner().invoke(app, ["tasks", "--as-of", "2026-11-24T16:00", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []


def test_deadline_commands_do_not_import_prefect(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from cli import app\n"
        "for args in (['overdue', '--as-of', '2026-11-24T16:00'], ['tasks', '--json']):\n"
        "    r = CliRunner().invoke(app, args)\n"
        "    assert r.exit_code == 0, (args, r.output)\n"
        "assert 'prefect' not in sys.modules, 'a read-only command imported prefect'\n"
    )
    env = {"GROUPOPS_DATABASE_URL": f"sqlite:///{tmp_path / 'ro.db'}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


# -- the flow ---------------------------------------------------------------------------------


@pytest.mark.flow
@pytest.mark.usefixtures("prefect", "store")
def test_watch_deadlines_flow(
    smtp_server: tuple[str, int, list[tuple[str, list[str], bytes]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.watch_deadlines import watch_deadlines

    host, port, received = smtp_server
    monkeypatch.setenv("GROUPOPS_SMTP_HOST", host)
    monkeypatch.setenv("GROUPOPS_SMTP_PORT", str(port))
    get_settings.cache_clear()

    dry = watch_deadlines(as_of=at(24, 16), dry_run=True)
    assert (dry.overdue, dry.reminders, dry.emails, dry.dry_run) == (1, 1, 0, True)
    assert received == []
    first = watch_deadlines(as_of=at(24, 16))
    assert (first.overdue, first.reminders, first.emails, first.emails_sent) == (1, 1, 1, 1)
    assert [rcpt for _, rcpt, _ in received] == [["adm@example.com"]]
    again = watch_deadlines(as_of=at(24, 16, 30))
    assert (again.overdue, again.reminders, again.emails, again.emails_sent) == (1, 0, 0, 0)
    assert len(received) == 1
    weekend = watch_deadlines(as_of=at(28, 10), only_in_working_time=True)  # Saturday
    assert weekend.skipped == "outside working time"
    lunch = watch_deadlines(as_of=at(25, 12, 30), only_in_working_time=True)
    assert lunch.skipped == "outside working time"
    makeup_saturday = watch_deadlines(
        as_of=datetime(2026, 10, 10, 10, tzinfo=TZ), dry_run=True, only_in_working_time=True
    )
    assert makeup_saturday.skipped is None  # 调休: Sat 10/10 is a working day
    explicit = watch_deadlines(as_of=at(28, 10), dry_run=True)  # an explicit as_of is judged
    assert (explicit.skipped, explicit.overdue) == (None, 1)


@pytest.mark.flow
@pytest.mark.usefixtures("prefect", "store")
def test_a_reminder_the_server_refuses_fails_the_run_and_the_next_run_sends_it(
    smtp_server: tuple[str, int, list[tuple[str, list[str], bytes]]],
    refusing_smtp_server: tuple[str, int, list[tuple[str, list[str], bytes]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server refuses the admins' reminder (550): the run ends Failed naming it, the email
    stays in the outbox as failed and is not reported sent; the next run (the step itself is
    not due again) sends it once the server accepts."""
    import flows.watch_deadlines as flow_module
    from flows.watch_deadlines import watch_deadlines
    from groupops.mail import DeliveryFailed
    from tasks.mail import deliver

    monkeypatch.setattr(
        flow_module, "deliver", deliver.with_options(retries=1, retry_delay_seconds=0)
    )
    host, refusing_port, refused = refusing_smtp_server
    monkeypatch.setenv("GROUPOPS_SMTP_HOST", host)
    monkeypatch.setenv("GROUPOPS_SMTP_PORT", str(refusing_port))
    get_settings.cache_clear()
    key = outbox_key("reply:wecom:g1:m1:bob", 1)

    with pytest.raises(DeliveryFailed) as failed:
        watch_deadlines(as_of=at(24, 16))
    assert list(failed.value.delivery.failed) == [key] and failed.value.delivery.sent == []
    assert "550" in failed.value.delivery.failed[key] and refused == []
    engine = make_engine(get_settings().database_url)
    [stuck] = pending_entries(engine, kind="deadline_reminder")
    assert (stuck.key, stuck.status, stuck.attempts) == (key, "failed", 2)

    _host, port, received = smtp_server
    monkeypatch.setenv("GROUPOPS_SMTP_PORT", str(port))
    get_settings.cache_clear()
    later = watch_deadlines(as_of=at(24, 16, 30))
    assert (later.reminders, later.emails, later.emails_sent, later.emails_failed) == (0, 0, 1, [])
    assert [rcpt for _, rcpt, _ in received] == [["adm@example.com"]]
    assert pending_entries(engine) == []
    engine.dispose()
