"""Statistics against tables computed by hand from a small inline data set.

Group g1 (wecom), week 2026-11-16 (Mon) .. 2026-11-23 local (Asia/Shanghai), previous week
2026-11-09 .. 2026-11-16. Members a, b, c, e joined 2026-10-01; d joins 11-17 (new); e leaves
11-18 (departed); x writes once on 11-05 and has no membership events (still on the roster).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa

from groupops.activity.stats import compute_stats, load_stats, stats_report
from groupops.clock.periods import Period, last_complete
from groupops.db import session_scope
from groupops.db.models import Group, MembershipEvent, Message
from groupops.policy import Policy, Replies
from groupops.roster import Directory, Person

TZ = ZoneInfo("Asia/Shanghai")
WEEK = Period(datetime(2026, 11, 16, tzinfo=TZ), datetime(2026, 11, 23, tzinfo=TZ), TZ, "week")


def local(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TZ).tz_convert("UTC")


# id, sender, local time, mentions, reply_to, kind
MESSAGES = [
    ("x1", "x", "2026-11-05 10:00", [], None, "text"),
    ("p1", "a", "2026-11-10 09:00", [], None, "text"),
    ("p2", "b", "2026-11-10 09:30", [], None, "text"),
    ("p3", "a", "2026-11-12 10:00", ["b"], None, "text"),
    ("m1", "a", "2026-11-16 09:00", ["b", "c"], None, "text"),
    ("m2", "b", "2026-11-16 09:30", [], "m1", "text"),
    ("m3", "a", "2026-11-16 23:30", [], None, "text"),
    ("m4", "b", "2026-11-17 10:00", ["a"], None, "text"),
    ("m5", "a", "2026-11-17 10:20", [], None, "text"),
    ("m6", "d", "2026-11-17 11:00", ["d"], None, "text"),
    ("s1", "sys", "2026-11-17 11:00", [], None, "system"),
    ("m7", "b", "2026-11-18 14:00", ["a", "a"], None, "text"),
    ("m8", "a", "2026-11-18 15:00", [], None, "text"),
    ("m9", "a", "2026-11-22 23:59", [], None, "text"),
    ("m10", "b", "2026-11-23 00:00", [], None, "text"),
]
MEMBERSHIPS = [
    ("a", "join", "2026-10-01 09:00"),
    ("b", "join", "2026-10-01 09:00"),
    ("c", "join", "2026-10-01 09:00"),
    ("e", "join", "2026-10-01 09:00"),
    ("d", "join", "2026-11-17 10:00"),
    ("e", "leave", "2026-11-18 12:00"),
]


def messages_frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"platform": "wecom", "group_id": "g1", "message_id": mid, "sender_id": sender,
             "sent_at": local(at), "kind": kind, "reply_to": reply_to, "mentions": mentions}
            for mid, sender, at, mentions, reply_to, kind in MESSAGES
        ]
    )  # fmt: skip


def memberships_frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"platform": "wecom", "group_id": "g1", "member_id": m, "event": ev, "at": local(at)}
            for m, ev, at in MEMBERSHIPS
        ]
    )


GROUPS = pd.DataFrame(
    [
        {"platform": "wecom", "group_id": "g1", "name": "项目群", "owner_id": "a", "admin_ids": ["b"]},
        {"platform": "wecom", "group_id": "g2", "name": "空群", "owner_id": "a", "admin_ids": []},
    ]
)  # fmt: skip


@pytest.fixture(scope="module")
def stats():
    return compute_stats(messages_frame(), memberships_frame(), WEEK, Policy(), groups=GROUPS)


NAN = float("nan")

# member, messages, active_days, share, first, last, received, answered, median, p90,
# is_member, joined, departed, inactive, messages_prev
EXPECTED_MEMBERS = [
    ("a", 5, 4, 5 / 9, "2026-11-16 09:00", "2026-11-22 23:59", 2, 2, 40.0, 56.0, True, False, False, False, 2),
    ("b", 3, 3, 3 / 9, "2026-11-16 09:30", "2026-11-18 14:00", 1, 1, 30.0, 30.0, True, False, False, False, 1),
    ("c", 0, 0, 0.0, None, None, 1, 0, NAN, NAN, True, False, False, True, 0),
    ("d", 1, 1, 1 / 9, "2026-11-17 11:00", "2026-11-17 11:00", 0, 0, NAN, NAN, True, True, False, True, 0),
    ("e", 0, 0, 0.0, None, None, 0, 0, NAN, NAN, False, False, True, False, 0),
    ("x", 0, 0, 0.0, None, None, 0, 0, NAN, NAN, True, False, False, True, 0),
]  # fmt: skip


def _same(actual: object, expected: object) -> bool:
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    if isinstance(expected, float):
        return actual == pytest.approx(expected)
    return actual == expected


@pytest.mark.parametrize("row", EXPECTED_MEMBERS, ids=[r[0] for r in EXPECTED_MEMBERS])
def test_member_figures(stats, row) -> None:
    member, *values = row
    names = ["messages", "active_days", "share", "first_at", "last_at", "mentions_received",
             "mentions_answered", "reply_median_minutes", "reply_p90_minutes", "is_member",
             "joined", "departed", "inactive", "messages_prev"]  # fmt: skip
    got = stats.members.set_index("member_id").loc[member]
    for name, expected in zip(names, values, strict=True):
        if name in ("first_at", "last_at"):
            expected = local(expected) if expected else None
            actual = got[name] if not pd.isna(got[name]) else None
        else:
            actual = got[name].item() if hasattr(got[name], "item") else got[name]
        assert _same(actual, expected), (member, name, actual, expected)


def test_members_listed_are_roster_writers_and_movers(stats) -> None:
    assert list(stats.members["member_id"]) == ["a", "b", "c", "d", "e", "x"]  # not "sys"


GROUP_EXPECTED = {
    # figure: (current, previous)
    "messages": (9, 3),
    "active_members": (3, 2),
    "members": (5, 5),
    "inactive_members": (3, 5),
    "new_members": (1, 0),
    "departed_members": (1, 0),
    "mentions": (4, 1),
    "mentions_answered": (3, 0),
    "answer_rate": (0.75, 0.0),
    "reply_median_minutes": (30.0, NAN),
    "reply_p90_minutes": (54.0, NAN),
}


@pytest.mark.parametrize("figure", list(GROUP_EXPECTED))
def test_group_figures_and_changes(stats, figure: str) -> None:
    current, previous = GROUP_EXPECTED[figure]
    row = stats.groups.set_index("group_id").loc["g1"]
    assert _same(float(row[figure]), float(current))
    assert _same(float(row[f"{figure}_prev"]), float(previous))
    assert _same(float(row[f"{figure}_delta"]), float(current) - float(previous))


def test_silent_group_is_listed_with_zeros(stats) -> None:
    row = stats.groups.set_index("group_id").loc["g2"]
    assert row["name"] == "空群"
    assert (row["messages"], row["members"], row["messages_prev"]) == (0, 0, 0)


def test_messages_per_day_includes_empty_days(stats) -> None:
    daily = stats.group_daily([("wecom", "g1")])
    assert list(daily.index.strftime("%m-%d")) == ["11-16", "11-17", "11-18", "11-19", "11-20", "11-21", "11-22"]  # fmt: skip
    assert list(daily) == [3, 3, 2, 0, 0, 0, 1]


def test_weekday_hour_heatmap(stats) -> None:
    heat = stats.group_heatmap([("wecom", "g1")])
    assert heat.shape == (7, 24)
    nonzero = {(d, h): int(heat.loc[d, h]) for d in range(7) for h in range(24) if heat.loc[d, h]}
    assert nonzero == {(0, 9): 2, (0, 23): 1, (1, 10): 2, (1, 11): 1, (2, 14): 1, (2, 15): 1, (6, 23): 1}  # fmt: skip
    member_a = stats.heatmap[stats.heatmap["member_id"] == "a"]["messages"].sum()
    assert member_a == 5


def test_reply_only_mode_counts_explicit_replies() -> None:
    policy = Policy(replies=Replies(reply_mode="reply_only"))
    result = compute_stats(messages_frame(), memberships_frame(), WEEK, policy)
    g1 = result.groups.set_index("group_id").loc["g1"]
    assert (g1["mentions"], g1["mentions_answered"]) == (4, 1)
    b = result.members.set_index("member_id").loc["b"]
    assert b["reply_median_minutes"] == 30.0


def test_reply_time_uses_the_given_clock() -> None:
    def half_speed(start: pd.Series, end: pd.Series) -> pd.Series:
        assert start.notna().all() and end.notna().all()  # only answered mentions are measured
        return (end - start).dt.total_seconds() / 120.0

    result = compute_stats(
        messages_frame(), memberships_frame(), WEEK, Policy(), duration=half_speed
    )
    a = result.members.set_index("member_id").loc["a"]
    assert (a["reply_median_minutes"], a["reply_p90_minutes"]) == (20.0, 28.0)


@pytest.mark.parametrize(
    ("kind", "as_of", "since", "until", "label"),
    [
        ("week", "2026-11-23 09:00", "2026-11-16", "2026-11-23", "2026-W47"),
        ("week", "2026-11-22 23:59", "2026-11-09", "2026-11-16", "2026-W46"),
        ("week", "2026-11-23 00:00", "2026-11-16", "2026-11-23", "2026-W47"),
        ("week", "2026-01-05 09:00", "2025-12-29", "2026-01-05", "2026-W01"),
        ("month", "2026-12-01 09:00", "2026-11-01", "2026-12-01", "2026-11"),
        ("month", "2026-01-01 09:00", "2025-12-01", "2026-01-01", "2025-12"),
        ("month", "2026-03-15 00:00", "2026-02-01", "2026-03-01", "2026-02"),
    ],
)
def test_last_complete_period(kind, as_of, since, until, label) -> None:
    period = last_complete(kind, pd.Timestamp(as_of, tz=TZ).to_pydatetime(), TZ)
    assert period.since == pd.Timestamp(since, tz=TZ)
    assert period.until == pd.Timestamp(until, tz=TZ)
    assert period.label == label
    assert period.previous().until == period.since
    assert period.previous().length == period.length


def test_as_of_in_another_zone_is_read_in_the_policy_zone() -> None:
    # 2026-11-22 17:00 UTC is Monday 01:00 in Shanghai: the week 11-16..11-23 is complete.
    period = last_complete("week", datetime(2026, 11, 22, 17, 0, tzinfo=UTC), TZ)
    assert period.label == "2026-W47"


def test_load_stats_from_the_store_matches_the_frames(engine: sa.Engine) -> None:
    now = datetime(2026, 11, 24, tzinfo=UTC)
    with session_scope(engine) as s:
        for _, g in GROUPS.iterrows():
            s.add(Group(platform=g["platform"], group_id=g["group_id"], name=g["name"],
                        owner_id=g["owner_id"], admin_ids=g["admin_ids"], content_hash=0,
                        updated_at=now))  # fmt: skip
        s.flush()
        for m, ev, at in MEMBERSHIPS:
            s.add(MembershipEvent(platform="wecom", group_id="g1", member_id=m, event=ev,
                                  at=local(at).to_pydatetime(), content_hash=0, updated_at=now))  # fmt: skip
        for mid, sender, at, mentions, reply_to, kind in MESSAGES:
            s.add(Message(platform="wecom", group_id="g1", message_id=mid, sender_id=sender,
                          sent_at=local(at).to_pydatetime(), kind=kind, text="", reply_to=reply_to,
                          mentions=mentions, content_hash=0, updated_at=now))  # fmt: skip
    from_store = load_stats(engine, WEEK, Policy())
    from_frames = compute_stats(
        messages_frame(), memberships_frame(), WEEK, Policy(), groups=GROUPS
    )
    cols = ["member_id", "messages", "active_days", "mentions_answered", "inactive"]
    pd.testing.assert_frame_equal(from_store.members[cols], from_frames.members[cols])
    pd.testing.assert_frame_equal(
        from_store.groups.drop(columns=["admin_ids"]),
        from_frames.groups.drop(columns=["admin_ids"]),
    )


def test_a_period_without_messages_gives_zeros() -> None:
    empty = messages_frame().iloc[0:0]
    result = compute_stats(empty, memberships_frame(), WEEK, Policy(), groups=GROUPS)
    g1 = result.groups.set_index("group_id").loc["g1"]
    assert (g1["messages"], g1["active_members"], g1["mentions"]) == (0, 0, 0)
    assert g1["members"] == 4  # a, b, c, d on the roster; e left
    assert g1["new_members"] == 1 and g1["departed_members"] == 1
    assert result.replies.empty and list(result.group_daily([("wecom", "g1")])) == [0] * 7


def test_the_report_shows_people_by_the_member_directory(stats) -> None:
    """实名制: ``name`` is the real name, else the display name, else the id."""
    people = Directory(
        [
            Person("wecom", "a", display_name="阿强", real_name="王强"),
            Person("wecom", "b", display_name="小白"),
        ]
    )
    report = stats_report(stats, people)
    g1 = next(g for g in report["groups"] if g["group_id"] == "g1")
    shown = {m["member_id"]: (m["name"], m["display_name"]) for m in g1["members"]}
    assert shown["a"] == ("王强", "阿强")
    assert shown["b"] == ("小白", "小白")
    assert shown["c"] == ("c", None)
    assert g1["owner_id"] == "a" and g1["owner_name"] == "王强"
