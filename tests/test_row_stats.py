"""The row engine gives the frame engine's statistics report, exactly.

``groupops stats`` over a small span computes the report in pure Python
(:mod:`groupops.activity.rowstats`); the frame engine (``load_stats`` → ``stats_report``)
stays the reference. One rule, two engines: the same keys in the same order, the same ints
and the same float bits (medians and 90th percentiles, shares, answer rates, reply times on
the working clock), on generated stores (hypothesis: mentions, replies, system messages,
tasks and meeting notices, to-everyone mentions, both reply modes, ties in ``sent_at``,
membership events before, inside and after the period, members without messages, silent
groups and one without owner, UTC and Asia/Shanghai, periods not starting at midnight) and on
every week of the demo store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groupops.activity.rowstats import (
    load_rows,
    median,
    quantile,
    row_report,
    small_span_report,
    window_bounds,
)
from groupops.activity.stats import load_stats, load_window, stats_report
from groupops.clock.periods import Period
from groupops.db.models import Group, Member, MembershipEvent, Message
from groupops.policy import Policy, load_policy
from groupops.roster import Directory

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday; the generated store starts here
EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MEMBERS = ["u1", "u2", "u3", "u4"]


def _frame_report(
    engine: sa.Engine, period: Period, policy: Policy, groups: list[str] | None = None
) -> dict[str, object]:
    """The reference: what ``groupops stats`` printed before the row engine."""
    stats = load_stats(engine, period, policy, groups=groups)
    return stats_report(stats, Directory.load(engine))


def _same(frame: dict[str, object], rows: dict[str, object] | None) -> None:
    assert rows is not None
    # the JSON text: keys in the same order, floats with the same digits (same bits)
    assert json.dumps(rows, ensure_ascii=False) == json.dumps(frame, ensure_ascii=False)
    assert rows == frame


# -- pandas' group-by median and linear 90th percentile -----------------------------------


@pytest.mark.parametrize(
    "values",
    [[], [1.5], [1.0, 2.0], [0.1, 0.2, 0.7], [3.0, 3.0, 3.0, 9.5], [0.1 * i for i in range(11)],
     [1e-9, 1.0, 7.3, 7.3, 100.25, 1e6], [-30.0, 0.0, 12.5]],
)  # fmt: skip
def test_median_and_p90_are_pandas_group_by_figures(values: list[float]) -> None:
    frame = pd.DataFrame({"k": [1] * len(values), "v": values}, dtype="float64")
    by = frame.groupby("k")["v"]
    expected = (by.median().tolist() or [None], by.quantile(0.9).tolist() or [None])
    assert (median(sorted(values)), quantile(sorted(values), 0.9)) == (
        expected[0][0],
        expected[1][0],
    )


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), max_size=30))
def test_median_and_p90_match_pandas_for_any_values(values: list[float]) -> None:
    frame = pd.DataFrame({"k": [1] * len(values), "v": values}, dtype="float64")
    by = frame.groupby("k")["v"]
    got = (median(sorted(values)), quantile(sorted(values), 0.9))
    if not values:
        assert got == (None, None)
        return
    want = (by.median().iloc[0], by.quantile(0.9).iloc[0])
    assert [float(x).hex() for x in got] == [float(x).hex() for x in want]


def test_the_window_is_the_frame_engines() -> None:
    policy = load_policy()
    period = Period(START, START + timedelta(days=7), policy.tz)
    start, until = window_bounds(period, policy.activity.inactive_days)
    assert (pd.Timestamp(start), pd.Timestamp(until)) == load_window(period, policy)


# -- generated stores ---------------------------------------------------------------------

TEXTS = ["", "好的", "请看一下", "【任务】整理周报", "[task] fix", "会议通知：周五", "[minutes] done",
         "ok", "Task done", None]  # fmt: skip
#: Half-hour steps over ten days (ties in ``sent_at`` are common), some with microseconds;
#: periods start inside them.
instants = st.builds(
    lambda q, us: START + timedelta(minutes=30 * q, microseconds=us),
    st.integers(0, 10 * 48),
    st.sampled_from([0, 0, 0, 0, 1, 999_999]),
)
messages = st.lists(
    st.fixed_dictionaries(
        {
            "group_id": st.sampled_from(["g1", "g2"]),
            "sender_id": st.sampled_from(MEMBERS),
            "sent_at": instants,
            "kind": st.sampled_from(["text", "text", "text", "image", "system"]),
            "reply_to": st.one_of(st.none(), st.integers(0, 30).map(lambda i: f"m{i}")),
            "mentions": st.lists(st.sampled_from([*MEMBERS, "x9"]), max_size=3),
            "mention_all": st.booleans(),
            "text": st.sampled_from(TEXTS),
        }
    ),
    max_size=40,
)
events = st.lists(
    st.fixed_dictionaries(
        {
            "group_id": st.sampled_from(["g1", "g2"]),
            "member_id": st.sampled_from([*MEMBERS, "u5"]),
            "event": st.sampled_from(["join", "leave", "removed"]),
            "at": st.one_of(
                instants, st.just(START - timedelta(days=90)), st.just(START + timedelta(days=12))
            ),
        }
    ),
    max_size=12,
    unique_by=lambda e: (e["group_id"], e["member_id"], e["event"], e["at"]),
)
cases = st.fixed_dictionaries(
    {
        "zone": st.sampled_from(["Asia/Shanghai", "UTC"]),
        "reply_mode": st.sampled_from(["any_message", "reply_only"]),
        "inactive_days": st.sampled_from([1, 3, 14]),
        "min_messages": st.sampled_from([0, 1, 3]),
        "start_hours": st.integers(0, 9 * 24),
        "length_hours": st.sampled_from([24, 36, 7 * 24]),
        "only": st.sampled_from([None, ["g1"], ["g2", "g3"]]),
    }
)


def _store(engine: sa.Engine, msgs: list[dict[str, Any]], moves: list[dict[str, Any]]) -> None:
    now = START
    with engine.begin() as conn:
        for model in (Message, MembershipEvent, Member, Group):
            conn.execute(sa.delete(model.__table__))
        conn.execute(
            sa.insert(Group.__table__),
            [
                {"platform": "wecom", "group_id": "g1", "name": "一群", "owner_id": "u1",
                 "admin_ids": ["u2"], "content_hash": 0, "updated_at": now},
                {"platform": "wecom", "group_id": "g2", "name": "g2", "owner_id": None,
                 "admin_ids": [], "content_hash": 0, "updated_at": now},
                {"platform": "wecom", "group_id": "g3", "name": "silent", "owner_id": "u9",
                 "admin_ids": [], "content_hash": 0, "updated_at": now},
            ],
        )  # fmt: skip
        conn.execute(
            sa.insert(Member.__table__),
            [
                {"platform": "wecom", "member_id": "u1", "display_name": "Ann", "real_name": "安",
                 "department": None, "email": None, "content_hash": 0, "updated_at": now},
                {"platform": "wecom", "member_id": "u3", "display_name": " ", "real_name": None,
                 "department": "ops", "email": "a@b.co", "content_hash": 0, "updated_at": now},
            ],
        )  # fmt: skip
        if msgs:
            conn.execute(
                sa.insert(Message.__table__),
                [
                    {**m, "platform": "wecom", "message_id": f"m{i}", "text": m["text"] or "",
                     "pinned": False, "content_hash": 0, "updated_at": now}
                    for i, m in enumerate(msgs)
                ],
            )  # fmt: skip
        if moves:
            conn.execute(
                sa.insert(MembershipEvent.__table__),
                [{**e, "platform": "wecom", "content_hash": 0, "updated_at": now} for e in moves],
            )


def _policy(case: dict[str, Any]) -> Policy:
    base = load_policy()
    return base.model_copy(
        update={
            "timezone": case["zone"],
            "replies": base.replies.model_copy(update={"reply_mode": case["reply_mode"]}),
            "activity": base.activity.model_copy(
                update={
                    "inactive_days": case["inactive_days"],
                    "min_messages": case["min_messages"],
                }
            ),
        }
    )


@EXAMPLES
@given(msgs=messages, moves=events, case=cases)
def test_the_row_engine_reports_what_the_frame_engine_reports(
    engine: sa.Engine, msgs: list[dict[str, Any]], moves: list[dict[str, Any]], case: dict[str, Any]
) -> None:
    _store(engine, msgs, moves)
    policy = _policy(case)
    since = (START + timedelta(hours=case["start_hours"])).astimezone(policy.tz)
    period = Period(since, since + timedelta(hours=case["length_hours"]), policy.tz)
    frame = _frame_report(engine, period, policy, case["only"])
    _same(frame, small_span_report(engine, period, policy, groups=case["only"]))


def test_above_the_row_limit_the_frame_engine_answers(engine: sa.Engine) -> None:
    msgs = [
        {"group_id": "g1", "sender_id": "u1", "sent_at": START + timedelta(hours=i),
         "kind": "text", "reply_to": None, "mentions": [], "mention_all": False, "text": "x"}
        for i in range(3)
    ]  # fmt: skip
    _store(engine, msgs, [])
    policy = load_policy()
    period = Period(START, START + timedelta(days=7), policy.tz)
    assert small_span_report(engine, period, policy, limit=2) is None
    assert load_rows(engine, period, policy, limit=3) is not None


# -- the demo store -----------------------------------------------------------------------


DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[sa.Engine, Policy]]:
    """The demo bundle ingested into a store (what ``groupops demo`` builds its chapters on)."""
    from typer.testing import CliRunner

    from cli import app
    from groupops.db import make_engine
    from groupops.settings import get_settings

    root = tmp_path_factory.mktemp("demo-stats")
    url = f"sqlite:///{root / 'store.db'}"
    mp = pytest.MonkeyPatch()
    mp.setenv("GROUPOPS_DATABASE_URL", url)
    mp.setenv("GROUPOPS_OUTBOX_DIR", str(root / "outbox"))
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["ingest", str(DEMO), "--format", "canonical", "--json"])
    assert result.exit_code == 0, result.output
    engine = make_engine(url)
    yield engine, load_policy(get_settings().policy_path)
    engine.dispose()
    mp.undo()
    get_settings.cache_clear()


def test_every_week_of_the_demo_store(demo_store: tuple[sa.Engine, Policy]) -> None:
    engine, policy = demo_store
    with engine.connect() as conn:
        first, last = conn.execute(sa.select(sa.func.min(Message.sent_at),
                                             sa.func.max(Message.sent_at))).one()  # fmt: skip
    monday = datetime.combine(first.astimezone(policy.tz).date(), datetime.min.time(), policy.tz)
    monday -= timedelta(days=monday.weekday())
    weeks = 0
    while monday <= last:
        period = Period(monday, monday + timedelta(days=7), policy.tz)
        rows = load_rows(engine, period, policy)
        assert rows is not None
        _same(_frame_report(engine, period, policy), small_span_report(engine, period, policy))
        monday += timedelta(days=7)
        weeks += 1
    assert weeks >= 4


def test_the_row_report_takes_the_messages_in_any_order() -> None:
    """``row_report`` takes rows in any order (it sorts the messages itself)."""
    policy = load_policy()
    period = Period(START, START + timedelta(days=1), policy.tz)
    at = START + timedelta(hours=3)
    rows = [
        ("wecom", "g1", "b", "u2", at, "text", "a", [], False, "好的"),
        ("wecom", "g1", "a", "u1", at - timedelta(hours=1), "text", None, ["u2"], False, "请看"),
    ]
    report = row_report(rows, [], [("wecom", "g1", "一群", None)], period, policy, Directory(),
                        lambda a, b: (b - a).total_seconds() / 60)  # fmt: skip
    (group,) = report["groups"]
    assert (group["messages"], group["mentions"], group["mentions_answered"]) == (2, 1, 1)
    assert group["reply_median_minutes"] == 60.0
    assert [m["member_id"] for m in group["members"]] == ["u1", "u2"]


@pytest.mark.parametrize("engine_used", ["rows", "frames"])
def test_the_stats_command_prints_the_frame_engine_s_report(
    demo_store: tuple[sa.Engine, Policy], engine_used: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``groupops stats --json`` on a demo week: the row engine under the bound, the frame
    engine above it, the same JSON either way."""
    from typer.testing import CliRunner

    from cli import app
    from groupops.activity import rowstats
    from groupops.activity import stats as frame_stats

    engine, policy = demo_store
    if engine_used == "frames":
        monkeypatch.setattr(rowstats, "ROW_LIMIT", 10)
    framed: list[object] = []
    monkeypatch.setattr(
        frame_stats, "load_stats", lambda *a, **k: framed.append(1) or load_stats(*a, **k)
    )
    args = ["stats", "--json", "--since", "2026-11-09", "--until", "2026-11-16"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert len(framed) == (engine_used == "frames")
    since = datetime(2026, 11, 9, tzinfo=policy.tz)
    period = Period(since, since + timedelta(days=7), policy.tz)
    expected = _frame_report(engine, period, policy)
    assert result.stdout == json.dumps(expected, ensure_ascii=False, indent=2) + "\n"
