"""`groupops archive search` on SQLite (FTS5 over bigrams) and PostgreSQL (GIN over the gram
array): two-character Chinese words, longer phrases, English words, filters, the index used
(query plans), the index following every write (ingest, pulls, rows written directly, edits,
deletions, purge, restore, hard deletion with the register's copies); `archive list` and `archive
export` (md, jsonl, parquet)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from typer.testing import CliRunner

from cli import app
from groupops.archive import search as search_mod
from groupops.archive.cleanup import cleanup, restore
from groupops.archive.search import explain, grams, parse_query, search_messages
from groupops.connectors.slack import SlackConnector
from groupops.db import downgrade, make_engine, upgrade
from groupops.db.models import Message
from groupops.ingest.bundle import open_bundle
from groupops.ingest.pipeline import run_ingest
from groupops.policy import Policy
from groupops.settings import get_settings
from tests.bundles import dated_message as m
from tests.bundles import write_bundle
from tests.fake_slack import TOKEN, FakeSlack

TZ = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2026, 11, 20, 18, 0, tzinfo=TZ)
POLICY = Policy()


MESSAGES = [
    m("b1", "11-02 10:00", "市场部11月的预算已下发，请查看"),
    m("b2", "11-03 10:00", "预算超了，先别下单"),
    m("b3", "11-04 10:00", "预计下周算完"),  # 预 … 算 but never 预算
    m("w1", "11-05 10:00", "本周周会改到周二下午"),
    m("w2", "11-06 10:00", "周会纪要已上传", group="mkt", sender="u3"),
    m("e1", "11-07 10:00", "The Q4 Budget review moved to Friday"),
    m("e2", "11-08 10:00", "ＢＵＤＧＥＴ sheet updated"),
    m("x1", "11-09 10:00", "【通知】旧的报销流程：纸质单据", sender="u1"),
    *[m(f"f{i}", "11-10 10:00", f"第{i}条闲聊") for i in range(12)],
]


@pytest.fixture
def searchable(engine: sa.Engine, tmp_path: Path) -> sa.Engine:
    write_bundle(tmp_path / "b", messages=MESSAGES)
    assert run_ingest(open_bundle(tmp_path / "b"), engine, POLICY, now=AS_OF).exit_code == 0
    return engine


def ids(hits: list[Any]) -> list[str]:
    return [h.message_id for h in hits]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("预算已下发", ["预算", "算已", "已下", "下发"]),
        ("周会", ["周会"]),
        ("会", ["会"]),
        ("Q4 Budget：预算", ["q4", "budget", "预算"]),
        ("ＢＵＤＧＥＴ", ["budget"]),
    ],
)
def test_grams(text: str, expected: list[str]) -> None:
    assert grams(text) == expected


def test_query_terms() -> None:
    (one,) = parse_query("预")
    assert one.prefix == "预" and one.grams == ()
    assert [t.text for t in parse_query("预算 budget")] == ["预算", "budget"]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("预算", ["b2", "b1"]),  # a two-character word; newest first
        ("预算已下发", ["b1"]),  # a phrase
        ("预算已下", ["b1"]),
        ("周会", ["w2", "w1"]),
        ("budget", ["e2", "e1"]),  # English, case and width folded
        ("BUDGET review", ["e1"]),  # every term
        ("预", ["b3", "b2", "b1"]),  # one character: grams that begin with it
        ("下单 预算", ["b2"]),
        ("不存在的词", []),
    ],
)
def test_search_finds_words_and_phrases(
    searchable: sa.Engine, query: str, found: list[str]
) -> None:
    assert ids(search_messages(searchable, query)) == found


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"2026-{day.replace(' ', 'T')}:00+08:00")


#: (query, filters, found): --group, --since (inclusive), --until (exclusive), --limit
FILTERS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("周会", {"groups": ["mkt"]}, ["w2"]),
    ("周会", {"groups": ["proj"]}, ["w1"]),
    ("周会", {"groups": ["proj", "mkt"]}, ["w2", "w1"]),
    ("周会", {"groups": ["nobody"]}, []),
    ("预算", {"since": at("11-03 00:00"), "until": at("11-06 00:00")}, ["b2"]),
    ("预算", {"since": at("11-03 10:00")}, ["b2"]),  # the exact second: inclusive
    ("预算", {"until": at("11-03 10:00")}, ["b1"]),  # the exact second: exclusive
    ("预算", {"since": at("11-03 10:00") + timedelta(microseconds=1)}, []),
    ("预算", {"until": at("11-02 10:00") + timedelta(microseconds=1)}, ["b1"]),
    ("预算", {"limit": 1}, ["b2"]),
    ("预算", {"limit": 0}, []),
    ("预算", {"groups": ["mkt"], "since": at("11-01 00:00")}, []),
]


@pytest.mark.parametrize(("query", "filters", "found"), FILTERS)
def test_filters(
    searchable: sa.Engine, query: str, filters: dict[str, Any], found: list[str]
) -> None:
    assert ids(search_messages(searchable, query, **filters)) == found


@pytest.mark.parametrize("limit", [1, 3, 11, 12, 50])
def test_messages_of_the_same_second(searchable: sa.Engine, limit: int) -> None:
    """Twelve messages sent in the same second: the limit takes any of them, each once."""
    hits = ids(search_messages(searchable, "闲聊", limit=limit))
    assert len(hits) == len(set(hits)) == min(limit, 12)
    assert set(hits) <= {f"f{i}" for i in range(12)}


@pytest.mark.parametrize("groups", [None, ["mkt"], ["proj", "mkt"]])
@pytest.mark.parametrize("query", ["预算", "预", "budget review"])
def test_the_index_answers_not_a_table_scan(
    searchable: sa.Engine, query: str, groups: list[str] | None
) -> None:
    search_messages(searchable, "预算")  # builds the index
    plan = "\n".join(explain(searchable, query, groups=groups))
    if searchable.dialect.name == "postgresql":
        assert "ix_archive_search_grams" in plan.split("-- older entries (GIN)")[1], plan
        assert "Seq Scan on archive_search" not in plan, plan
        assert "Seq Scan on messages" not in plan, plan
    else:
        assert "VIRTUAL TABLE INDEX" in plan and "archive_search_fts" in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # read in id (time) order: no sort of the matches
        assert "SCAN archive_search " not in plan + " " and "SCAN messages" not in plan, plan


def _ingest(engine: sa.Engine, folder: Path, *messages: dict[str, Any]) -> None:
    write_bundle(folder, messages=list(messages))
    assert run_ingest(open_bundle(folder), engine, POLICY, now=AS_OF).exit_code == 0


def _write_row(engine: sa.Engine, like: str, **changes: Any) -> None:
    """A message row written straight into the store, no ingest run (as any other writer)."""
    table = Message.__table__
    assert isinstance(table, sa.Table)
    with engine.begin() as conn:
        row = dict(
            conn.execute(sa.select(table).where(table.c.message_id == like)).mappings().one()
        )
        conn.execute(table.insert().values({**row, "ingest_run_id": None, **changes}))


def _sql(engine: sa.Engine, statement: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(statement))


#: (how a message is written after the index was built, what the search for 报销 then finds)
WRITES: list[tuple[str, Callable[[sa.Engine, Path], None], list[str]]] = [
    ("an ingest run", lambda e, p: _ingest(e, p, m("n1", "11-11 10:00", "报销新规下周生效")),
     ["n1", "x1"]),
    ("an older message ingested later",
     lambda e, p: _ingest(e, p, m("n0", "10-20 09:00", "报销旧规作废")), ["x1", "n0"]),
    ("an edit ingested", lambda e, p: _ingest(
        e, p, m("x1", "11-09 10:00", "【通知】差旅流程：电子单据", sender="u1")), []),
    ("a row without an ingest run",
     lambda e, p: _write_row(e, "x1", message_id="x9", text="报销单据补交",
                             sent_at=datetime(2026, 11, 12, 9, tzinfo=TZ)), ["x9", "x1"]),
    ("a text changed in place",
     lambda e, p: _sql(e, "UPDATE messages SET text = '报销改为电子版' WHERE message_id = 'b3'"),
     ["x1", "b3"]),
    ("a row deleted", lambda e, p: _sql(e, "DELETE FROM messages WHERE message_id = 'x1'"), []),
]  # fmt: skip


@pytest.mark.parametrize(("how", "write", "found"), WRITES, ids=[w[0] for w in WRITES])
def test_the_index_follows_every_write(
    searchable: sa.Engine,
    tmp_path: Path,
    how: str,
    write: Callable[[sa.Engine, Path], None],
    found: list[str],
) -> None:
    assert ids(search_messages(searchable, "报销")) == ["x1"]  # the index is built
    write(searchable, tmp_path / "more")
    assert ids(search_messages(searchable, "报销")) == found


@pytest.mark.parametrize(("written", "rebuilt"), [(2, False), (9, True)])
def test_a_long_queue_is_applied_by_building_again(
    searchable: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: int,
    rebuilt: bool,
) -> None:  # fmt: skip
    assert search_mod.sync_index(searchable) == len(MESSAGES)  # the first build
    monkeypatch.setattr(search_mod, "REBUILD_MIN", 1)
    monkeypatch.setattr(search_mod, "REBUILD_FRACTION", 0.25)  # of 20 entries: 5
    _ingest(searchable, tmp_path / "more",
            *[m(f"q{i}", "11-15 10:00", f"报销单{i}") for i in range(written)])  # fmt: skip
    assert search_mod.sync_index(searchable) == (len(MESSAGES) + written if rebuilt else written)
    assert sorted(ids(search_messages(searchable, "报销"))) == sorted(
        ["x1", *[f"q{i}" for i in range(written)]]
    )


def test_a_build_blocks_no_writer_and_what_they_write_is_found(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk build does not hold the store: a message written from another connection while
    the build runs goes through (on SQLite it would wait for the build's write lock, then fail
    after the busy timeout) and is found by the next search (the triggers queued it)."""
    _ingest(engine, tmp_path / "b", *MESSAGES)
    original = search_mod._everything

    def with_a_write(conn: sa.Connection) -> Iterator[list[Any]]:
        for i, batch in enumerate(original(conn)):
            if i == 0:
                _write_row(engine, "x1", message_id="x8", text="报销补充说明",
                           sent_at=datetime(2026, 11, 12, 9, tzinfo=TZ))  # fmt: skip
            yield batch

    monkeypatch.setattr(search_mod, "_everything", with_a_write)
    assert "x1" in ids(search_messages(engine, "报销"))  # the build, then the search
    assert ids(search_messages(engine, "报销")) == ["x8", "x1"]


def _queue_triggers(url: str) -> dict[str, str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            " AND name LIKE 'archive_search_q_%'"
        ).all()
    engine.dispose()
    return {str(name): str(sql) for name, sql in rows}


def test_sqlite_runs_no_queue_trigger_until_the_first_build(tmp_path: Path) -> None:
    """SQLite runs a row trigger for every row written, whatever its WHEN: a store never
    searched has none of the queue's triggers (archive_0004), so an ingest's write pays
    nothing for the index; the first build creates exactly the nine archive_0003 made, and
    from then on every write is queued (the tests above)."""
    made = f"sqlite:///{tmp_path / 'at_0003.db'}"
    upgrade(made, "archive_0003")
    expected = _queue_triggers(made)
    assert len(expected) == 9

    url = f"sqlite:///{tmp_path / 'head.db'}"
    upgrade(url)
    assert _queue_triggers(url) == {}
    engine = make_engine(url)
    _ingest(engine, tmp_path / "b", *MESSAGES)
    assert ids(search_messages(engine, "报销")) == ["x1"]  # the first build
    assert _queue_triggers(url) == expected
    _write_row(
        engine,
        "x1",
        message_id="x9",
        text="报销单补交",
        sent_at=datetime(2026, 11, 12, 9, tzinfo=TZ),
    )
    assert ids(search_messages(engine, "报销")) == ["x9", "x1"]
    engine.dispose()


@pytest.mark.parametrize("built", [False, True])
def test_archive_0004_keeps_the_triggers_of_a_built_index(tmp_path: Path, built: bool) -> None:
    """Upgrading drops the queue's triggers only from a store whose queue is off; a downgrade
    puts archive_0003's triggers back, word for word."""
    made = f"sqlite:///{tmp_path / 'at_0003.db'}"
    upgrade(made, "archive_0003")
    expected = _queue_triggers(made)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url, "store_0002")
    if built:
        engine = make_engine(url)
        _sql(engine, "INSERT INTO archive_search_state (key, value) VALUES ('queue', 1)")
        engine.dispose()
    upgrade(url, "archive_0004")
    assert _queue_triggers(url) == (expected if built else {})
    downgrade(url, "store_0002")
    assert _queue_triggers(url) == expected


def test_the_index_follows_a_pull(
    searchable: sa.Engine, slack_server: FakeSlack, tmp_path: Path
) -> None:
    assert ids(search_messages(searchable, "报销")) == ["x1"]
    slack_server.channels["C1"] = {"name": "finance", "creator": "U1"}
    slack_server.members["C1"] = ["U1"]
    slack_server.pins["C1"] = []
    slack_server.users = [{"id": "U1", "name": "lin", "real_name": "林总", "profile": {}}]
    slack_server.history["C1"] = [
        {"type": "message", "user": "U1", "text": "报销截止周五", "ts": slack_server.next_ts()}
    ]
    with SlackConnector(slack_server.base_url, SecretStr(TOKEN)) as connector:
        pulled = connector.pull("C1", None, now=AS_OF)
    assert run_ingest(pulled, searchable, POLICY, now=AS_OF).exit_code == 0
    hits = search_messages(searchable, "报销")
    assert [(h.platform, h.group_id) for h in hits] == [("wecom", "proj"), ("slack", "C1")]


def test_purged_are_not_found_restored_are_and_the_register_keeps_its_copies(
    searchable: sa.Engine, tmp_path: Path
) -> None:
    """A purge hides a message (restore window); a restore brings it back; after the window
    the message is deleted for good, and an important one is found again from the register's
    own copy (``source`` register)."""
    _ingest(searchable, tmp_path / "imp", m("r1", "11-01 10:00", "【通知】【重要】差旅报销标准调整",
                                             sender="u1"))  # fmt: skip
    assert [(h.message_id, h.source) for h in search_messages(searchable, "报销")] == [
        ("x1", "messages"), ("r1", "messages"),
    ]  # fmt: skip
    later = AS_OF + timedelta(days=10)  # both notices are older than notices.retention_days
    applied = cleanup(searchable, POLICY, later, now=later, ran_by="a", apply=True, force=True)
    assert {"x1", "r1"} <= {c.message_id for c in applied.plan.candidates}
    assert ids(search_messages(searchable, "报销")) == []  # purged: not found
    restore(searchable, applied.run_id, by="a", now=later)
    assert ids(search_messages(searchable, "报销")) == ["x1", "r1"]  # restored: found

    again = cleanup(searchable, POLICY, later, now=later, ran_by="a", apply=True, force=True)
    assert ids(search_messages(searchable, "报销")) == []
    gone = later + timedelta(days=POLICY.notices.restore_window_days + 1)
    done = cleanup(searchable, POLICY, gone, now=gone, ran_by="a", apply=True, force=True)
    assert done.deleted >= 2 and again.run_id != done.run_id
    hits = search_messages(searchable, "报销")  # deleted for good; r1 is in the register
    assert [(h.message_id, h.source, h.text) for h in hits] == [
        ("r1", "register", "【通知】【重要】差旅报销标准调整"),
    ]  # fmt: skip
    assert ids(search_messages(searchable, "报销", groups=["mkt"])) == []


# -- the commands -----------------------------------------------------------------------------

RUNNER = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sa.Engine]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    engine = make_engine(url)
    msgs = [*MESSAGES, m("imp", "11-12 09:00", "【重要】预算冻结到月底", sender="u1"),
            m("pin", "11-13 09:00", "群规：工作时间4小时内回复", sender="u1", pinned=True)]  # fmt: skip
    write_bundle(tmp_path / "b", messages=msgs)
    assert run_ingest(open_bundle(tmp_path / "b"), engine, POLICY, now=AS_OF).exit_code == 0
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", url)
    monkeypatch.setenv("GROUPOPS_SOURCES_PATH", str(tmp_path / "none.toml"))
    get_settings.cache_clear()
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def cli(*args: str, code: int = 0) -> Any:
    result = RUNNER.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if "--json" in args else result.stdout


def test_archive_commands(store: sa.Engine, tmp_path: Path) -> None:
    hits = cli("archive", "search", "预算", "--json")
    assert [h["message_id"] for h in hits] == ["imp", "b2", "b1"]
    assert set(hits[0]) >= {"group_id", "message_id", "sender", "sent_at", "text", "archived"}
    assert {h["source"] for h in hits} == {"messages"}
    assert [h["message_id"] for h in cli("archive", "search", "预算", "--since", "2026-11-03",
                                         "--until", "2026-11-06", "--json")] == ["b2"]  # fmt: skip
    assert "预算" in cli("archive", "search", "预算")

    assert cli("archive", "list", "--json") == []
    cli("archive", "update", "--as-of", "2026-11-20T18:00", "--json")
    listed = cli("archive", "list", "--group", "proj", "--json")
    assert {r["message_id"]: r["rules"] for r in listed} == {
        "imp": ["importance_marker"], "pin": ["pinned"],
    }  # fmt: skip
    assert listed[0]["sender"] == "老王" or listed[0]["sender"] == "王强"

    md = cli("archive", "export", "--group", "proj", "--month", "2026-11", "--format", "md")
    assert "预算冻结到月底" in md and "王强" in md and "importance marker" in md
    lines = cli("archive", "export", "--group", "proj", "--month", "2026-11", "--format", "jsonl")
    assert [json.loads(x)["message_id"] for x in lines.splitlines()] == ["imp", "pin"]
    assert (
        cli("archive", "export", "--group", "proj", "--month", "2026-10", "--format", "jsonl") == ""
    )
    out = tmp_path / "proj.parquet"
    cli("archive", "export", "--group", "proj", "--month", "2026-11", "--format", "parquet",
        "--out", str(out))  # fmt: skip
    frame = pd.read_parquet(out)
    assert frame["message_id"].tolist() == ["imp", "pin"] and "rules" in frame
    cli("archive", "export", "--group", "proj", "--month", "2026-13", "--format", "md", code=2)


def test_the_bench_stage_on_a_small_store(
    searchable: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bench/search.py's code on a small store (its speed is measured by make bench, not here):
    every case runs, the extra messages go through the queue, the rare words are all found."""
    from bench import search as bench_search
    from bench.doc import _search

    monkeypatch.setattr(bench_search, "EXTRA", 200)
    monkeypatch.setattr(bench_search, "REPEATS", 1)
    url = searchable.url.render_as_string(hide_password=False)
    result = bench_search.run(url)
    assert (
        result["indexed"] == len(MESSAGES) and result["queued"] == result["extra_messages"] == 200
    )
    assert set(result["cases"]) == {label for label, _query, _filters in bench_search.CASES}
    assert result["cases"]["rare word"]["hits"] == 20
    assert result["cases"]["rare English"]["hits"] == 15
    assert result["cases"]["absent"]["hits"] == 0
    page = "\n".join(_search({"sqlite": {"search": result}}))
    assert "| rare word | 灰度 | — |" in page
