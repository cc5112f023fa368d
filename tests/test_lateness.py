"""The one lateness formatter (groupops.clock.lateness): working hours under one working day,
working days above (the policy's working-day length, 7.5 h by default, never 24 h), across
working-day boundaries, weekends, holidays and 调休 make-up days — and the digest, the deadline
reminder and the ``groupops overdue`` command tell the same item's lateness in the same words."""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from datetime import UTC, datetime, time
from email.policy import default as default_policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli import app
from groupops.clock.lateness import format_lateness, lateness, working_day_minutes
from groupops.clock.workclock import WorkClock
from groupops.db import make_engine, session_scope
from groupops.db.models import Group, Member, Message
from groupops.db.queries import load_groups
from groupops.deadlines.obligations import Obligations
from groupops.deadlines.reminders import load_obligations, send_reminders
from groupops.digest import digest_period
from groupops.digest.context import DigestScope
from groupops.digest.overdue import overdue_provider
from groupops.mail import pending_entries
from groupops.mail.i18n import Language
from groupops.mail.render import TEMPLATES_DIR, _environment
from groupops.policy import Policy, WorkingTime
from groupops.roster import Directory
from groupops.settings import get_settings

TZ = ZoneInfo("Asia/Shanghai")
POLICY = Policy()  # 09:00-12:00 and 13:30-18:00: a working day is 450 minutes
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=TZ)


# (what, due, judged at, working minutes late, en, zh-CN) — computed by hand from the official
# 2026 calendar: 中秋 9/25 off; 国庆 10/1-10/7 off; 春节 2/15-2/23 off; make-up working days
# Sun 9/20, Sat 10/10, Sat 2/14.
CASES = [
    ("same afternoon", local(2026, 11, 24, 15, 30), local(2026, 11, 24, 16), 30,
     "0.5 working hours", "0.5 工作小时"),
    ("over the night", local(2026, 11, 24, 17), local(2026, 11, 25, 10), 120,
     "2 working hours", "2 工作小时"),
    ("over lunch", local(2026, 11, 24, 11, 30), local(2026, 11, 24, 14), 60,
     "1 working hour", "1 工作小时"),
    ("exactly one working day", local(2026, 11, 24, 9), local(2026, 11, 25, 9), 450,
     "1 working day", "1 个工作日"),
    ("a minute short of a day", local(2026, 11, 24, 9), local(2026, 11, 24, 17, 59), 449,
     "7.4 working hours", "7.4 工作小时"),
    ("over a weekend", local(2026, 11, 27, 17), local(2026, 11, 30, 10), 120,
     "2 working hours", "2 工作小时"),
    ("over 中秋 (Fri 9/25 off)", local(2026, 9, 24, 17), local(2026, 9, 28, 10), 120,
     "2 working hours", "2 工作小时"),
    ("over 国庆 (10/1-10/7 off)", local(2026, 9, 30, 17), local(2026, 10, 8, 10), 120,
     "2 working hours", "2 工作小时"),
    ("over make-up Saturday 10/10", local(2026, 10, 9, 17), local(2026, 10, 12, 10), 570,
     "1.3 working days", "1.3 个工作日"),
    ("over make-up Sunday 9/20", local(2026, 9, 18, 17), local(2026, 9, 21, 10), 570,
     "1.3 working days", "1.3 个工作日"),
    ("over 春节 with make-up Saturday 2/14", local(2026, 2, 13, 17), local(2026, 2, 24, 10),
     570, "1.3 working days", "1.3 个工作日"),
    ("96.5 working hours (the issue's example)", local(2026, 11, 2, 9), local(2026, 11, 18, 17),
     5790, "12.9 working days", "12.9 个工作日"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("what", "due", "at", "minutes", "en", "zh"), CASES, ids=[c[0] for c in CASES]
)
def test_lateness_table(
    what: str, due: datetime, at: datetime, minutes: int, en: str, zh: str
) -> None:
    clock = WorkClock.from_policy(POLICY)
    assert clock.working_minutes_between(due, at) == pytest.approx(minutes)
    day = working_day_minutes(POLICY.working_time)
    assert day == 450
    assert format_lateness(minutes, day, "en") == en
    assert format_lateness(minutes, day, "zh-CN") == zh


def test_the_working_day_is_the_policys() -> None:
    eight = WorkingTime(periods=[(time(9), time(12)), (time(13), time(18))])
    assert working_day_minutes(eight) == 480
    assert format_lateness(5790, 480, "en") == "12.1 working days"
    assert format_lateness(479, 480, "en") == "7.9 working hours"
    assert format_lateness(480, 480, "zh-CN") == "1 个工作日"


def test_signs_and_edges() -> None:
    assert format_lateness(-90, 450, "en") == "-1.5 working hours"
    assert format_lateness(-900, 450, "zh-CN") == "-2 个工作日"
    assert format_lateness(1, 450, "en") == "0.1 working hours"  # never "0"
    assert format_lateness(0, 450, "en") == "0 working hours"
    assert format_lateness(None, 450, "en") == "–"
    assert lateness(675, 450).unit == "days" and lateness(675, 450).amount == 1.5
    with pytest.raises(ValueError, match="working day"):
        lateness(10, 0)


# -- digest, reminder and CLI say the same ---------------------------------------------------


@pytest.fixture
def store(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sa.Engine]:
    """One group per case: alice @mentions bob so that the reply is due at the case's ``due``
    (4 working hours after the message)."""
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", db_url)
    monkeypatch.setenv("GROUPOPS_OUTBOX_DIR", str(tmp_path / "outbox"))
    get_settings.cache_clear()
    clock = WorkClock.from_policy(POLICY)
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        for mid, mail in [("alice", None), ("bob", None), ("adm", "adm@example.com")]:
            s.add(Member(platform="wecom", member_id=mid, display_name=mid, email=mail,
                         content_hash=0, updated_at=NOW))  # fmt: skip
        for i, case in enumerate(CASES):
            s.add(Group(platform="wecom", group_id=f"g{i}", name=f"群{i}", owner_id="adm",
                        admin_ids=["adm"], content_hash=0, updated_at=NOW))  # fmt: skip
            sent = clock.add_working_minutes(case[1], -POLICY.replies.deadline_working_hours * 60)
            s.add(Message(platform="wecom", group_id=f"g{i}", message_id=f"m{i}",
                          sender_id="alice", sent_at=sent, kind="text", text="@bob 请回复",
                          mentions=["bob"], content_hash=0, updated_at=NOW))  # fmt: skip
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def _section_text(
    obligations: Obligations, engine: sa.Engine, group: str, language: Language
) -> str:
    """The digest's overdue section for the group's admins, rendered as the digest does."""
    provide = overdue_provider(
        obligations,
        Directory.load(engine),
        load_groups(engine),
        TZ,
        day_minutes=working_day_minutes(POLICY.working_time),
    )
    period = digest_period("week", obligations.as_of, POLICY)
    scope = DigestScope(audience="admin", platform="wecom", subject_id=group,
                        recipient_ids=("adm",), groups=(group,), period=period)  # fmt: skip
    section = provide(scope, language)
    assert section is not None
    env = _environment(TEMPLATES_DIR.resolve())
    ctx = {"section": {"data": section.data}, "language": language}
    return env.get_template("sections/overdue.txt").render(ctx) + env.get_template(
        "sections/overdue.html"
    ).render(ctx)


def test_digest_reminder_and_cli_say_the_same(store: sa.Engine, tmp_path: Path) -> None:
    runner = CliRunner()
    for i, (what, _due, at, minutes, en, zh) in enumerate(CASES):
        group = f"g{i}"
        ob = load_obligations(store, POLICY, at, groups=[group])
        [row] = ob.overdue.to_dict(orient="records")
        # (a deadline at 09:00 is the same working instant as 18:00 the working day before)
        assert row["overdue_working_minutes"] == pytest.approx(minutes), what
        # The digest (both languages).
        assert zh in _section_text(ob, store, group, "zh-CN"), what
        assert en in _section_text(ob, store, group, "en"), what
        # The reminder to the admins (step 1), in the policy's language.
        for policy, words in ((POLICY, zh), (Policy(language="en"), en)):
            outbox = tmp_path / f"outbox-{i}-{policy.language}"
            send_reminders(store, ob, policy, sender="g@example.com", outbox_dir=outbox, now=at)
            entries = [e for e in pending_entries(store) if f":{group}:" in e.key]
            assert entries, what
            texts = []
            for e in entries:
                msg = email.message_from_bytes(e.eml_path.read_bytes(), policy=default_policy)
                body = msg.get_body(("plain",))
                assert body is not None
                texts.append(body.get_content())
            assert any(words in t for t in texts), (what, texts)
            with store.begin() as conn:  # let the English policy send its own step again
                conn.execute(sa.text("DELETE FROM deadline_reminders"))
                conn.execute(sa.text("DELETE FROM outbox"))
        # The command: the table and the JSON (minutes kept, words added).
        args = ["overdue", "--as-of", at.isoformat(), "--group", group]
        [item] = json.loads(runner.invoke(app, [*args, "--json"]).output)
        assert item["overdue_working_minutes"] == pytest.approx(minutes)
        assert item["late"] == en, what
        table = runner.invoke(app, args, terminal_width=200)
        assert table.exit_code == 0 and en in table.output, (what, table.output)
