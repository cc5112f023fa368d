"""``make bench``'s code at a tiny scale: every stage runs, the counts add up, and
docs/performance.md's text is rendered from the results. (Speed is measured only by
``make bench`` itself, never here: nothing below looks at a second.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import run as bench
from bench.doc import render

ROOT = Path(__file__).resolve().parents[1]
MESSAGES = 3_000


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("bench")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PREFECT_API_URL", None)
    subprocess.run(
        [sys.executable, "-m", "bench.run", "--scale", str(MESSAGES), "--skip-postgres",
         "--skip-peer", "--skip-commands", "--skip-search", "--no-doc"],
        cwd=work, env=env, check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    loaded: dict[str, Any] = json.loads((work / "bench/out/results.json").read_text("utf-8"))
    return loaded


@pytest.mark.parametrize(
    ("stage", "field", "expected"),
    [
        ("floor-read", "rows", MESSAGES),
        ("floor-sqlite", "rows", MESSAGES),
        ("stats", "messages", MESSAGES),
        ("reingest", "loaded", 0),
        ("reingest", "updated", 0),
        ("reingest", "quarantined", 0),
        ("incremental", "loaded", bench.INCREMENTAL_MESSAGES),
        ("incremental", "updated", 0),
    ],
)
def test_stage_counts(result: dict[str, Any], stage: str, field: str, expected: int) -> None:
    assert result["sqlite"][stage][field] == expected


def test_reingest_leaves_every_record_of_the_first_ingest_unchanged(
    result: dict[str, Any],
) -> None:
    first, again = result["sqlite"]["ingest"], result["sqlite"]["reingest"]
    assert first["loaded"] > MESSAGES  # messages plus groups, members, memberships
    assert again["unchanged"] == first["loaded"] + first["updated"]


@pytest.mark.parametrize(
    ("ratio", "numerator", "denominator"),
    [
        ("factor", "ours_seconds", "floor_seconds"),
        ("cpu_factor", "ours_cpu", "floor_cpu"),
    ],
)
def test_verdict_ratios_are_groupops_over_the_floor(
    result: dict[str, Any], ratio: str, numerator: str, denominator: str
) -> None:
    v = result["verdict"]
    assert v[ratio] == pytest.approx(v[numerator] / v[denominator])


@pytest.mark.parametrize(
    "line",
    [
        "| 3,000 messages, ingest + statistics ≤ 2× the floor (SQLite) |",
        "| re-ingest of the unchanged bundle ≤ 1× the floor |",
        "| incremental 10,000-message ingest into the full store ≤ 5 s of work |",
        "| PostgreSQL (`COPY`) | | | | not measured: skipped (--skip-postgres) |",
        "| whole process against chat-analytics | | | | not run (--skip-peer) |",
        "Not measured in this run (--skip-search)",
        "The biggest step, **",
    ],
)
def test_the_page_names_every_target(result: dict[str, Any], line: str) -> None:
    assert line in render(result)


def test_the_page_shows_the_machine_speed(result: dict[str, Any]) -> None:
    start, end = result["calibration"]
    assert start > 0 and end > 0
    assert f"took {start:.2f} s of CPU at the start of the run and {end:.2f} s" in render(result)


def test_the_page_shows_the_measured_ratio(result: dict[str, Any]) -> None:
    assert f"**{result['verdict']['factor']:.2f}×**" in render(result)
