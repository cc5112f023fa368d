"""``compute_stats`` groups its big group-bys by one integer per (platform, group_id,
sender_id) made once per run (``stats._MemberCodes``): every frame of the result must be the
one grouping by the three text keys gives (kept as the path taken when a key is missing), on
generated messages (hypothesis): the same rows, order, index, dtypes and values, and the same
report."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groupops.activity import stats as stats_module
from groupops.activity.stats import ActivityStats, compute_stats, stats_report
from groupops.clock.periods import Period
from groupops.policy import Policy

TZ = ZoneInfo("Asia/Shanghai")
PERIOD = Period(datetime(2026, 11, 16, tzinfo=TZ), datetime(2026, 11, 23, tzinfo=TZ), TZ, "week")
START = pd.Timestamp("2026-11-08", tz="UTC")
SENDERS = ["a", "b", "B", "成员", "a b", "z" * 3, "10", "9"]
GROUPS = [("wecom", "g1"), ("wecom", "g2"), ("feishu", "g1"), ("feishu", "组")]


def _message(n: int, draw: Any) -> dict[str, Any]:
    platform, group = draw(st.sampled_from(GROUPS))
    return {
        "platform": platform,
        "group_id": group,
        "message_id": f"m{n}",
        "sender_id": draw(st.sampled_from(SENDERS)),
        "sent_at": START + timedelta(minutes=draw(st.integers(0, 16 * 24 * 60))),
        "kind": draw(st.sampled_from(["text", "text", "system", "image"])),
        "reply_to": draw(st.one_of(st.none(), st.sampled_from([f"m{k}" for k in range(5)]))),
        "mentions": draw(st.lists(st.sampled_from(SENDERS), max_size=2)),
        "mention_all": draw(st.booleans()),
        "text": draw(st.sampled_from(["", "hi", "任务 today", "开会 10:00", "ok"])),
    }


@st.composite
def messages(draw: Any) -> pd.DataFrame:
    rows = [_message(n, draw) for n in range(draw(st.integers(0, 40)))]
    frame = pd.DataFrame(rows, columns=list(stats_module.STATS_COLUMNS))
    if rows and draw(st.booleans()):  # the keys as the store's read gives them (Arrow text)
        for name in ("platform", "group_id", "sender_id", "message_id"):
            frame[name] = frame[name].astype("str")
    frame["sent_at"] = pd.to_datetime(frame["sent_at"], utc=True)
    return frame.sort_values(["sent_at", "message_id"], kind="stable", ignore_index=True)


@st.composite
def memberships(draw: Any) -> pd.DataFrame:
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        platform, group = draw(st.sampled_from(GROUPS))
        rows.append({"platform": platform, "group_id": group,
                     "member_id": draw(st.sampled_from(SENDERS)),
                     "event": draw(st.sampled_from(["join", "leave", "removed"])),
                     "at": START + timedelta(hours=draw(st.integers(0, 16 * 24)))})  # fmt: skip
    frame = pd.DataFrame(rows, columns=["platform", "group_id", "member_id", "event", "at"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def by_keys(msgs: pd.DataFrame) -> stats_module._MemberCodes:
    """The grouping by the three text keys (no codes)."""
    keys = msgs[stats_module._SENDER_KEYS].iloc[:0].rename(columns={"sender_id": "member_id"})
    return stats_module._MemberCodes(None, keys)


def assert_same(got: ActivityStats, want: ActivityStats) -> None:
    for name in ("members", "groups", "daily", "heatmap", "replies", "replies_prev"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), obj=name)
    assert orjson.dumps(stats_report(got)) == orjson.dumps(stats_report(want))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    msgs=messages(), events=memberships(), reply_mode=st.sampled_from(["reply_only", "any_message"])
)
def test_grouping_by_member_codes_gives_the_key_groupings_frames(
    msgs: pd.DataFrame, events: pd.DataFrame, reply_mode: str
) -> None:
    policy = Policy.model_validate({"replies": {"reply_mode": reply_mode}})
    got = compute_stats(msgs, events, PERIOD, policy)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stats_module._MemberCodes, "of", staticmethod(by_keys))
        want = compute_stats(msgs, events, PERIOD, policy)
    assert_same(got, want)


def test_codes_are_made_and_a_missing_sender_falls_back_to_the_keys() -> None:
    frame = pd.DataFrame({"platform": ["wecom"] * 3, "group_id": ["g1", "g1", "g2"],
                          "sender_id": ["b", "a", "a"]})  # fmt: skip
    made = stats_module._MemberCodes.of(frame)
    assert made.codes is not None and made.codes.tolist() == [1, 0, 2]
    assert made.keys.to_dict("list") == {"platform": ["wecom"] * 3, "group_id": ["g1", "g1", "g2"],
                                         "member_id": ["a", "b", "a"]}  # fmt: skip
    missing = frame.assign(sender_id=["b", None, "a"])
    assert stats_module._MemberCodes.of(missing).codes is None
