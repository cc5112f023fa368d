"""Benchmark: the obligations engine on a generated bundle's messages.

``python -m bench.deadlines BUNDLE [--as-of 2026-11-20T18:00+08:00]`` (a bundle from
``bench.generate``) reads ``messages.jsonl`` into the frame shape ``load_messages`` returns and
times ``compute_obligations`` once, printing rows, seconds and the counts it found."""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow.json as paj

from groupops.db.queries import MESSAGE_COLUMNS
from groupops.deadlines.obligations import compute_obligations
from groupops.policy import Policy


def read_messages(bundle: Path) -> pd.DataFrame:
    """``messages.jsonl`` as ``load_messages`` would return it (epoch-second instants)."""
    frame = paj.read_json(bundle / "messages.jsonl").to_pandas()
    frame["sent_at"] = pd.to_datetime(frame["sent_at"], unit="s", utc=True)
    frame["mentions"] = frame["mentions"].map(lambda v: list(v) if v is not None else [])
    return frame[list(MESSAGE_COLUMNS)].sort_values(["sent_at", "message_id"], kind="stable")


def run(bundle: Path, as_of: datetime) -> dict[str, float]:
    messages = read_messages(bundle)
    started = time.perf_counter()
    ob = compute_obligations(messages, Policy(), as_of)
    seconds = time.perf_counter() - started
    return {
        "messages": len(messages),
        "seconds": round(seconds, 2),
        "items": len(ob.items),
        "overdue": len(ob.overdue),
        "tasks": len(ob.tasks),
        "violations": len(ob.violations),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--as-of", default="2026-11-20T18:00:00+08:00")
    args = parser.parse_args()
    print(run(args.bundle, datetime.fromisoformat(args.as_of)))


if __name__ == "__main__":
    main()
