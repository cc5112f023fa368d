"""One benchmark stage per process, so each peak memory (ru_maxrss) is its own.

``python -m bench.stages STAGE BUNDLE WORKDIR`` prints one JSON object:
``{"stage", "seconds", "peak_mb", ...}``. ``seconds`` times the work only (imports and setup
excluded, and said so in ``note``).
"""

from __future__ import annotations

import json
import resource
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def floor_read_group(bundle: Path, work: Path) -> dict[str, Any]:
    """Floor for reading + grouping: pyarrow's JSON reader, then a pandas per-member groupby."""
    import pyarrow.json as pj

    start = time.perf_counter()
    table = pj.read_json(bundle / "messages.jsonl")
    frame = table.to_pandas()
    read = time.perf_counter() - start
    start = time.perf_counter()
    per_member = frame.groupby(["group_id", "sender_id"]).agg(
        messages=("message_id", "size"), first=("sent_at", "min"), last=("sent_at", "max")
    )
    group = time.perf_counter() - start
    return {
        "seconds": read + group,
        "read_seconds": read,
        "group_seconds": group,
        "rows": len(frame),
        "members": len(per_member),
    }


def floor_sqlite(bundle: Path, work: Path) -> dict[str, Any]:
    """Floor for storing: a bare SQLite executemany of the same rows, two-column primary key."""
    import pyarrow.json as pj

    frame = pj.read_json(bundle / "messages.jsonl").to_pandas()
    frame["mentions"] = frame["mentions"].map(lambda v: json.dumps(list(v)))
    cols = [
        "group_id",
        "message_id",
        "sender_id",
        "sent_at",
        "kind",
        "text",
        "reply_to",
        "mentions",
    ]
    rows = list(
        frame[cols]
        .astype(object)
        .where(frame[cols].notna(), None)
        .itertuples(index=False, name=None)
    )
    db = work / "floor.db"
    db.unlink(missing_ok=True)
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TABLE messages (group_id TEXT, message_id TEXT, sender_id TEXT, sent_at INTEGER, kind TEXT,"
        " text TEXT, reply_to TEXT, mentions TEXT, PRIMARY KEY (group_id, message_id))"
    )
    start = time.perf_counter()
    conn.executemany("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    seconds = time.perf_counter() - start
    conn.close()
    return {"seconds": seconds, "rows": len(rows), "note": "executemany + commit only"}


def _store(work: Path) -> str:
    return f"sqlite:///{work / 'groupops.db'}"


def ingest(bundle: Path, work: Path) -> dict[str, Any]:
    """groupops' validated ingest of the whole bundle into a fresh SQLite store."""
    from groupops.db import make_engine, upgrade
    from groupops.ingest import open_bundle, run_ingest
    from groupops.ingest.expectations import _context
    from groupops.policy import Policy

    (work / "groupops.db").unlink(missing_ok=True)
    upgrade(_store(work))
    engine = make_engine(_store(work))
    _context()  # GX's import and context (5-15 s) are setup, not ingest
    start = time.perf_counter()
    summary = run_ingest(open_bundle(bundle), engine, Policy())
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "loaded": summary.total("loaded"),
        "quarantined": summary.total("quarantined"),
        "note": "GX import excluded",
    }


def reingest(bundle: Path, work: Path) -> dict[str, Any]:
    """The same bundle again into the store ``ingest`` left: everything unchanged."""
    from groupops.db import make_engine
    from groupops.ingest import open_bundle, run_ingest
    from groupops.ingest.expectations import _context
    from groupops.policy import Policy

    engine = make_engine(_store(work))
    _context()
    start = time.perf_counter()
    summary = run_ingest(open_bundle(bundle), engine, Policy())
    return {
        "seconds": time.perf_counter() - start,
        "unchanged": summary.total("unchanged"),
        "loaded": summary.total("loaded"),
    }


STAGES: dict[str, Callable[[Path, Path], dict[str, Any]]] = {
    "floor_read_group": floor_read_group,
    "floor_sqlite": floor_sqlite,
    "ingest": ingest,
    "reingest": reingest,
}


def main() -> None:
    stage, bundle, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    result = STAGES[stage](bundle, work)
    print(json.dumps({"stage": stage, **result, "peak_mb": round(_peak_mb(), 1)}))


if __name__ == "__main__":
    main()
