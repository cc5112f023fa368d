"""Benchmark: ``groupops archive search`` over a store of generated messages (1M in ``make
bench``), on SQLite (FTS5) and PostgreSQL (GIN).

``python -m bench.search STORE_URL`` (a store ``bench.run`` ingested):

1. builds the search index once in bulk (timed: ``index_seconds``);
2. ingests :data:`EXTRA` messages (English, meeting words, rare words, spread over the store's
   span: the generator's own chatter is ten Chinese words and eight verbs) and times the
   search that indexes them through the queue the triggers filled (``queue_seconds``);
3. times each case of :data:`CASES` (common two-character words with tens of thousands of
   hits, phrases, English words, rare words, a one-character prefix, an absent word, and the
   ``--group`` / ``--since`` / ``--until`` filters) several times and keeps the median; the
   target is under a second each.

The ``search`` stage of ``bench.run`` calls :func:`run` (``search-pg`` on the PostgreSQL copy)."""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

#: (label, query, filters): what a person types. Filters: group, days (since the store's last
#: week), so the same cases fit any generated store.
CASES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("common bigram", "预算", {}),
    ("common bigram 2", "周报", {}),
    ("common phrase", "数据日报", {}),
    ("phrase with verb", "需求评审请确认", {}),
    ("meeting word", "周会", {}),
    ("phrase", "上线时间", {}),
    ("English word", "review", {}),
    ("English words", "budget review", {}),
    ("rare word", "灰度", {}),
    ("rare English", "retrospective", {}),
    ("one character", "数", {}),
    ("absent", "不存在的词语", {}),
    ("common, one group", "预算", {"group": True}),
    ("common, last week", "预算", {"days": 7}),
    ("common, one group, last week", "预算", {"group": True, "days": 7}),
    ("rare, one group", "灰度", {"group": True}),
    ("English, last week", "review", {"days": 7}),
)
REPEATS = 5
EXTRA = 20_000
_ENGLISH = (
    "The Q4 budget review moved to Friday", "release checklist updated, please review",
    "OKR draft ready for review", "customer feedback summary attached",
    "Sprint planning at 3pm", "Please review the launch plan by EOD",
)  # fmt: skip
_CHINESE = (
    "本周周会改到周二下午", "周会纪要已上传，请大家查看", "上线时间定在下周一", "上线时间推迟一天",
    "预算已下发，请查看", "下午三点开周会",
)  # fmt: skip
_RARE = (("灰度发布安排见文档", 20), ("Sprint retrospective notes are in the wiki", 15))


def extra_messages(
    first: datetime, last: datetime, groups: list[str], *, n: int | None = None, seed: int = 11
) -> list[dict[str, Any]]:
    """``n`` canonical messages spread over [first, last]: English and meeting words, and the
    rare ones a handful of times."""
    rng = random.Random(seed)
    n = EXTRA if n is None else n
    span = (last - first).total_seconds()
    texts = [t for t, k in _RARE for _ in range(k)]
    texts += [rng.choice(_ENGLISH if i % 2 else _CHINESE) for i in range(n - len(texts))]
    rng.shuffle(texts)
    return [
        {
            "platform": "wecom", "group_id": rng.choice(groups), "message_id": f"s{i:07d}",
            "sender_id": "u00001", "sent_at": (first + timedelta(seconds=rng.random() * span))
            .isoformat(), "kind": "text", "text": text, "reply_to": None, "mentions": [],
            "mention_all": False, "pinned": False,
        }
        for i, text in enumerate(texts)
    ]  # fmt: skip


def _ingest_extra(engine: Any, first: datetime, last: datetime, groups: list[str]) -> int:
    from groupops.ingest.bundle import open_bundle
    from groupops.ingest.pipeline import run_ingest
    from groupops.policy import Policy

    messages = extra_messages(first, last, groups)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "messages.jsonl").write_text(
            "\n".join(json.dumps(m, ensure_ascii=False) for m in messages) + "\n", "utf-8"
        )
        summary = run_ingest(open_bundle(folder), engine, Policy(), now=last + timedelta(days=1))
    return int(summary.total("loaded"))


def run(url: str, *, limit: int = 50) -> dict[str, Any]:
    import sqlalchemy as sa

    from groupops.archive.search import search_messages, sync_index
    from groupops.db import make_engine, upgrade

    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.text("select count(*) from messages")).scalar_one()
            groups = sorted(conn.execute(sa.text("select group_id from groups")).scalars())
            first, last = (
                conn.execute(sa.select(sa.func.min(sa.column("sent_at")),
                                       sa.func.max(sa.column("sent_at")))
                             .select_from(sa.table("messages"))).one()
            )  # fmt: skip
        first, last = (_aware(first), _aware(last))
        started = time.perf_counter()
        indexed = sync_index(engine)
        index_seconds = time.perf_counter() - started
        extra = _ingest_extra(engine, first, last, groups)
        started = time.perf_counter()
        queued = sync_index(engine)
        queue_seconds = time.perf_counter() - started
        group = groups[len(groups) // 2]
        cases: dict[str, dict[str, Any]] = {}
        for label, query, filters in CASES:
            kwargs: dict[str, Any] = {"limit": limit}
            if filters.get("group"):
                kwargs["groups"] = [group]
            if filters.get("days"):
                kwargs["since"] = last - timedelta(days=filters["days"])
                kwargs["until"] = last
            times, found = [], 0
            for _ in range(REPEATS):
                t0 = time.perf_counter()
                found = len(search_messages(engine, query, **kwargs))
                times.append(time.perf_counter() - t0)
            cases[label] = {"query": query, **filters,
                            "median_seconds": round(statistics.median(times), 4),
                            "max_seconds": round(max(times), 4), "hits": found}  # fmt: skip
    finally:
        engine.dispose()
    slowest = max(c["median_seconds"] for c in cases.values())
    return {
        "seconds": slowest,  # the slowest case's median: what bench.run reports
        "backend": engine.dialect.name,
        "messages": int(stored),
        "indexed": indexed,
        "index_seconds": round(index_seconds, 2),
        "extra_messages": extra,
        "queued": queued,
        "queue_seconds": round(queue_seconds, 2),
        "cases": cases,
        "target_seconds": 1.0,
        "met": slowest < 1.0,
    }


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", help="a store's SQLAlchemy URL (bench.run's store-N.sqlite)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.url), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
