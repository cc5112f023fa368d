"""ONE rule, TWO engines: the row engine (``groupops.deadlines.rows``, what ``groupops overdue``
and ``groupops tasks`` compute with for small spans) gives exactly what the frame engine
(``compute_obligations``, the reference) gives for everything the commands print: the overdue
items and the tasks as ``to_records`` shapes them (same items, same order, same instants,
lateness, escalation and states) and the pending count. Hypothesis over generated
conversations (tasks, mentions, replies, acknowledgements, completions, commitments with
times, system messages, ties, two platforms sharing ids, a source's declared tasks and extra
items), and the demo store at several instants through the commands themselves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli import app
from groupops.clock.workclock import WorkClock
from groupops.db import make_engine, upgrade
from groupops.db.queries import MESSAGE_COLUMNS
from groupops.deadlines.obligations import (
    DECLARED_TASK_COLUMNS,
    EXTRA_ITEM_COLUMNS,
    Obligations,
    Sourced,
    compute_obligations,
    to_records,
)
from groupops.deadlines.rows import Msg, compute_rows
from groupops.ingest import open_bundle, run_ingest
from groupops.policy import Policy, load_policy
from groupops.roster import Directory
from groupops.roster.directory import Person
from groupops.watch import load_obligation_rows, load_obligations

TZ = ZoneInfo("Asia/Shanghai")
BASE = datetime(2026, 11, 23, 8, 0, tzinfo=TZ)  # a Monday
ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
POLICIES = {
    "any_message": Policy(),
    "reply_only": Policy.model_validate({"replies": {"reply_mode": "reply_only"}}),
    "demo": load_policy(ROOT / "data" / "policy.toml"),
}
MEMBERS = ["alice", "bob", "carol", "dave"]
PEOPLE = Directory(
    [Person("wecom", "alice", "Ali", "王丽"), Person("wecom", "bob", "Bobby"),
     Person("feishu", "carol", None, "陈卡")]
)  # fmt: skip
FRAGMENTS = [
    "", "报价单发我一下", "【任务】", "#任务 ", "[task] ", "收到", "好的", "ok", "okay", "book",
    "已完成", "done", "completed", "明天下午3点前", "周五之前", "今天18:00前", "下周一", "by Friday 5pm",
    "11月26日", "后天", "会议通知", "【会议纪要】", "抱歉拖到今天", "on it", "下午", " ",
]  # fmt: skip


def message_rows(messages: pd.DataFrame) -> list[Msg]:
    """A ``load_messages`` frame (the frame engine's input) as the row engine's messages
    (missing values as the frame engine's preparation reads them)."""
    mention_all = messages["mention_all"].fillna(False).astype(bool).tolist()
    kinds = messages["kind"].astype(object).where(messages["kind"].notna(), None).tolist()
    texts = messages["text"].fillna("").astype(str).tolist()
    reply_to = messages["reply_to"].astype(object).where(messages["reply_to"].notna(), None)
    sent = pd.to_datetime(messages["sent_at"], utc=True).dt.as_unit("us").dt.to_pydatetime()
    return [
        Msg(str(p), str(g), str(i), str(s), t, k, x, r, tuple(m), a)
        for p, g, i, s, t, k, x, r, m, a in zip(
            messages["platform"], messages["group_id"], messages["message_id"],
            messages["sender_id"], sent, kinds, texts, reply_to.tolist(),
            messages["mentions"], mention_all, strict=True,
        )
    ]  # fmt: skip


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The shape ``groupops.db.queries.load_messages`` returns (oldest first)."""
    df = pd.DataFrame(rows, columns=list(MESSAGE_COLUMNS))
    df["sent_at"] = pd.to_datetime(df["sent_at"], utc=True)
    return df.sort_values(["sent_at", "message_id"], kind="stable").reset_index(drop=True)


def _source(tasks: list[dict[str, Any]], items: list[dict[str, Any]]) -> Any:
    """A source as ``groupops.meetings.meetings.sourced`` frames its rows."""

    def source(*_args: Any) -> Sourced:
        task_frame = pd.DataFrame(tasks, columns=DECLARED_TASK_COLUMNS)
        item_frame = pd.DataFrame(items, columns=EXTRA_ITEM_COLUMNS)
        for col in ("assigned_at", "deadline"):
            task_frame[col] = pd.to_datetime(task_frame[col], utc=True)
        for col in ("requested_at", "due_at", "resolved_at"):
            item_frame[col] = pd.to_datetime(item_frame[col], utc=True)
        return Sourced(task_frame, item_frame)

    return source


def assert_same(
    rows: list[dict[str, Any]],
    policy: Policy,
    as_of: datetime,
    tasks: list[dict[str, Any]] = [],  # noqa: B006 - read only
    items: list[dict[str, Any]] = [],  # noqa: B006 - read only
) -> tuple[int, int]:
    frame = _frame(rows)
    clock = WorkClock.from_policy(policy)
    ob = compute_obligations(
        frame, policy, as_of, clock=clock, people=PEOPLE, sources=[_source(tasks, items)]
    )
    got = compute_rows(
        message_rows(frame), policy, as_of, clock=clock, people=PEOPLE, declared_tasks=tasks,
        extra_items=items, tz=TZ,
    )  # fmt: skip
    assert got.overdue == to_records(ob.overdue, TZ)
    assert got.tasks == to_records(ob.tasks.drop(columns=["text"]), TZ)
    assert got.pending == len(ob.pending)
    return len(got.overdue), len(got.tasks)


@st.composite
def conversations(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 28))  # none at all: see test_row_engine_cases
    rows: list[dict[str, Any]] = []
    keys: set[tuple[str, str, str]] = set()
    for _ in range(n):
        platform = draw(st.sampled_from(["wecom", "wecom", "feishu"]))
        group = draw(st.sampled_from(["g1", "g1", "g2"]))
        mid = f"m{draw(st.integers(0, n + 2)):02d}"  # ids shared across groups and platforms
        if (platform, group, mid) in keys:
            continue
        keys.add((platform, group, mid))
        sender = draw(st.sampled_from(MEMBERS))
        text = "".join(draw(st.lists(st.sampled_from(FRAGMENTS), max_size=4)))
        earlier = [r["message_id"] for r in rows] + ["zz"]
        rows.append(
            {
                "platform": platform,
                "group_id": group,
                "message_id": mid,
                "sender_id": sender,
                # 20-minute steps over five days: ties, nights, lunch and the weekend's edge.
                "sent_at": BASE + timedelta(minutes=20 * draw(st.integers(0, 6 * 72))),
                "kind": draw(st.sampled_from(["text", "text", "text", "system", None])),
                "text": draw(st.sampled_from([text, text, text, None])),
                "reply_to": draw(st.one_of(st.none(), st.sampled_from(earlier))),
                "mentions": draw(st.lists(st.sampled_from(MEMBERS), max_size=3)),
                "mention_all": draw(st.sampled_from([False, False, True, None])),
                "pinned": False,
            }
        )
    tasks, items = [], []
    for j in range(draw(st.integers(0, 3))):
        assigned = BASE + timedelta(minutes=20 * draw(st.integers(0, 6 * 72)))
        deadline = draw(st.one_of(st.none(), st.integers(1, 200)))
        target = draw(st.sampled_from([r["message_id"] for r in rows] + ["min1"]))
        tasks.append(
            {
                "platform": draw(st.sampled_from(["wecom", "feishu"])),
                "group_id": draw(st.sampled_from(["g1", "g2"])),
                "message_id": f"{target}#{j + 1}",
                "assignee_id": draw(st.sampled_from(MEMBERS)),
                "requester_id": draw(st.sampled_from(MEMBERS)),
                "assigned_at": assigned,
                "text": "整理会议结论",
                "deadline": assigned + timedelta(hours=deadline) if deadline else None,
                "deadline_source": "minutes",
                "reply_target": target,
                "source": "minutes",
            }
        )
    for j in range(draw(st.integers(0, 2))):
        start = BASE + timedelta(minutes=20 * draw(st.integers(0, 6 * 72)))
        due = start + timedelta(hours=draw(st.integers(1, 30)))
        done = draw(st.one_of(st.none(), st.integers(0, 40)))
        items.append(
            {
                "kind": "minutes",
                "platform": "wecom",
                "group_id": draw(st.sampled_from(["g1", "g2"])),
                "message_id": f"wecom/g1/meeting{j}",
                "assignee_id": draw(st.sampled_from(MEMBERS)),
                "requester_id": None,
                "requested_at": start,
                "due_at": due,
                "resolved_at": start + timedelta(hours=done) if done is not None else None,
                "resolved_by": f"min{j}" if done is not None else None,
                "text": "周会",
            }
        )
    as_of = BASE + timedelta(minutes=draw(st.integers(0, 9 * 24 * 60)))
    return {"rows": rows, "tasks": tasks, "items": items, "as_of": as_of}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=conversations(), policy=st.sampled_from(sorted(POLICIES)))
def test_row_engine_equals_frame_engine(case: dict[str, Any], policy: str) -> None:
    assert_same(case["rows"], POLICIES[policy], case["as_of"], case["tasks"], case["items"])


def at(d: int, h: int, mi: int = 0) -> datetime:
    return datetime(2026, 11, d, h, mi, tzinfo=TZ)


def m(mid: str, sender: str, sent: datetime, text: str = "", **kw: Any) -> dict[str, Any]:
    return {"platform": kw.pop("platform", "wecom"), "group_id": kw.pop("group", "g1"),
            "message_id": mid, "sender_id": sender, "sent_at": sent, "kind": kw.pop("kind", "text"),
            "text": text, "reply_to": kw.pop("reply_to", None), "mentions": kw.pop("mentions", []),
            "mention_all": kw.pop("mention_all", False), "pinned": False}  # fmt: skip


TASK = m("t1", "alice", at(24, 10), "【任务】@bob 周五之前交报价单", mentions=["bob", "carol"])


@pytest.mark.parametrize(
    ("rows", "as_of", "policy", "shape"),
    [
        ([], at(24, 12), "any_message", (0, 0)),
        ([TASK], at(24, 12), "any_message", (0, 2)),
        ([TASK], at(25, 12), "any_message", (2, 2)),  # both acknowledgements late
        ([TASK, m("r1", "bob", at(24, 11), "收到，周四下午3点前给", reply_to="t1")], at(28, 9),
         "any_message", (3, 2)),  # bob committed to Thursday, carol never answered: all late
        ([TASK, m("r1", "bob", at(24, 11), "好的"), m("r2", "bob", at(24, 11), "已完成")],
         at(28, 9), "any_message", (2, 2)),  # a tie: two answers at one instant
        ([TASK, m("r1", "bob", at(24, 11), "已完成", reply_to="t1")], at(28, 9), "reply_only",
         (2, 2)),
        ([m("a1", "alice", at(24, 10), "@bob 在吗", mentions=["bob", "bob", "alice"]),
          m("a2", "bob", at(24, 10), "在", kind="system")], at(25, 10), "any_message", (1, 0)),
        ([m("a1", "alice", at(24, 10), "@all", mentions=["bob"], mention_all=True)], at(30, 10),
         "any_message", (0, 0)),
        ([m("a1", "alice", at(24, 10), "@bob", mentions=["bob"]),
          m("a1", "alice", at(24, 10), "@bob", mentions=["bob"], platform="feishu")],
         at(30, 10), "any_message", (2, 0)),  # the same ids on two platforms
    ],
)  # fmt: skip
def test_row_engine_cases(
    rows: list[dict[str, Any]], as_of: datetime, policy: str, shape: tuple[int, int]
) -> None:
    assert assert_same(rows, POLICIES[policy], as_of) == shape


# -- the demo store -------------------------------------------------------------------------

DEMO_POLICY = POLICIES["demo"]
PLANTED: dict[str, Any] = json.loads((DEMO / "planted.json").read_text(encoding="utf-8"))
AS_OF = datetime.fromisoformat(PLANTED["as_of"])


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'groupops.db'}"
    upgrade(url)
    engine = make_engine(url)
    run_ingest(open_bundle(DEMO), engine, DEMO_POLICY, now=AS_OF)
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def demo_engine(demo_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(demo_url)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("hours", [-600, -300, -170, -48, -7, 0, 13, 100])
@pytest.mark.parametrize("groups", [None, ["proj-ops"], ["mkt-ops", "prod-ops"]])
def test_demo_store_row_engine_equals_frame_engine(
    demo_engine: sa.Engine, hours: int, groups: list[str] | None
) -> None:
    as_of = AS_OF + timedelta(hours=hours)
    ob: Obligations = load_obligations(
        demo_engine, DEMO_POLICY, as_of, groups=groups, meetings_dir=DEMO / "meetings"
    )
    got = load_obligation_rows(
        demo_engine, DEMO_POLICY, as_of, groups=groups, meetings_dir=DEMO / "meetings"
    )
    assert got is not None
    assert got.overdue == to_records(ob.overdue, DEMO_POLICY.tz)
    assert got.tasks == to_records(ob.tasks.drop(columns=["text"]), DEMO_POLICY.tz)
    assert got.pending == len(ob.pending)
    if hours == 0 and groups is None:
        assert len(got.overdue) > 10 and len(got.tasks) > 10  # the demo's planted items


def test_demo_store_above_the_bound_takes_the_frame_engine(demo_engine: sa.Engine) -> None:
    assert (
        load_obligation_rows(demo_engine, DEMO_POLICY, AS_OF, meetings_dir=DEMO / "meetings",
                             max_messages=10)
        is None
    )  # fmt: skip


@pytest.mark.parametrize("command", ["overdue", "tasks", "meetings"])
@pytest.mark.parametrize("as_json", [False, True])
def test_commands_print_what_the_frame_engine_gives(
    demo_url: str, monkeypatch: pytest.MonkeyPatch, command: str, as_json: bool
) -> None:
    """The commands' output with the row engine and, forced above its bound, the frame one."""
    from groupops.settings import get_settings

    monkeypatch.setenv("GROUPOPS_DATABASE_URL", demo_url)
    monkeypatch.setenv("GROUPOPS_MEETINGS_DIR", str(DEMO / "meetings"))
    monkeypatch.setenv("GROUPOPS_POLICY_PATH", str(ROOT / "data" / "policy.toml"))
    get_settings.cache_clear()
    args = [command, "--as-of", AS_OF.isoformat(), *(["--json"] if as_json else [])]
    runner = CliRunner()
    rows = runner.invoke(app, args, env={"COLUMNS": "100"})
    monkeypatch.setattr("groupops.watch.ROW_ENGINE_MAX_MESSAGES", 0)
    frames = runner.invoke(app, args, env={"COLUMNS": "100"})
    get_settings.cache_clear()
    assert rows.exit_code == 0, rows.output
    assert frames.exit_code == 0, frames.output
    assert rows.output == frames.output
    assert len(rows.output) > 500


# -- meetings: the row path (no pandas) against the frame path --------------------------------

MEETING_TEXTS = [
    "【会议通知】\n主题：产品周会\n时间：11月25日 14:00-15:00\n地点：5楼小会议室\n参会人：李雷、韩梅梅",
    "【会议通知】时间改为：11月26日 10:00",
    "【会议通知】原定周三的产品周会取消",
    "【会议通知】\n主题：产品周会（取消）",
    "@所有人 【会议通知】月度复盘 本周五下午3点-5点",
    "会议通知收到，周三我请假",
    "我请假",
    "【会议纪要】产品周会\n结论与待办：\n1. 需求文档——负责人：李雷，截止11月26日\n2. 联调——韩梅梅",
    "【会议纪要】渠道沟通会\n- 待定",
    "收到", "已完成", "好的，周五前给", "【任务】@lilei 周四之前交报价单",
]  # fmt: skip
MEETING_PEOPLE = [
    {"platform": "wecom", "member_id": m, "display_name": d, "real_name": r, "email": None}
    for m, d, r in [("org", "周婷", "周婷"), ("lilei", "李雷", "李雷"), ("mei", "Mei", "韩梅梅"),
                    ("boss", "王总", "王总")]
]  # fmt: skip
MEETING_GROUPS = [
    {"platform": "wecom", "group_id": "g1", "name": "产品群", "owner_id": "boss",
     "admin_ids": ["org"]}
]  # fmt: skip


def _worlds(memberships: list[dict[str, Any]]) -> tuple[Any, Any]:
    from groupops.meetings.meetings import MeetingWorld

    frames = MeetingWorld(
        pd.DataFrame(MEETING_PEOPLE),
        pd.DataFrame(MEETING_GROUPS),
        pd.DataFrame(memberships, columns=["platform", "group_id", "member_id", "event", "at"]),
    )
    return frames, MeetingWorld(list(MEETING_PEOPLE), list(MEETING_GROUPS), list(memberships))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_meetings_row_path_equals_frame_path(data: st.DataObject) -> None:
    from groupops.meetings.meetings import find_meetings, find_meetings_rows

    members = ["org", "lilei", "mei", "boss"]
    rows = []
    for i in range(data.draw(st.integers(1, 12))):
        rows.append(
            {"platform": "wecom", "group_id": "g1", "message_id": f"n{i:02d}",
             "sender_id": data.draw(st.sampled_from(members)),
             "sent_at": BASE + timedelta(minutes=30 * data.draw(st.integers(0, 200))),
             "kind": data.draw(st.sampled_from(["text", "text", "system"])),
             "text": data.draw(st.sampled_from(MEETING_TEXTS)),
             "reply_to": data.draw(st.one_of(st.none(), st.sampled_from(["n00", "n01", "n03"]))),
             "mentions": data.draw(st.lists(st.sampled_from(members), max_size=2)),
             "mention_all": data.draw(st.booleans()), "pinned": False}
        )  # fmt: skip
    joined = data.draw(st.lists(st.sampled_from(members), max_size=4, unique=True))
    memberships = [
        {"platform": "wecom", "group_id": "g1", "member_id": m, "event": "join",
         "at": BASE - timedelta(days=1)}
        for m in joined
    ]  # fmt: skip
    frames, row_world = _worlds(memberships)
    as_of = BASE + timedelta(minutes=data.draw(st.integers(0, 8 * 24 * 60)))
    since = data.draw(st.one_of(st.none(), st.just(BASE - timedelta(days=3))))
    policy = POLICIES["demo"]
    frame = _frame(rows)
    want = find_meetings(frame, policy, as_of, frames, since=since)
    got = find_meetings_rows(message_rows(frame), policy, as_of, row_world, since=since)
    assert got == want


def test_row_loaders_read_what_the_frame_loaders_read(demo_engine: sa.Engine) -> None:
    from groupops.db import queries
    from groupops.db import rows as row_reads

    since, until = AS_OF - timedelta(days=20), AS_OF
    frame = queries.load_messages(demo_engine, since=since, until=until, groups=["proj-ops"])
    got = row_reads.load_message_rows(demo_engine, since=since, until=until, groups=["proj-ops"])
    assert len(got) == len(frame) > 100
    assert row_reads.count_messages(demo_engine, since=since, until=until, groups=["proj-ops"]) == (
        len(frame)
    )
    from groupops.deadlines.rows import msg

    assert [msg(r) for r in got] == message_rows(frame)
    for read, rows in [
        (queries.load_members, row_reads.load_member_rows),
        (queries.load_groups, row_reads.load_group_rows),
        (queries.load_memberships, row_reads.load_membership_rows),
    ]:
        want = read(demo_engine).to_dict("records")
        have = rows(demo_engine)
        assert len(have) == len(want) > 0
        for a, b in zip(have, want, strict=True):
            assert a.keys() == b.keys()
            for k in a:
                assert a[k] == b[k] or (a[k] is None and pd.isna(b[k])), (k, a[k], b[k])


@pytest.mark.parametrize("hours", [-600, -170, -7, 0, 13, 100])
@pytest.mark.parametrize("groups", [None, ["proj-ops"]])
def test_demo_store_meetings_row_path_equals_frame_path(
    demo_engine: sa.Engine, hours: int, groups: list[str] | None
) -> None:
    from groupops.meetings.store import load_meetings
    from groupops.watch import load_meeting_rows

    as_of = AS_OF + timedelta(hours=hours)
    want = load_meetings(
        demo_engine, DEMO_POLICY, as_of, groups=groups, meetings_dir=DEMO / "meetings"
    )
    got = load_meeting_rows(
        demo_engine, DEMO_POLICY, as_of, groups=groups, meetings_dir=DEMO / "meetings"
    )
    assert got is not None
    assert got.found == want.found
    assert got.records == want.records
    assert got.problems == want.problems
    if hours == 0 and groups is None:
        assert any(r["action_items"] for r in got.records)


def test_both_stores_row_paths_equal_frame_paths(engine: sa.Engine) -> None:
    """SQLite and PostgreSQL: the row readers' values (instants, mentions) and both row paths
    against the frame paths on the demo company."""
    from groupops.db import queries
    from groupops.db import rows as row_reads
    from groupops.deadlines.rows import msg
    from groupops.meetings.store import load_meetings
    from groupops.watch import load_meeting_rows

    run_ingest(open_bundle(DEMO), engine, DEMO_POLICY, now=AS_OF)
    since = AS_OF - timedelta(days=30)
    frame = queries.load_messages(engine, since=since, until=AS_OF)
    got = row_reads.load_message_rows(engine, since=since, until=AS_OF)
    assert [msg(r) for r in got] == message_rows(frame)
    assert len(got) == row_reads.count_messages(engine, since=since, until=AS_OF) > 1000
    folder = DEMO / "meetings"
    ob = load_obligations(engine, DEMO_POLICY, AS_OF, meetings_dir=folder)
    rows = load_obligation_rows(engine, DEMO_POLICY, AS_OF, meetings_dir=folder)
    assert rows is not None
    assert rows.overdue == to_records(ob.overdue, DEMO_POLICY.tz)
    assert rows.tasks == to_records(ob.tasks.drop(columns=["text"]), DEMO_POLICY.tz)
    want = load_meetings(engine, DEMO_POLICY, AS_OF, meetings_dir=folder)
    have = load_meeting_rows(engine, DEMO_POLICY, AS_OF, meetings_dir=folder)
    assert have is not None
    assert (have.found, have.records, have.problems) == (want.found, want.records, want.problems)
