"""Self-check of the committed demo bundle (``data/demo/``) against its generator and its plan.

1. The generator regenerates the committed files byte for byte.
2. The bundle has the promised shape (groups, members, volume, period, unique ids, valid
   mentions and replies).
3. A small reference implementation of the deadline rules (issue 4), written here on purpose
   without the generator's code and without the working clock both the generator and the rules
   use (``groupops.clock.WorkClock``), recomputes the open reply and task obligations at
   ``as_of`` from ``messages.jsonl`` alone and must find exactly ``planted.json``'s ``overdue``
   and ``pending``. Deadline expressions are read by a reference parser of the forms the demo
   uses and must give the instants ``planted.json`` records for issue 4's parser. Everywhere
   else the tests read working time from the WorkClock.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import pandas as pd
import pytest

from groupops.canonical import FIELDS
from groupops.clock.workclock import WorkClock
from groupops.demo.generator import write_bundle
from groupops.policy import Policy

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
FILES = (
    "groups.jsonl",
    "members.jsonl",
    "memberships.jsonl",
    "messages.jsonl",
    "roster.jsonl",
    "meetings/mkt-weekly.md",
    "meetings/partner-sync.md",
    "planted.json",
)
TZ = ZoneInfo("Asia/Shanghai")
POLICY = Policy()
CLOCK = WorkClock.from_policy(POLICY)


@cache
def planted(folder: Path = DEMO) -> dict[str, Any]:
    return dict(json.loads((folder / "planted.json").read_text(encoding="utf-8")))


def read(stem: str, folder: Path = DEMO) -> pd.DataFrame:
    return pd.read_json(folder / f"{stem}.jsonl", lines=True, dtype=False)


@cache
def messages(folder: Path = DEMO) -> pd.DataFrame:
    frame = read("messages", folder)
    frame["sent_at"] = pd.to_datetime(frame["sent_at"], format="ISO8601").dt.tz_convert(TZ)
    return frame


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


AS_OF = instant(planted()["as_of"])


# ---------------------------------------------------------------- 1. reproducible


def test_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    write_bundle(tmp_path, seed=planted()["seed"])
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (DEMO / name).read_bytes(), name


def test_another_seed_gives_other_chatter_but_the_same_plan(tmp_path: Path) -> None:
    write_bundle(tmp_path, seed=7)
    other = json.loads((tmp_path / "planted.json").read_text(encoding="utf-8"))
    assert (tmp_path / "messages.jsonl").read_bytes() != (DEMO / "messages.jsonl").read_bytes()
    assert len(other["overdue"]) == len(planted()["overdue"])
    assert [t["deadline"] for t in other["tasks"]] == [t["deadline"] for t in planted()["tasks"]]


# ---------------------------------------------------------------- 2. shape


def test_files_have_the_canonical_columns_in_order() -> None:
    for stem in ("groups", "members", "memberships", "messages"):
        first = json.loads((DEMO / f"{stem}.jsonl").open(encoding="utf-8").readline())
        assert list(first) == [f.name for f in FIELDS[stem]]


def test_company_shape() -> None:
    groups, members = read("groups"), read("members")
    assert len(groups) == 4
    assert set(groups["category"]) == {"project", "product", "marketing", "partner"}
    assert set(groups["name"]) >= {"项目运营群", "产品运营群", "市场运营群"}
    assert groups["admin_ids"].map(len).between(1, 2).all()
    assert 35 <= len(members) <= 45
    assert members["member_id"].is_unique
    assert members["real_name"].isna().sum() in (1, 2)
    assert (members["display_name"] != members["real_name"]).sum() >= 3
    assert {"项目部", "产品部", "市场部", "技术部", "运营部", "已离职"} <= set(
        members["department"]
    )


def test_message_volume_period_and_ids() -> None:
    m, period = messages(), planted()["period"]
    assert 4500 <= len(m) <= 5500
    assert m["sent_at"].min() >= instant(period["since"])
    assert m["sent_at"].max() < instant(period["until"])
    assert m["message_id"].is_unique
    assert all(text.endswith("+08:00") for text in read("messages")["sent_at"])
    assert set(m["kind"]) <= {"text", "image", "voice", "video", "file", "link", "system"}
    assert set(m["kind"]) >= {"text", "image", "file", "link", "voice", "system"}


def test_mentions_and_replies_are_consistent() -> None:
    m = messages()
    members = read("members").set_index("member_id")["display_name"]
    mentioned = m.explode("mentions").dropna(subset=["mentions"])
    assert mentioned["mentions"].isin(members.index).all()
    assert set(m["sender_id"]) <= set(members.index) | {"system"}
    for text, member in zip(mentioned["text"], mentioned["mentions"], strict=True):
        assert f"@{members[member]}" in text
    replies = m.dropna(subset=["reply_to"])
    parents = m.set_index("message_id")
    assert replies["reply_to"].isin(parents.index).all()
    assert (parents.loc[replies["reply_to"], "group_id"].to_numpy() == replies["group_id"]).all()
    assert (parents.loc[replies["reply_to"], "sent_at"].to_numpy() < replies["sent_at"]).all()


def test_activity_mostly_in_working_hours_with_an_uneven_spread() -> None:
    m = messages()
    in_hours = m["sent_at"].map(CLOCK.is_working_instant)
    assert 0.75 <= in_hours.mean() <= 0.95
    per_member = m[m["sender_id"] != "system"]["sender_id"].value_counts()
    assert per_member.iloc[0] >= 10 * per_member.iloc[-5]


# ---------------------------------------------------------------- 3. reference rules

# Working minutes: the policy's periods on Chinese working days (holidays and 调休 included).
# An independent reference on purpose (the generator and the rules both use the WorkClock, so
# comparing them with it would check the clock against itself); keep it this small.
PERIODS = [(s.hour * 60 + s.minute, e.hour * 60 + e.minute) for s, e in POLICY.working_time.periods]


def reference_add_working_minutes(start: datetime, minutes: float) -> datetime:
    """Walk forward day by day, spending ``minutes`` inside working periods."""
    start = start.astimezone(TZ)
    left = minutes
    day, from_minute = start.date(), start.hour * 60 + start.minute + start.second / 60
    while True:
        if chinese_calendar.is_workday(day):
            for lo, hi in PERIODS:
                lo = max(lo, from_minute)
                if lo < hi:
                    if left <= hi - lo:
                        return datetime.combine(day, time(), TZ) + timedelta(minutes=lo + left)
                    left -= hi - lo
        day, from_minute = day + timedelta(days=1), 0


WEEKDAY = {c: i for i, c in enumerate("一二三四五六日")}
DEADLINE = re.compile(
    r"(?P<cutoff>截止)?"
    r"(?:(?P<iso>\d{4}-\d{2}-\d{2})\s*|(?P<m>\d{1,2})月(?P<d>\d{1,2})日|(?P<rel>今天|明天)"
    r"|(?P<wk>本周|下周|周)(?P<wd>[一二三四五六日]))"
    r"(?:(?P<eod>下班)|上午(?P<am>\d{1,2})点|下午(?P<pm>\d{1,2})点|(?P<noon>中午12点)"
    r"|(?P<hh>\d{1,2}):(?P<mm>\d{2}))?"
    r"(?P<before>前)?"
)


def parse_deadline(text: str, said_at: datetime) -> datetime | None:
    """Reference reading of the demo's deadline forms: a day (ISO date, M月D日, 今天/明天,
    本周X/周X = this week's, 下周X = next week's) and an optional time (none or 下班 = 18:00,
    上午h点, 下午h点, 中午12点, HH:MM), written 截止… or …前."""
    base = said_at.astimezone(TZ).date()
    for m in DEADLINE.finditer(text):
        if not (m["cutoff"] or m["before"]):
            continue
        if m["iso"]:
            day = date.fromisoformat(m["iso"])
        elif m["m"]:
            day = date(base.year, int(m["m"]), int(m["d"]))
        elif m["rel"]:
            day = base + timedelta(days=1 if m["rel"] == "明天" else 0)
        else:
            monday = base - timedelta(days=base.weekday())
            day = monday + timedelta(days=WEEKDAY[m["wd"]] + (7 if m["wk"] == "下周" else 0))
        if m["am"]:
            at = time(int(m["am"]))
        elif m["pm"]:
            at = time(int(m["pm"]) + 12)
        elif m["noon"]:
            at = time(12)
        elif m["hh"]:
            at = time(int(m["hh"]), int(m["mm"]))
        else:
            at = time(18)
        return datetime.combine(day, at, TZ)
    return None


@pytest.mark.parametrize(
    ("text", "said_at", "expected"),
    [
        ("截止11月6日18:00", "2026-11-03T10:00", "2026-11-06T18:00"),
        ("麻烦本周五前发我", "2026-10-27T14:20", "2026-10-30T18:00"),
        ("明天下午3点前", "2026-11-04T09:45", "2026-11-05T15:00"),
        ("2026-11-12 18:00前", "2026-11-09T10:00", "2026-11-12T18:00"),
        ("下周一前给初稿", "2026-11-11T14:00", "2026-11-16T18:00"),
        ("收到，我周三下班前完成", "2026-11-09T11:22", "2026-11-11T18:00"),
        ("ok，明天中午12点前发", "2026-11-10T14:09", "2026-11-11T12:00"),
        ("下周一的演示环境，下周三前", "2026-11-20T15:30", "2026-11-25T18:00"),
        ("收到，先对齐需求再排期", "2026-11-05T14:26", None),
    ],
)
def test_reference_deadline_parser(text: str, said_at: str, expected: str | None) -> None:
    got = parse_deadline(text, datetime.fromisoformat(said_at).replace(tzinfo=TZ))
    assert got == (datetime.fromisoformat(expected).replace(tzinfo=TZ) if expected else None)


def has_any(texts: pd.Series, words: list[str]) -> pd.Series:
    pattern = "|".join(re.escape(w) for w in words)
    return texts.fillna("").str.contains(pattern, case=False, regex=True)


def reference_obligations(folder: Path = DEMO) -> pd.DataFrame:
    """Every open reply/task obligation at ``as_of`` in the bundle, with its due time."""
    m = messages(folder)
    m = m[m["sent_at"] < AS_OF].copy()
    m["is_task"] = has_any(m["text"], POLICY.tasks.markers)
    m["has_ack"] = has_any(m["text"], POLICY.tasks.ack_markers)
    m["has_done"] = has_any(m["text"], POLICY.tasks.completion_markers)
    last_said = m.groupby(["group_id", "sender_id"])["sent_at"].max().rename("last_said")

    # Reply requests: @member (not @all) outside tasks and meeting notices/minutes; answered by
    # any later message of theirs.
    meeting_words = [*POLICY.meetings.notice_markers, *POLICY.meetings.minutes_markers]
    m["is_meeting"] = has_any(m["text"], meeting_words)
    asks = m[~m["is_task"] & ~m["is_meeting"] & ~m["mention_all"]]
    asks = asks.explode("mentions").dropna(subset=["mentions"])
    asks = asks.join(last_said, on=["group_id", "mentions"])
    open_asks = asks[~(asks["last_said"] > asks["sent_at"])]
    replies = pd.DataFrame(
        {
            "kind": "reply",
            "group_id": open_asks["group_id"],
            "message_id": open_asks["message_id"],
            "assignee_id": open_asks["mentions"],
            "requester_id": open_asks["sender_id"],
            "due_at": [reference_add_working_minutes(t, 240) for t in open_asks["sent_at"]],
        }
    )

    # Tasks: one per mentioned member; acknowledged by a reply to the task or a later message
    # with an ack marker, done by a later message with a completion marker.
    tasks = m[m["is_task"]].explode("mentions").rename(columns={"mentions": "assignee_id"})
    later = tasks.merge(
        m,
        left_on=["group_id", "assignee_id"],
        right_on=["group_id", "sender_id"],
        suffixes=("", "_later"),
    )
    later = later[later["sent_at_later"] > later["sent_at"]]
    key = ["message_id", "assignee_id"]
    acks = later[(later["reply_to_later"] == later["message_id"]) | later["has_ack_later"]]
    first_ack = acks.sort_values("sent_at_later").groupby(key).first()
    done = later[later["has_done_later"]].groupby(key).size()
    rows = []
    for task in tasks.itertuples():
        k = (task.message_id, task.assignee_id)
        ack = first_ack.loc[k] if k in first_ack.index else None
        committed = (
            parse_deadline(ack["text_later"], ack["sent_at_later"]) if ack is not None else None
        )
        stated = parse_deadline(task.text, task.sent_at)
        default = reference_add_working_minutes(task.sent_at, 3 * 450)
        base = {
            "group_id": task.group_id,
            "message_id": task.message_id,
            "assignee_id": task.assignee_id,
            "requester_id": task.sender_id,
        }
        if ack is None:
            rows.append(
                {
                    "kind": "task_ack",
                    **base,
                    "due_at": reference_add_working_minutes(task.sent_at, 240),
                }
            )
        if k not in done.index:
            rows.append({"kind": "task_done", **base, "due_at": committed or stated or default})
    return pd.concat([replies, pd.DataFrame(rows)], ignore_index=True)


def as_keys(items: list[dict[str, Any]]) -> set[tuple[str, ...]]:
    return {
        (
            i["kind"],
            i["group_id"],
            i["message_id"],
            i["assignee_id"],
            i["requester_id"],
            instant(i["due_at"]).isoformat(),
        )
        for i in items
    }


@pytest.fixture(scope="module", params=["committed", "seed 7"])
def bundle(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed bundle, and one generated with another seed (the plan must not depend on
    the chatter's luck)."""
    if request.param == "committed":
        return DEMO
    folder = tmp_path_factory.mktemp("seed7")
    write_bundle(folder, seed=7)
    return folder


def test_reference_rules_find_exactly_the_planted_obligations(bundle: Path) -> None:
    found = reference_obligations(bundle)
    found["due_at"] = [d.astimezone(TZ).isoformat() for d in found["due_at"]]
    overdue = found[[instant(d) < AS_OF for d in found["due_at"]]]
    pending = found[[instant(d) >= AS_OF for d in found["due_at"]]]

    # Meetings' obligations (action items <minutes>#<n>, minutes due) are checked against
    # groupops meetings in test_demo_meetings.py; this reference knows task messages only.
    def messages_only(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [i for i in items if i["kind"] != "minutes" and "#" not in i["message_id"]]

    assert as_keys(overdue.to_dict("records")) == as_keys(messages_only(planted(bundle)["overdue"]))
    assert as_keys(pending.to_dict("records")) == as_keys(messages_only(planted(bundle)["pending"]))
    kinds = {i["kind"] for i in planted(bundle)["overdue"]}
    assert kinds == {"reply", "task_ack", "task_done", "minutes"}


def test_planted_overdue_items_are_a_full_working_day_old() -> None:
    a_day = CLOCK.minutes_per_day
    for item in planted()["overdue"]:
        assert CLOCK.add_working_minutes(instant(item["due_at"]), a_day) <= AS_OF, item


def test_task_deadlines_in_planted_match_the_text() -> None:
    m = messages().set_index("message_id")
    states = set()
    for task in planted()["tasks"]:
        text, said_at = m.loc[task["message_id"], "text"], m.loc[task["message_id"], "sent_at"]
        assert "【任务】" in text
        stated = parse_deadline(text, said_at)
        assert (stated.isoformat() if stated else None) == (
            instant(task["deadline"]).isoformat() if task["deadline"] else None
        )
        if task["deadline_text"]:
            assert task["deadline_text"] in text
        if task["ack_id"]:
            ack = m.loc[task["ack_id"]]
            committed = parse_deadline(ack["text"], ack["sent_at"])
            assert committed == (
                instant(task["committed_deadline"]) if task["committed_deadline"] else None
            )
        states.add(task["state_at_as_of"])
    assert states == {"open", "acknowledged", "done", "ack_overdue", "overdue"}


# ---------------------------------------------------------------- other planted facts


def test_notices_expired_and_duplicates() -> None:
    m = messages().set_index("message_id")
    notices = planted()["notices"]
    is_notice = has_any(messages()["text"], POLICY.notices.markers)
    assert set(messages()[is_notice]["message_id"]) == set(notices["all"])
    cutoff = AS_OF - timedelta(days=POLICY.notices.retention_days)
    assert set(notices["expired"]) == {i for i in notices["all"] if m.loc[i, "sent_at"] < cutoff}
    assert {d["exact"] for d in notices["duplicates"]} == {True, False}
    for pair in notices["duplicates"]:
        first, again = m.loc[pair["original"]], m.loc[pair["duplicate"]]
        assert first["group_id"] == again["group_id"] and first["sent_at"] < again["sent_at"]
        assert (first["text"] == again["text"]) == pair["exact"]


def test_meetings_have_notices_minutes_and_leaves() -> None:
    m = messages().set_index("message_id")
    meetings = planted()["meetings"]
    assert {x["kind"] for x in meetings} == {"weekly", "monthly", "adhoc"}
    for meeting in meetings:
        if meeting.get("source") == "file":  # declared in data/demo/meetings: no notice
            assert meeting["notice_id"] is None
            assert (DEMO / meeting["declared_file"]).is_file()
        else:
            assert m.loc[meeting["notice_id"], "text"].find("【会议通知】") >= 0
        if meeting["minutes_id"]:
            assert "【会议纪要】" in m.loc[meeting["minutes_id"], "text"]
        for leave in meeting["leaves"]:
            # A leave replies to the notice, or @mentions the organizer.
            row = m.loc[leave["message_id"]]
            assert (
                row["reply_to"] == meeting["notice_id"]
                or meeting["organizer_id"] in row["mentions"]
            )
            assert "请假" in row["text"]


def test_violations_are_exactly_what_was_planted() -> None:
    m = messages()
    violations = planted()["violations"]
    assert set(m[has_any(m["text"], POLICY.moderation.ad_words)]["message_id"]) == set(
        violations["ad"]
    )
    confidential = has_any(m["text"], POLICY.moderation.confidential_markers)
    assert set(m[confidential]["message_id"]) == set(violations["confidential"])
    flood = violations["flood"]
    burst = m[m["message_id"].isin(flood["message_ids"])]
    assert (burst["sender_id"] == flood["member_id"]).all()
    assert len(burst) >= POLICY.moderation.flood_messages
    assert burst["sent_at"].max() - burst["sent_at"].min() <= timedelta(seconds=60)


def test_important_and_mention_all_messages() -> None:
    m = messages()
    important = m["pinned"] | has_any(m["text"], POLICY.importance.markers)
    assert set(m[important]["message_id"]) == set(planted()["important"])
    assert m[important]["pinned"].sum() >= 3
    assert set(m[m["mention_all"]]["message_id"]) == set(planted()["mention_all"])
    assert m[m["mention_all"]]["text"].str.startswith("@所有人").all()


def test_membership_and_inactive_members() -> None:
    events = read("memberships")
    facts = planted()["membership"]
    unapproved = events[(events["event"] == "join") & events["approved_by"].isna()]
    assert set(unapproved["member_id"]) == {j["member_id"] for j in facts["unapproved_joins"]}
    assert (events["event"] == "leave").any() and (events["event"] == "removed").any()
    assert events[events["event"] == "removed"]["reason"].notna().all()
    m = messages()
    last = m.groupby("sender_id")["sent_at"].max()
    cutoff = AS_OF - timedelta(days=POLICY.activity.inactive_days)
    gone = set(events[events["event"] != "join"]["member_id"])
    inactive = {s for s, at in last.items() if at < cutoff and s not in gone}
    assert inactive == set(planted()["inactive_members"])
    assert 2 <= len(inactive) <= 3
