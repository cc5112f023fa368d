"""The one rule for "who answered a mention" (groupops/activity/answers.py), as a table of small
cases computed by hand, and proof that the statistics and the deadlines both follow it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from groupops.activity.answers import (
    ANSWER_COLUMNS,
    _has_mentions,
    answered_requests,
    earliest,
)
from groupops.activity.stats import compute_stats
from groupops.clock.periods import Period
from groupops.deadlines.obligations import compute_obligations
from groupops.policy import Policy, Replies

TZ = ZoneInfo("Asia/Shanghai")
ANY = Policy()  # reply_mode = "any_message"
REPLY_ONLY = Policy(replies=Replies(reply_mode="reply_only"))


def msg(
    mid: str,
    sender: str,
    hhmm: str,
    text: str = "",
    *,
    mentions: tuple[str, ...] = (),
    reply_to: str | None = None,
    kind: str = "text",
    mention_all: bool = False,
    group: str = "g1",
) -> dict[str, object]:
    return {
        "platform": "wecom", "group_id": group, "message_id": mid, "sender_id": sender,
        "sent_at": pd.Timestamp(f"2026-11-24 {hhmm}", tz=TZ).tz_convert("UTC"), "kind": kind,
        "text": text, "reply_to": reply_to, "mentions": list(mentions), "mention_all": mention_all,
    }  # fmt: skip


ASK = msg("m1", "alice", "10:00", "@bob 报价单发我一下", mentions=("bob",))

# (case, policy, messages, expected {(message_id, member): answering message id or None})
CASES = [
    ("a reply answers", ANY, [ASK, msg("r1", "bob", "10:30", "好的", reply_to="m1")],
     {("m1", "bob"): "r1"}),
    ("any_message: the next message answers", ANY, [ASK, msg("b1", "bob", "10:20", "在开会")],
     {("m1", "bob"): "b1"}),
    ("reply_only: only a reply answers", REPLY_ONLY, [ASK, msg("b1", "bob", "10:20", "在开会")],
     {("m1", "bob"): None}),
    ("reply_only: a reply to another message does not", REPLY_ONLY,
     [msg("m0", "carol", "09:00", "早"), ASK, msg("r1", "bob", "10:20", "早", reply_to="m0")],
     {("m1", "bob"): None}),
    ("any_message: the earlier of a message and a reply", ANY,
     [ASK, msg("b1", "bob", "10:10", "稍等"), msg("r1", "bob", "11:00", "给你", reply_to="m1")],
     {("m1", "bob"): "b1"}),
    ("a message in another group does not answer", ANY,
     [ASK, msg("b1", "bob", "10:20", "在", group="g2")], {("m1", "bob"): None}),
    ("a message before the request does not answer", ANY,
     [msg("b0", "bob", "09:50", "我来了"), ASK], {("m1", "bob"): None}),
    ("a system message answers nothing", ANY,
     [ASK, msg("s1", "bob", "10:20", "bob 撤回了一条消息", kind="system")],
     {("m1", "bob"): None}),
    ("@all asks nobody in particular, even naming someone", ANY,
     [msg("m1", "alice", "10:00", "@所有人 @bob 下午开会", mentions=("bob",), mention_all=True),
      msg("b1", "bob", "10:20", "收到")], {}),
    ("a task is followed up as a task, not as a reply request", ANY,
     [msg("m1", "alice", "10:00", "【任务】@bob 周五前交报价", mentions=("bob",))], {}),
    ("a system message is not a request", ANY,
     [msg("m1", "alice", "10:00", "alice 邀请 bob 加入群聊", mentions=("bob",), kind="system")],
     {}),
    ("mentioning oneself asks nobody; a name twice asks once", ANY,
     [msg("m1", "alice", "10:00", "@alice @bob @bob 看下", mentions=("alice", "bob", "bob"))],
     {("m1", "bob"): None}),
    ("each mentioned member answers for themselves", ANY,
     [msg("m1", "alice", "10:00", "@bob @carol 看下", mentions=("bob", "carol")),
      msg("r1", "bob", "10:05", "好", reply_to="m1"), msg("a2", "alice", "10:06", "谢谢")],
     {("m1", "bob"): "r1", ("m1", "carol"): None}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "policy", "messages", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_who_answered(
    case: str, policy: Policy, messages: list[dict[str, object]], expected: dict[tuple, object]
) -> None:
    found = answered_requests(pd.DataFrame(messages), policy)
    got = {
        (m, t): (None if pd.isna(a) else a)
        for m, t, a in zip(found["message_id"], found["target_id"], found["answer_id"], strict=True)
    }
    assert got == expected


@pytest.mark.parametrize("policy", [ANY, REPLY_ONLY], ids=["any_message", "reply_only"])
def test_statistics_and_deadlines_follow_the_same_rule(policy: Policy) -> None:
    """Every case above in one group each: the statistics' mentions received / answered and the
    deadlines' reply items are the same requests with the same answers."""
    rows = [
        {**m, "group_id": f"{m['group_id']}-{i}"}
        for i, (_c, _p, messages, _e) in enumerate(CASES)
        for m in messages
    ]
    frame = pd.DataFrame(rows)
    day = Period(datetime(2026, 11, 24, tzinfo=TZ), datetime(2026, 11, 25, tzinfo=TZ), TZ)
    no_events = pd.DataFrame(
        {"platform": [], "group_id": [], "member_id": [], "event": [],
         "at": pd.Series(dtype="datetime64[ns, UTC]")}
    )  # fmt: skip
    stats = compute_stats(frame, no_events, day, policy)
    obligations = compute_obligations(frame, policy, datetime(2026, 11, 24, 23, 0, tzinfo=TZ))

    def key(df: pd.DataFrame, target: str, answer: str) -> set[tuple[object, ...]]:
        answered = df[answer].where(df[answer].notna(), None)
        return set(zip(df["group_id"], df["message_id"], df[target], answered, strict=True))

    replies = obligations.items[obligations.items["kind"] == "reply"]
    from_stats = key(stats.replies, "target_id", "answered_at")
    assert from_stats == key(replies, "assignee_id", "resolved_at")
    assert len(from_stats) == sum(len(expected) for *_, expected in CASES)


@pytest.mark.parametrize(
    "mentions",
    [
        pd.Series([["u1"], [], None, float("nan"), "u1", ("u1",), ["u1", "u2"]], dtype=object),
        pd.Series([[], []], index=[7, 3], dtype=object),
        pd.Series([], dtype=object),
        pd.Series(
            pd.array([["u1"], [], None], dtype=pd.ArrowDtype(pa.list_(pa.string()))),
            index=[2, 0, 1],
        ),
    ],
)
def test_which_messages_mention_someone_is_what_a_map_per_message_says(
    mentions: pd.Series,
) -> None:
    """`reply_requests` tells the messages with mentions in one comprehension: the same answer
    as mapping `isinstance(m, list) and len(m) > 0` over the column (the values an Arrow list
    column hands `map` are arrays, not lists: no mention, as before)."""
    expected = mentions.map(lambda m: isinstance(m, list) and len(m) > 0).astype(bool)
    pd.testing.assert_series_equal(_has_mentions(mentions), expected)


def _reference_earliest(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """`earliest` as it was written first: the rows taken from `b` assigned as one block."""
    take_b = b["at"].notna() & (a["at"].isna() | (b["at"] < a["at"]))
    out = a[ANSWER_COLUMNS].copy()
    out.loc[take_b, ANSWER_COLUMNS] = b.loc[take_b, ANSWER_COLUMNS].to_numpy()
    out["at"] = pd.to_datetime(out["at"], utc=True)
    return out


def _answers(
    rows: list[tuple[int | None, str | None, str | None]], unit: str, text: object, index: list[int]
) -> pd.DataFrame:
    at = [None if r[0] is None else datetime(2026, 11, 2, 9, r[0], tzinfo=TZ) for r in rows]
    return pd.DataFrame(
        {
            "at": pd.to_datetime(pd.Series(at, dtype=object), utc=True).dt.as_unit(unit),
            "id": pd.Series([r[1] for r in rows], dtype=text),
            "text": pd.Series([r[2] for r in rows], dtype=text),
        }
    ).set_axis(index)


_row = st.tuples(
    st.one_of(st.none(), st.integers(0, 3)),
    st.one_of(st.none(), st.sampled_from(["m1", "m2", "中"])),
    st.one_of(st.none(), st.sampled_from(["", "好", "收到"])),
)
_text_dtypes = ["object", "string[pyarrow]", pd.StringDtype("pyarrow", na_value=float("nan"))]


@settings(max_examples=200, deadline=None)
@given(
    st.data(),
    st.integers(0, 8),
    st.sampled_from(["ns", "us"]),
    st.sampled_from(_text_dtypes),
    st.sampled_from(_text_dtypes),
)
def test_the_earlier_answer_is_taken_as_the_rows_assignment_took_it(
    data: st.DataObject, n: int, unit: str, text_a: object, text_b: object
) -> None:
    """`earliest` takes `b`'s answer column by column when both frames' columns have the same
    dtypes, by the rows' assignment otherwise: the same frame as that assignment, values and
    dtypes (missing instants and texts, ties, repeated index labels, mixed text dtypes)."""
    index = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    a_rows = data.draw(st.lists(_row, min_size=n, max_size=n))
    b_rows = data.draw(st.lists(_row, min_size=n, max_size=n))
    a, b = _answers(a_rows, unit, text_a, index), _answers(b_rows, unit, text_b, index)
    pd.testing.assert_frame_equal(earliest(a, b), _reference_earliest(a, b))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(-(10**6), 10**6)), max_size=8),
    st.sampled_from(["s", "ms", "us", "ns"]),
    st.sampled_from(["UTC", "Asia/Shanghai", None]),
    st.sampled_from([None, [3, 1, 1, 0, 7, 2, 5, 4]]),
)
def test_answers_instants_are_what_to_datetime_of_the_boxed_values_gives(
    offsets: list[int | None], unit: str, tz: str | None, labels: list[int] | None
) -> None:
    """`utc_values` (what `answer_requests` stores as `answered_at`) is the same column as
    `pd.to_datetime(at.to_numpy(), utc=True)`, which boxed every value: values, unit and zone
    (aware in any zone, naive, empty, all missing; any index)."""
    from groupops.activity.answers import utc_values

    base = pd.Timestamp("2026-11-02 01:02:03.123456789")
    naive = pd.Series(
        [None if o is None else base + pd.Timedelta(seconds=o, microseconds=o) for o in offsets],
        dtype=f"datetime64[{unit}]",
        index=labels[: len(offsets)] if labels else None,
    )
    at = naive.dt.tz_localize(tz) if tz else naive
    frame = pd.DataFrame(index=at.index)
    frame["new"] = utc_values(at)
    frame["old"] = pd.to_datetime(at.to_numpy(), utc=True)
    pd.testing.assert_series_equal(frame["new"], frame["old"], check_names=False)
