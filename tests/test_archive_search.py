"""`groupops archive search` on SQLite (FTS5 over bigrams) and PostgreSQL (GIN over the gram
array): two-character Chinese words, longer phrases, English words, filters, the index used
(query plans), the index following ingest, purge and restore; `archive list` and `archive
export` (md, jsonl, parquet)."""

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
from typer.testing import CliRunner

from cli import app
from groupops.archive.cleanup import cleanup, restore
from groupops.archive.search import explain, grams, parse_query, search_messages
from groupops.db import make_engine, upgrade
from groupops.ingest.bundle import open_bundle
from groupops.ingest.pipeline import run_ingest
from groupops.policy import Policy
from groupops.settings import get_settings
from tests.bundles import write_bundle

TZ = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2026, 11, 20, 18, 0, tzinfo=TZ)
POLICY = Policy()


def m(
    mid: str, day: str, text: str, *, group: str = "proj", sender: str = "u2", **extra: Any
) -> dict[str, Any]:
    return {
        "platform": "wecom", "group_id": group, "message_id": mid, "sender_id": sender,
        "sent_at": f"2026-{day.replace(' ', 'T')}:00+08:00", "kind": "text", "text": text,
        "reply_to": None, "mentions": [], "mention_all": False, "pinned": False, **extra,
    }  # fmt: skip


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


def test_filters(searchable: sa.Engine) -> None:
    assert ids(search_messages(searchable, "周会", groups=["mkt"])) == ["w2"]
    since = datetime(2026, 11, 3, tzinfo=TZ)
    until = datetime(2026, 11, 6, tzinfo=TZ)
    assert ids(search_messages(searchable, "预算", since=since, until=until)) == ["b2"]
    assert ids(search_messages(searchable, "预算", limit=1)) == ["b2"]


def test_the_index_answers_not_a_table_scan(searchable: sa.Engine) -> None:
    search_messages(searchable, "预算")  # builds the index
    plan = "\n".join(explain(searchable, "预算"))
    if searchable.dialect.name == "postgresql":
        assert "ix_archive_search_grams" in plan, plan
        assert "Seq Scan on archive_search" not in plan, plan
    else:
        assert "VIRTUAL TABLE INDEX" in plan and "archive_search_fts" in plan, plan
        assert "SCAN archive_search " not in plan + " " and "SCAN messages" not in plan, plan


def test_the_index_follows_ingest_purge_and_restore(searchable: sa.Engine, tmp_path: Path) -> None:
    assert ids(search_messages(searchable, "报销")) == ["x1"]
    write_bundle(tmp_path / "more", messages=[m("n1", "11-11 10:00", "报销新规下周生效")])
    assert run_ingest(open_bundle(tmp_path / "more"), searchable, POLICY, now=AS_OF).exit_code == 0
    assert ids(search_messages(searchable, "报销")) == ["n1", "x1"]

    later = AS_OF + timedelta(days=10)  # the notice is older than notices.retention_days then
    applied = cleanup(searchable, POLICY, later, now=later, ran_by="a", apply=True, force=True)
    assert "x1" in {c.message_id for c in applied.plan.candidates}
    assert ids(search_messages(searchable, "报销")) == ["n1"]  # purged: not found
    restore(searchable, applied.run_id, by="a", now=AS_OF)
    assert ids(search_messages(searchable, "报销")) == ["n1", "x1"]


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
