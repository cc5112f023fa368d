"""``make bench``: speed and peak memory of ingest (and statistics) beside floors measured in
the same run on the same bundle.

    python -m bench.run [--messages N] [--groups G] [--members M] [--write-doc]

Each stage runs in its own process (peak memory = that process's max RSS). The bundle is
generated once per size under ``bench/out/`` (gitignored). ``--write-doc`` puts the table into
``docs/performance.md`` between its ``<!-- bench -->`` markers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.generate import generate

OUT = Path("bench/out")
DOC = Path("docs/performance.md")
STAGES = ["floor_read_group", "floor_sqlite", "ingest", "reingest"]


def run_stage(stage: str, bundle: Path, work: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.stages", stage, str(bundle), str(work)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if done.returncode != 0:
        raise SystemExit(f"stage {stage} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def markdown(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    floor = results["floor_read_group"]["seconds"] + results["floor_sqlite"]["seconds"]
    ingest = results["ingest"]["seconds"]
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}: {args.messages:,} messages, {args.groups} groups, "
        f"{args.members:,} members.",
        "",
        "| stage | seconds | peak MB | notes |",
        "|---|---:|---:|---|",
    ]
    for name, res in results.items():
        extra = {k: v for k, v in res.items() if k not in ("stage", "seconds", "peak_mb")}
        notes = ", ".join(
            f"{k}={v:,}"
            if isinstance(v, int)
            else f"{k}={v}"
            if not isinstance(v, float)
            else f"{k}={v:.2f}"
            for k, v in extra.items()
        )
        lines.append(f"| {name} | {res['seconds']:.1f} | {res['peak_mb']:.0f} | {notes} |")
    lines += [
        "",
        f"Floor (pyarrow read + pandas groupby + bare SQLite executemany): **{floor:.1f} s**; "
        f"ingest: **{ingest:.1f} s** = **{ingest / floor:.2f}×** the floor.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--members", type=int, default=5_000)
    parser.add_argument("--write-doc", action="store_true")
    args = parser.parse_args()
    console = Console()
    bundle = OUT / f"bundle-{args.messages}-{args.groups}-{args.members}"
    if not (bundle / "messages.jsonl").exists():
        with console.status(f"generating {args.messages:,} messages…"):
            generate(bundle, messages=args.messages, groups=args.groups, members=args.members)
    work = OUT / "work"
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        with console.status(f"{stage}…"):
            results[stage] = run_stage(stage, bundle, work)
        console.print(
            f"{stage}: {results[stage]['seconds']:.1f} s, peak {results[stage]['peak_mb']:.0f} MB"
        )
    table = Table(title="benchmark")
    for col in ("stage", "seconds", "peak MB"):
        table.add_column(col, justify="right" if col != "stage" else "left")
    for name, res in results.items():
        table.add_row(name, f"{res['seconds']:.1f}", f"{res['peak_mb']:.0f}")
    console.print(table)
    report = markdown(results, args)
    console.print(report)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    if args.write_doc:
        text = DOC.read_text(encoding="utf-8")
        head, _, rest = text.partition("<!-- bench -->")
        _, _, tail = rest.partition("<!-- /bench -->")
        DOC.write_text(f"{head}<!-- bench -->\n{report}\n<!-- /bench -->{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
