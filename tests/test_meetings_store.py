"""Meetings against the store: invitations with an .ics (icalendar round trip; a change keeps
the UID with a higher SEQUENCE; a cancellation is METHOD:CANCEL), reminders, minutes emails,
each once; the meetings table; ``groupops meetings --json``; the meetings flow."""

from __future__ import annotations

import email
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from icalendar import Calendar
from typer.testing import CliRunner

from cli import app
from groupops.db import make_engine, session_scope
from groupops.db.models import Group, Member, MembershipEvent, Message
from groupops.mail import pending_entries
from groupops.meetings.notify import notify_meetings
from groupops.meetings.store import load_meetings, record_meetings, recorded_meetings
from groupops.policy import Policy
from groupops.settings import get_settings

TZ = ZoneInfo("Asia/Shanghai")
POLICY = Policy()
NOW = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
PEOPLE = [
    ("boss", "王总", "boss@example.com"),
    ("org", "周婷", "org@example.com"),
    ("lilei", "李雷", "lilei@example.com"),
    ("mei", "韩梅梅", "mei@example.com"),
    ("zhang", "张三", None),
]


def at(d: int, h: int, mi: int = 0) -> datetime:
    return datetime(2026, 11, d, h, mi, tzinfo=TZ)


def add(engine: sa.Engine, mid: str, sender: str, sent: datetime, text: str, **kw: Any) -> None:
    with session_scope(engine) as s:
        s.add(
            Message(
                platform="wecom",
                group_id="g1",
                message_id=mid,
                sender_id=sender,
                sent_at=sent,
                kind="text",
                text=text,
                reply_to=kw.get("reply_to"),
                mentions=kw.get("mentions", []),
                mention_all=False,
                pinned=False,
                content_hash=0,
                updated_at=NOW,
            )
        )


def seed(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        s.add(Group(platform="wecom", group_id="g1", name="产品群", owner_id="boss",
                    admin_ids=["org"], content_hash=0, updated_at=NOW))  # fmt: skip
        for mid, name, mail in PEOPLE:
            s.add(Member(platform="wecom", member_id=mid, display_name=name, real_name=name,
                         email=mail, content_hash=0, updated_at=NOW))  # fmt: skip
            s.add(MembershipEvent(platform="wecom", group_id="g1", member_id=mid, event="join",
                                  at=datetime(2026, 1, 1, tzinfo=UTC), content_hash=0,
                                  updated_at=NOW))  # fmt: skip
    add(
        engine,
        "n1",
        "org",
        at(23, 9),
        "【会议通知】\n主题：产品周会\n时间：11月25日 14:00-15:00\n地点：5楼小会议室\n"
        "参会人员：李雷、韩梅梅、张三\n议程：1. 需求评审；2. 排期",
    )


@pytest.fixture
def store(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sa.Engine]:
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", db_url)
    monkeypatch.setenv("GROUPOPS_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("GROUPOPS_MEETINGS_DIR", str(tmp_path / "no-meetings"))
    get_settings.cache_clear()
    engine = make_engine(db_url)
    seed(engine)
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def run(
    engine: sa.Engine, as_of: datetime, outbox: Path, policy: Policy = POLICY, **kw: Any
) -> list[Any]:
    view = load_meetings(engine, policy, as_of)
    mails = notify_meetings(
        engine, view, policy, sender="groupops@example.com", outbox_dir=outbox, now=NOW, **kw
    )
    record_meetings(engine, view, NOW)
    return mails


def message(path: Path) -> EmailMessage:
    parsed = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    return parsed


def ics_of(entry_path: Path) -> Calendar:
    msg = message(entry_path)
    parts = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    assert parts[0].get_filename() == "invite.ics"
    return Calendar.from_ical(parts[0].get_payload(decode=True))


def entries(engine: sa.Engine) -> dict[str, Any]:
    return {e.key: e for e in pending_entries(engine)}


def test_invitation_change_and_cancellation_ics(store: sa.Engine, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    first = run(store, at(23, 10), outbox)
    assert [(m.kind, m.created) for m in first] == [("invitation", True)]
    assert first[0].addresses == ["org@example.com", "lilei@example.com", "mei@example.com"]
    invite = entries(store)["meeting:wecom/g1/n1:request:0"]
    cal = ics_of(invite.eml_path)
    assert str(cal["method"]) == "REQUEST"
    (event,) = cal.events
    assert str(event["uid"]) == "wecom/g1/n1@groupops"
    assert int(event["sequence"]) == 0
    assert event.decoded("dtstart") == at(25, 14)
    assert event.decoded("dtend") == at(25, 15)
    assert str(event["summary"]) == "产品周会"
    assert str(event["location"]) == "5楼小会议室"
    assert sorted(str(a) for a in event.get("attendee")) == [
        "mailto:lilei@example.com", "mailto:mei@example.com", "mailto:org@example.com",
    ]  # fmt: skip
    assert str(event["organizer"]) == "mailto:org@example.com"
    subject = message(invite.eml_path)["Subject"]
    assert "会议邀请" in subject and "产品周会" in subject

    # Re-running changes nothing.
    again = run(store, at(23, 11), outbox)
    assert [(m.kind, m.created) for m in again] == [("invitation", False)]

    # A change: same UID, higher SEQUENCE, an update email.
    add(
        store,
        "n2",
        "org",
        at(24, 9),
        "【会议通知】\n主题：产品周会\n时间：11月25日 16:00-17:00\n地点：3楼",
    )
    changed = run(store, at(24, 10), outbox)
    assert [(m.kind, m.created) for m in changed] == [("update", True)]
    cal2 = ics_of(entries(store)["meeting:wecom/g1/n1:request:1"].eml_path)
    (event2,) = cal2.events
    assert str(event2["uid"]) == str(event["uid"])
    assert int(event2["sequence"]) == 1 > int(event["sequence"])
    assert event2.decoded("dtstart") == at(25, 16)
    assert str(event2["location"]) == "3楼"

    # A cancellation: METHOD:CANCEL, same UID, higher SEQUENCE.
    add(store, "n3", "org", at(24, 11), "【会议通知】\n主题：产品周会（取消）")
    cancelled = run(store, at(24, 12), outbox)
    assert [(m.kind, m.created) for m in cancelled] == [("cancellation", True)]
    cal3 = ics_of(entries(store)["meeting:wecom/g1/n1:cancel:2"].eml_path)
    assert str(cal3["method"]) == "CANCEL"
    (event3,) = cal3.events
    assert (str(event3["uid"]), int(event3["sequence"]), str(event3["status"])) == (
        "wecom/g1/n1@groupops", 2, "CANCELLED",
    )  # fmt: skip
    rows = recorded_meetings(store)
    assert list(rows["state"]) == ["cancelled"] and list(rows["sequence"]) == [2]


def test_reminder_leave_and_minutes_emails(store: sa.Engine, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    add(store, "l1", "mei", at(24, 9), "周三我请假，去医院", reply_to="n1")
    kinds = [(m.kind, m.created) for m in run(store, at(25, 13, 40), outbox)]
    assert kinds == [("invitation", True), ("reminder", True)]
    reminder = next(m for m in run(store, at(25, 13, 45), outbox) if m.kind == "reminder")
    assert reminder.addresses == ["org@example.com", "lilei@example.com"]  # mei is on leave

    add(
        store,
        "m1",
        "org",
        at(25, 16),
        "【会议纪要】产品周会\n结论与待办：\n1. 需求文档——负责人：李雷，截止11月26日\n"
        "2. @韩梅梅 竞品调研 11月30日前",
    )
    after = run(store, at(25, 17), outbox)
    assert [(m.kind, m.created) for m in after] == [("minutes", True)]
    assert after[0].addresses == [
        "org@example.com", "lilei@example.com", "mei@example.com", "boss@example.com",
    ]  # fmt: skip
    minutes = message(entries(store)["meeting:wecom/g1/n1:minutes:m1"].eml_path)
    text = minutes.get_body(preferencelist=("plain",))
    assert text is not None
    body = text.get_content()
    assert "需求文档" in body and "李雷" in body and "11月26日 18:00" in body
    assert "韩梅梅" in body  # on leave
    assert not [p for p in minutes.walk() if p.get_content_type() == "text/calendar"]
    assert [(m.kind, m.created) for m in run(store, at(25, 17, 30), outbox)] == [("minutes", False)]


@pytest.mark.parametrize(
    ("language", "invitation", "minutes"),
    [
        ("zh-CN", "【会议邀请】产品周会", "【会议纪要】产品周会"),
        ("en", "Invitation: 产品周会", "Minutes: 产品周会"),
    ],
)
def test_emails_in_both_languages(
    store: sa.Engine, tmp_path: Path, language: str, invitation: str, minutes: str
) -> None:
    policy = Policy.model_validate({"language": language})
    run(store, at(23, 10), tmp_path / "outbox", policy)
    add(
        store,
        "m1",
        "org",
        at(25, 16),
        "【会议纪要】产品周会\n- 需求文档 负责人：李雷 截止：11月26日",
    )
    run(store, at(25, 17), tmp_path / "outbox", policy)
    subjects = sorted(e.subject for e in pending_entries(store))
    assert subjects[0].startswith(invitation) or subjects[1].startswith(invitation)
    assert any(s == minutes for s in subjects)


def test_missing_minutes_remind_the_organizer(store: sa.Engine, tmp_path: Path) -> None:
    from groupops.deadlines.reminders import send_reminders
    from groupops.watch import load_obligations

    ob = load_obligations(store, POLICY, at(26, 14), meetings_dir=tmp_path / "none")
    sent = send_reminders(
        store, ob, POLICY, sender="groupops@example.com", outbox_dir=tmp_path / "outbox", now=NOW
    )
    assert [(s.key, s.step, s.recipients) for s in sent] == [
        ("minutes:wecom:g1:wecom/g1/n1:org", 0, ["org"])
    ]
    (entry,) = pending_entries(store)
    body = message(entry.eml_path).get_body(preferencelist=("plain",))
    assert (
        body is not None and "产品周会" in body.get_content() and "会议纪要" in body.get_content()
    )


def test_dry_run_writes_nothing(store: sa.Engine, tmp_path: Path) -> None:
    mails = run(store, at(23, 10), tmp_path / "outbox", dry_run=True)
    assert [(m.kind, m.created) for m in mails] == [("invitation", True)]
    assert entries(store) == {}


def test_recording_is_idempotent(store: sa.Engine) -> None:
    view = load_meetings(store, POLICY, at(23, 10))
    assert record_meetings(store, view, NOW) == 1
    assert record_meetings(store, view, NOW) == 0
    later = load_meetings(store, POLICY, at(25, 14, 30))  # now held: the row changes
    assert record_meetings(store, later, NOW) == 1
    assert list(recorded_meetings(store)["state"]) == ["held"]


@pytest.mark.usefixtures("store")
def test_cli_meetings_json_and_table() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["meetings", "--as-of", "2026-11-24T10:00", "--json"])
    assert result.exit_code == 0, result.output
    (m,) = json.loads(result.output)
    expected = {
        "meeting_id": "wecom/g1/n1",
        "group_id": "g1",
        "notice_message_id": "n1",
        "topic": "产品周会",
        "start": "2026-11-25T14:00:00+08:00",
        "end": "2026-11-25T15:00:00+08:00",
        "place": "5楼小会议室",
        "organizer_id": "org",
        "on_leave": [],
        "state": "scheduled",
        "minutes_message_id": None,
        "minutes_state": "not_due",
        "action_items": [],
    }
    assert {k: m[k] for k in expected} == expected
    assert sorted(m["attendees"]) == ["lilei", "mei", "org", "zhang"]
    other = runner.invoke(app, ["meetings", "--as-of", "2026-11-24T10:00", "-g", "g2", "--json"])
    assert json.loads(other.output) == []
    table = runner.invoke(app, ["meetings", "--as-of", "2026-11-24T10:00"])
    assert table.exit_code == 0 and "产品周会" in table.output and "unknown" in table.output


def test_meetings_command_does_not_import_prefect(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from cli import app\n"
        "r = CliRunner().invoke(app, ['meetings', '--json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'prefect' not in sys.modules, 'a read-only command imported prefect'\n"
    )
    env = {"GROUPOPS_DATABASE_URL": f"sqlite:///{tmp_path / 'ro.db'}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.flow
@pytest.mark.usefixtures("prefect")
def test_meetings_flow(
    store: sa.Engine,
    smtp_server: tuple[str, int, list[tuple[str, list[str], bytes]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.meetings import meetings

    host, port, received = smtp_server
    monkeypatch.setenv("GROUPOPS_SMTP_HOST", host)
    monkeypatch.setenv("GROUPOPS_SMTP_PORT", str(port))
    get_settings.cache_clear()

    dry = meetings(as_of=at(23, 10), dry_run=True)
    assert (dry.meetings, dry.scheduled, dry.emails, dry.recorded) == (1, 1, 1, 0)
    assert received == []
    first = meetings(as_of=at(23, 10))
    assert (first.emails, first.recorded) == (1, 1)
    assert sorted(r for _, rcpt, _ in received for r in rcpt) == [
        "lilei@example.com", "mei@example.com", "org@example.com",
    ]  # fmt: skip
    assert b"text/calendar" in received[0][2]
    again = meetings(as_of=at(23, 10))
    assert (again.emails, again.recorded) == (0, 0)
    assert len(received) == 1
