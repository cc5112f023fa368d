"""Meetings from a group's messages and from files, at one ``as_of``: changes, cancellations,
leave, minutes, action items as tasks of the deadline watcher, missing minutes escalated.

Week of Monday 2026-11-23 (Shanghai); default policy: 60-minute meetings, minutes due 8
working hours after the end, tasks acknowledged within 4 working hours."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from groupops.clock.workclock import WorkClock
from groupops.db.queries import MESSAGE_COLUMNS
from groupops.deadlines.obligations import compute_obligations
from groupops.meetings.declared import load_declared, occurrences, read_declared
from groupops.meetings.meetings import (
    Meetings,
    MeetingWorld,
    find_meetings,
    meeting_records,
    meeting_source,
)
from groupops.policy import Policy

TZ = ZoneInfo("Asia/Shanghai")
POLICY = Policy()
CLOCK = WorkClock()
PEOPLE = pd.DataFrame(
    [
        ("wecom", "boss", "王总", "王总", "boss@example.com"),
        ("wecom", "org", "周婷", "周婷", "org@example.com"),
        ("wecom", "lilei", "李雷", "李雷", "lilei@example.com"),
        ("wecom", "mei", "Mei", "韩梅梅", "mei@example.com"),
        ("wecom", "zhang", "张三", "张三", None),
        ("wecom", "admin", "管理员", "刘洋", "admin@example.com"),
    ],
    columns=["platform", "member_id", "display_name", "real_name", "email"],
)
GROUPS = pd.DataFrame(
    [("wecom", "g1", "产品群", "boss", ["admin"])],
    columns=["platform", "group_id", "name", "owner_id", "admin_ids"],
)
MEMBERSHIPS = pd.DataFrame(
    [
        ("wecom", "g1", m, "join", pd.Timestamp("2026-01-01", tz="UTC"))
        for m in ("boss", "org", "lilei", "mei", "zhang", "admin")
    ],
    columns=["platform", "group_id", "member_id", "event", "at"],
)
WORLD = MeetingWorld(PEOPLE, GROUPS, MEMBERSHIPS)


def at(d: int, h: int, mi: int = 0, mo: int = 11) -> datetime:
    return datetime(2026, mo, d, h, mi, tzinfo=TZ)


def msg(mid: str, sender: str, sent: datetime, text: str, **kw: Any) -> dict[str, Any]:
    return {
        "platform": "wecom",
        "group_id": kw.pop("group", "g1"),
        "message_id": mid,
        "sender_id": sender,
        "sent_at": sent,
        "kind": "text",
        "text": text,
        "reply_to": kw.pop("reply_to", None),
        "mentions": kw.pop("mentions", []),
        "mention_all": kw.pop("mention_all", False),
        "pinned": False,
    }


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    df = pd.DataFrame(list(rows), columns=list(MESSAGE_COLUMNS))
    df["sent_at"] = pd.to_datetime(df["sent_at"], utc=True)
    return df.sort_values("sent_at").reset_index(drop=True)


NOTICE = msg(
    "n1",
    "org",
    at(23, 9),
    "【会议通知】\n主题：产品周会\n时间：11月25日 14:00-15:00\n地点：5楼小会议室\n"
    "参会人员：李雷、韩梅梅、张三\n议程：1. 需求评审；2. 排期",
)
MINUTES = msg(
    "m1",
    "org",
    at(25, 16),
    "【会议纪要】产品周会\n结论与待办：\n1. 需求文档——负责人：李雷，截止11月26日\n"
    "2. @韩梅梅 竞品调研 11月30日前",
)


def meetings(*rows: dict[str, Any], as_of: datetime, world: MeetingWorld = WORLD) -> Meetings:
    return find_meetings(frame(*rows), POLICY, as_of, world)


def one(found: Meetings) -> dict[str, Any]:
    recs = meeting_records(found, None, TZ)
    assert len(recs) == 1, recs
    return recs[0]


def test_a_notice_makes_a_scheduled_meeting() -> None:
    m = one(meetings(NOTICE, as_of=at(24, 10)))
    assert m["meeting_id"] == "wecom/g1/n1"
    assert (m["topic"], m["start"], m["end"], m["place"]) == (
        "产品周会",
        at(25, 14).isoformat(),
        at(25, 15).isoformat(),
        "5楼小会议室",
    )
    assert m["organizer_id"] == "org"
    assert set(m["attendees"]) == {"org", "lilei", "mei", "zhang"}
    assert (m["state"], m["minutes_state"], m["sequence"]) == ("scheduled", "not_due", 0)
    assert m["attendance"] == "unknown"


@pytest.mark.parametrize(
    ("later", "expect"),
    [
        # a later notice with the same topic moves it (same meeting, higher sequence)
        (
            [msg("n2", "org", at(24, 9), "【会议通知】\n主题：产品周会\n时间：11月25日 16:00-17:30\n地点：3楼")],
            {"start": at(25, 16), "end": at(25, 17, 30), "place": "3楼", "sequence": 1, "state": "scheduled"},
        ),
        # a reply to the notice changes it too, even without a topic
        (
            [msg("n2", "org", at(24, 9), "【会议通知】时间改为：11月26日 10:00", reply_to="n1")],
            {"start": at(26, 10), "end": at(26, 11), "place": "5楼小会议室", "sequence": 1},
        ),
        # a cancellation naming the topic
        (
            [msg("n2", "org", at(24, 9), "【会议通知】原定周三的产品周会取消")],
            {"state": "cancelled", "sequence": 1, "minutes_state": "not_due"},
        ),
        # cancelled, then re-announced: the same meeting, scheduled again
        (
            [
                msg("n2", "org", at(24, 9), "【会议通知】\n主题：产品周会（取消）"),
                msg("n3", "org", at(24, 11), "【会议通知】\n主题：产品周会\n时间：11月27日 10:00"),
            ],
            {"state": "scheduled", "sequence": 2, "start": at(27, 10), "end": at(27, 11)},
        ),
        # after the meeting ended, the same topic is next week's meeting: not a change
        (
            [msg("n2", "org", at(26, 9), "【会议通知】\n主题：产品周会\n时间：12月2日 14:00")],
            {"sequence": 0, "start": at(25, 14)},
        ),
    ],
)  # fmt: skip
def test_changes_and_cancellations_update_the_meeting(
    later: list[dict[str, Any]], expect: dict[str, Any]
) -> None:
    found = meetings(NOTICE, *later, as_of=at(24, 18))
    first = meeting_records(found, None, TZ)[0]
    assert first["meeting_id"] == "wecom/g1/n1"
    for key, value in expect.items():
        got = first[key]
        assert got == (value.isoformat() if isinstance(value, datetime) else value), key


def test_a_reply_naming_the_notice_with_a_leave_word_is_leave_not_a_change() -> None:
    rows = [NOTICE, msg("l1", "lilei", at(24, 10), "会议通知收到，周三我请假", reply_to="n1")]
    m = one(meetings(*rows, as_of=at(24, 18)))
    assert (m["sequence"], m["on_leave"]) == (0, ["lilei"])


def test_leave_before_and_after_the_start() -> None:
    rows = [
        NOTICE,
        msg("l1", "lilei", at(24, 10), "周三下午我请假，去医院", reply_to="n1"),
        msg("l2", "mei", at(25, 9), "@周婷 明天的会我请假", mentions=["org"]),
        msg("l3", "zhang", at(25, 14, 20), "抱歉我请假，临时有事", reply_to="n1"),
        msg("l4", "boss", at(24, 11), "我请假", reply_to="n1"),  # not an attendee
        msg("x1", "lilei", at(24, 12), "请假流程在哪里看？"),  # neither reply nor mention
    ]
    m = one(meetings(*rows, as_of=at(25, 18)))
    assert m["on_leave"] == ["lilei", "mei"]
    assert m["late_leave"] == ["zhang"]
    assert m["leave_message_ids"] == ["l1", "l2", "l3"]


def test_minutes_action_items_and_their_states() -> None:
    done = msg("d1", "lilei", at(26, 11), "需求文档已完成", reply_to="m1")
    rows = frame(NOTICE, MINUTES, done)
    as_of = at(30, 12)
    found = find_meetings(rows, POLICY, as_of, WORLD)
    ob = compute_obligations(rows, POLICY, as_of, groups=GROUPS, sources=[meeting_source(WORLD)])
    m = meeting_records(found, ob, TZ)[0]
    assert (m["state"], m["minutes_message_id"], m["minutes_state"]) == ("held", "m1", "published")
    got = [(a["assignee_id"], a["text"], a["due_at"], a["state"]) for a in m["action_items"]]
    assert got == [
        ("lilei", "需求文档", at(26, 18).isoformat(), "done"),
        ("mei", "竞品调研", at(30, 18).isoformat(), "open"),
    ]
    # The same items are tasks of the deadline watcher (groupops tasks).
    tasks = ob.tasks[ob.tasks["source"] == "minutes"]
    assert list(tasks["message_id"]) == ["m1#1", "m1#2"]
    assert list(tasks["requester_id"]) == ["org", "org"]
    # No acknowledgement is due for an item agreed in the meeting.
    assert not (
        (ob.items["kind"] == "task_ack") & ob.items["message_id"].isin(["m1#1", "m1#2"])
    ).any()


def test_an_action_item_goes_overdue_and_up_the_ladder() -> None:
    rows = frame(NOTICE, MINUTES)
    ob = compute_obligations(
        rows, POLICY, at(27, 17), groups=GROUPS, sources=[meeting_source(WORLD)]
    )
    late = ob.overdue[ob.overdue["message_id"] == "m1#1"]
    assert list(late["kind"]) == ["task_done"]
    assert list(late["assignee_id"]) == ["lilei"]
    # Due 26th 18:00; at 27th 17:00 it is 7 working hours late: admins (step 1), not yet owner.
    assert list(late["escalation"]) == [1]


@pytest.mark.parametrize(
    ("minutes_at", "as_of", "state", "overdue", "escalation"),
    [
        (None, at(25, 18), "not_due", False, -1),  # due 26th 15:30 (8 working hours after 15:00)
        (None, at(26, 15), "not_due", False, 0),  # 75 % of the time gone: remind the organizer
        (None, at(26, 17), "missing", True, 1),  # overdue: admins
        (None, at(27, 17), "missing", True, 2),  # 8 more working hours: the owner
        (at(26, 10), at(27, 17), "published", False, -1),
        (at(26, 17), at(27, 17), "late", False, -1),
    ],
)
def test_minutes_due_and_missing(
    minutes_at: datetime | None, as_of: datetime, state: str, overdue: bool, escalation: int
) -> None:
    rows = [NOTICE]
    if minutes_at is not None:
        rows.append({**MINUTES, "sent_at": minutes_at})
    found = meetings(*rows, as_of=as_of)
    m = meeting_records(found, None, TZ)[0]
    assert m["minutes_due_at"] == at(26, 15, 30).isoformat()
    assert m["minutes_state"] == state
    ob = compute_obligations(
        frame(*rows), POLICY, as_of, groups=GROUPS, sources=[meeting_source(WORLD)]
    )
    item = ob.items[ob.items["kind"] == "minutes"]
    assert list(item["assignee_id"]) == ["org"]
    assert list(item["overdue"]) == [overdue]
    assert list(item["escalation"]) == [escalation]


def test_minutes_must_follow_the_start_and_match_a_meeting() -> None:
    early = {**MINUTES, "sent_at": at(25, 13)}  # before the start
    other = msg("m2", "org", at(25, 16), "【会议纪要】渠道沟通会\n- 待定")
    found = meetings(NOTICE, early, other, as_of=at(26, 10))
    assert meeting_records(found, None, TZ)[0]["minutes_message_id"] is None
    assert len(found.problems) == 2


def test_minutes_titled_with_the_bare_topic_find_the_dated_meeting() -> None:
    dated = {
        **NOTICE,
        "text": NOTICE["text"].replace("主题：产品周会", "主题：产品周会（11月25日）"),
    }
    found = meetings(dated, MINUTES, as_of=at(26, 10))
    assert one(found)["minutes_message_id"] == "m1"


def test_at_all_invites_the_groups_members() -> None:
    notice = msg(
        "n1", "org", at(23, 9), "@所有人 【会议通知】月度复盘 本周五下午3点-5点", mention_all=True
    )
    m = one(meetings(notice, as_of=at(23, 10)))
    assert set(m["attendees"]) == {"boss", "org", "lilei", "mei", "zhang", "admin"}
    assert (m["start"], m["end"]) == (at(27, 15).isoformat(), at(27, 17).isoformat())


def test_messages_after_as_of_are_ignored() -> None:
    rows = [NOTICE, msg("n2", "org", at(24, 9), "【会议通知】\n主题：产品周会（取消）")]
    assert one(meetings(*rows, as_of=at(23, 18)))["state"] == "scheduled"
    assert one(meetings(*rows, as_of=at(24, 18)))["state"] == "cancelled"


# -- declared meetings -------------------------------------------------------------------------

WEEKLY = """---
topic: 产品周会
group: g1
organizer: 周婷
cron: "0 14 * * 3"
duration: 90
place: 5楼小会议室
attendees: [李雷, mei, 赵六]
since: 2026-11-01
---
- 需求评审
- 排期
"""


def _world_with(tmp_path: Path, *files: tuple[str, str]) -> MeetingWorld:
    for name, text in files:
        (tmp_path / name).write_text(text, encoding="utf-8")
    declared, problems = load_declared(tmp_path, TZ)
    assert problems == []
    return MeetingWorld(PEOPLE, GROUPS, MEMBERSHIPS, declared)


def test_declared_weekly_meetings(tmp_path: Path) -> None:
    world = _world_with(tmp_path, ("weekly.md", WEEKLY))
    found = find_meetings(frame(), POLICY, at(20, 18), world, since=at(9, 0))
    recs = meeting_records(found, None, TZ)
    # 11, 18 (held) and 25 (within the 7 days ahead); 12-2 is beyond.
    assert [r["start"] for r in recs] == [at(d, 14).isoformat() for d in (11, 18, 25)]
    assert [r["state"] for r in recs] == ["held", "held", "scheduled"]
    r = recs[-1]
    assert r["meeting_id"] == "wecom/g1/weekly/20261125T1400"
    assert (r["end"], r["organizer_id"], r["source"]) == (at(25, 15, 30).isoformat(), "org", "file")
    assert r["attendees"] == ["org", "lilei", "mei"]
    assert r["unresolved_names"] == ["赵六"]
    assert r["agenda"] == ["需求评审", "排期"]
    assert [x["minutes_state"] for x in recs] == ["missing", "missing", "not_due"]


def test_a_notice_for_a_declared_occurrence_is_that_meeting(tmp_path: Path) -> None:
    world = _world_with(tmp_path, ("weekly.md", WEEKLY))
    notice = msg(
        "n9",
        "org",
        at(24, 9),
        "【会议通知】\n主题：产品周会（11月25日）\n时间：11月25日 14:00-15:00\n地点：线上",
    )
    found = find_meetings(frame(notice), POLICY, at(24, 10), world, since=at(24, 0))
    r = one(found)
    assert r["meeting_id"] == "wecom/g1/weekly/20261125T1400"
    assert (r["notice_message_id"], r["topic"], r["place"], r["sequence"]) == (
        "n9", "产品周会（11月25日）", "线上", 1,
    )  # fmt: skip
    assert r["end"] == at(25, 15).isoformat()


def test_declared_series_skip_holidays() -> None:
    path = Path("x.md")
    text = WEEKLY.replace("0 14 * * 3", "0 10 * * *").replace("since: 2026-11-01\n", "")
    decl = read_declared_text(path, text)
    days = occurrences(decl, at(1, 0, mo=10), at(12, 0, mo=10), CLOCK)
    # National Day 2026: 1-7 October off; Saturday 10 October is a make-up working day and
    # Sunday 11 October is off: a daily series meets on working days only.
    assert [d.day for d in days] == [8, 9, 10]


def read_declared_text(path: Path, text: str) -> Any:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / path.name
        file.write_text(text, encoding="utf-8")
        return read_declared(file, TZ)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("topic: x\n", "must start with a '---' line"),
        ("---\ntopic: x\n", "no closing '---'"),
        ("---\ntopic: [\n---\n", "not valid YAML"),
        ("---\ntopic: x\ngroup: g1\norganizer: org\n---\n", "exactly one of start"),
        ("---\ntopic: x\ngroup: g1\norganizer: org\ncron: every day\n---\n", "line 5: cron"),
        ("---\ntopic: x\ngroup: g1\norganizer: org\nstart: soon\n---\n", "line 5: start"),
        (
            "---\ntopic: x\ngroup: g1\norganizer: org\nstart: 2026-12-01 10:00\ncolour: red\n---\n",
            "colour",
        ),
    ],
)
def test_bad_declared_files_are_reported_by_file_line_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "bad.md").write_text(text, encoding="utf-8")
    (tmp_path / "good.md").write_text(WEEKLY, encoding="utf-8")
    declared, problems = load_declared(tmp_path, TZ)
    assert [d.stem for d in declared] == ["good"]
    assert len(problems) == 1 and "bad.md" in problems[0] and message in problems[0]


ONE_OFF_BERLIN = """---
topic: 复盘会
group: g1
organizer: 周婷
start: 2026-10-25 14:00
attendees: [李雷]
---
- 复盘
"""


def test_days_ahead_are_the_policy_zones_days_whatever_zone_as_of_is_given_in(
    tmp_path: Path,
) -> None:
    # Europe/Berlin leaves summer time on 2026-10-25: seven local days after 10-18 14:30 CEST
    # end at 10-25 14:30 CET (13:30Z), seven UTC days at 12:30Z, before the 14:00 CET meeting.
    berlin = ZoneInfo("Europe/Berlin")
    policy = Policy(timezone="Europe/Berlin")
    (tmp_path / "review.md").write_text(ONE_OFF_BERLIN, encoding="utf-8")
    declared, problems = load_declared(tmp_path, berlin)
    assert problems == []
    world = MeetingWorld(PEOPLE, GROUPS, MEMBERSHIPS, declared)
    local = datetime(2026, 10, 18, 14, 30, tzinfo=berlin)
    starts = {
        zone: [m.start for m in find_meetings(frame(), policy, local.astimezone(zone), world,
                                              since=local.astimezone(zone)).meetings]
        for zone in (berlin, ZoneInfo("UTC"), TZ)
    }  # fmt: skip
    assert starts[berlin] == [datetime(2026, 10, 25, 14, 0, tzinfo=berlin)]
    assert starts[ZoneInfo("UTC")] == starts[berlin] == starts[TZ]
