"""Chunks prepared in a child process while the parent writes (``groupops.ingest.overlap``)
store exactly what the serial path stores.

Specification: for bundles with bad lines in several chunks and small chunk sizes, ingesting
with the child (``workers=1``) and without it (``workers=0``) leaves the same rows, the same
quarantine (file, line, field, reason, raw text) and the same run counters, on SQLite and
PostgreSQL; a re-read changes nothing either way; the child's exception is raised in the parent
with the same type and message; the child never outlives the parent. The pure parts moved out
of ``upsert`` (``keyed``) and the reader's ``skip`` are proven equal to the code they replace.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groupops.canonical import FIELDS, KEYS, Entity
from groupops.db import make_engine
from groupops.db.models import Base, IngestRun
from groupops.ingest import open_bundle, overlap, run_ingest
from groupops.ingest.limits import Limits
from groupops.ingest.normalise import id_list_json, normalise_frame
from groupops.ingest.store import content_hash, keyed
from groupops.policy import Policy
from groupops.progress import reporting
from tests.bundles import message
from tests.stored import stored
from tests.test_columnar import _bundle, _dump, lines

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
POLICY = Policy()

# Bad lines in several chunks (of 4): a broken line, an unknown group, a NUL, a future instant.
BAD_IN_SEVERAL_CHUNKS = [
    *(_dump(message(n)) for n in range(3)),
    "{broken",
    *(_dump(message(n, group="mkt")) for n in range(3, 9)),
    _dump(message(9, group="nope")),
    _dump(message(10, text="a\u0000b")),
    *(_dump(message(n, sender="u2")) for n in range(11, 17)),
    _dump(message(17, sent_at="2099-01-01T00:00:00+08:00")),
    _dump(message(3, group="mkt", text="the same key again")),  # a duplicate key
    "",
    *(_dump(message(n)) for n in range(18, 23)),
]


def _empty(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


def _runs(url: str) -> list[tuple[Any, ...]]:
    engine = make_engine(url)
    r = IngestRun
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(r.status, r.loaded, r.updated, r.unchanged, r.quarantined, r.watermark)
            .order_by(r.id)
        ).all()  # fmt: skip
    engine.dispose()
    return [tuple(row) for row in rows]


def _ingest(url: str, bundle: Path, workers: int, chunk_size: int, **kw: Any) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        summary = run_ingest(open_bundle(bundle), engine, POLICY, now=NOW, chunk_size=chunk_size,
                             workers=workers, **kw)  # fmt: skip
    finally:
        engine.dispose()
    return summary.as_dict()


def _both_ways(url: str, bundle: Path, chunk_size: int, again: Path | None = None) -> list[Any]:
    """What the serial path and the child's path each leave in an emptied store: the summaries,
    the tables, the quarantine (with files) and the runs; ``again``: a second bundle read on top
    (forced, so every chunk is read and compared)."""
    results = []
    for workers in (0, 1):
        _empty(url)
        summaries = [_ingest(url, bundle, workers, chunk_size)]
        if again is not None:
            summaries.append(_ingest(url, again, workers, chunk_size, force=True))
        summaries = [{k: v for k, v in s.items() if k != "run_id"} for s in summaries]
        results.append((summaries, *stored(url, source_file=True), _runs(url)))
    return results


@pytest.mark.parametrize("chunk_size", [1, 4, 100])
def test_the_child_stores_what_the_serial_path_stores(
    db_url: str, tmp_path: Path, chunk_size: int
) -> None:
    bundle = _bundle(tmp_path / "bundle", BAD_IN_SEVERAL_CHUNKS)
    edited = [line.replace('"text": "', '"text": "edited ') for line in BAD_IN_SEVERAL_CHUNKS[::2]]
    again = _bundle(tmp_path / "again", [*edited, _dump(message(99)), "{broken again"])
    serial, apart = _both_ways(db_url, bundle, chunk_size, again)
    assert serial[0] == apart[0]  # the summaries: loaded, updated, unchanged, quarantined
    pd.testing.assert_frame_equal(serial[1], apart[1])
    assert serial[2] == apart[2]
    assert serial[3] == apart[3]
    first, second = serial[0]
    assert first["quarantined"] >= 4 and first["entities"]["messages"]["loaded"] == 20
    assert second["entities"]["messages"]["updated"] == 10 and second["unchanged"] == 7


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(message_lines=lines, chunk_size=st.integers(1, 6))
def test_any_mix_of_lines_stores_the_same_with_and_without_the_child(
    tmp_path_factory: pytest.TempPathFactory, message_lines: list[str], chunk_size: int
) -> None:
    work = tmp_path_factory.mktemp("overlap")
    bundle = _bundle(work / "bundle", message_lines)
    url = f"sqlite:///{work / 'store.db'}"
    from groupops.db import upgrade

    upgrade(url)
    serial, apart = _both_ways(url, bundle, chunk_size)
    assert serial[0] == apart[0]
    pd.testing.assert_frame_equal(serial[1], apart[1])
    assert serial[2:] == apart[2:]


def _corrupt_zip(folder: Path, archive: Path) -> Path:
    """``folder`` as a stored (uncompressed) zip whose messages member's last line has one
    byte changed: reading it fails at the member's end (its CRC), after the first chunks."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, path.name)
    data = bytearray(archive.read_bytes())
    last = _dump(message(22)).encode()
    at = data.rindex(last) + last.index(b"m22") + 1
    data[at] = ord("x")
    archive.write_bytes(bytes(data))
    return archive


def test_a_failure_in_the_child_is_raised_in_the_parent_with_its_message(
    db_url: str, tmp_path: Path
) -> None:
    many = [_dump(message(n, text="x" * 200)) for n in range(100, 6000)]  # past a read block
    folder = _bundle(tmp_path / "bundle", [*BAD_IN_SEVERAL_CHUNKS[:-5], *many,
                                           *BAD_IN_SEVERAL_CHUNKS[-5:]])  # fmt: skip
    archive = _corrupt_zip(folder, tmp_path / "bundle.zip")
    raised = []
    for workers in (0, 1):
        _empty(db_url)
        engine = make_engine(db_url)
        with pytest.raises(Exception) as caught:
            run_ingest(open_bundle(archive), engine, POLICY, now=NOW, chunk_size=1000,
                       workers=workers)  # fmt: skip
        engine.dispose()
        raised.append((type(caught.value), str(caught.value), _runs(db_url),
                       stored(db_url, source_file=True)))  # fmt: skip
    serial, apart = raised
    assert serial[:3] == apart[:3]  # the same exception, the same failed run and its counters
    pd.testing.assert_frame_equal(serial[3][0], apart[3][0])  # what committed before it
    assert serial[3][1] == apart[3][1]
    assert serial[0] is zipfile.BadZipFile and "messages.jsonl" in serial[1]
    assert serial[2][0][0] == "failed" and serial[2][0][1] > 1000  # chunks before it stored


def test_the_child_is_killed_when_the_parent_stops_reading(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = _bundle(tmp_path / "bundle", BAD_IN_SEVERAL_CHUNKS)
    started: list[overlap.PreparingChild] = []
    start = overlap.PreparingChild.__init__

    def remember(self: overlap.PreparingChild) -> None:
        start(self)
        started.append(self)

    monkeypatch.setattr(overlap.PreparingChild, "__init__", remember)

    def interrupt(label: str, done: int, total: int | None) -> None:
        if label == "messages":
            raise KeyboardInterrupt

    engine = make_engine(db_url)
    with reporting(interrupt), pytest.raises(KeyboardInterrupt):
        run_ingest(open_bundle(bundle), engine, POLICY, now=NOW, chunk_size=2, workers=1)
    engine.dispose()
    assert started
    assert all(child._process.poll() is not None for child in started)


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in "ZX"


def test_the_child_ends_when_its_parent_dies(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import os, signal, sys
        from groupops.ingest.overlap import PreparingChild
        child = PreparingChild()
        print(child._process.pid, flush=True)
        sys.stdin.readline()
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None and parent.stdin is not None
    pid = int(parent.stdout.readline())
    time.sleep(0.5)
    assert not _gone(pid)
    parent.stdin.write("\n")
    parent.stdin.flush()
    assert parent.wait(10) == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if not _gone(pid):
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the preparing child outlived its parent")


# --- the pure parts, against the code they replace -------------------------------------------


def _reference_keyed(entity: Entity, frame: pd.DataFrame) -> tuple[Any, ...]:
    """What ``upsert`` did inline before ``keyed`` (2026-12-01)."""
    keys = list(KEYS[entity])
    frame = frame.sort_values(keys, kind="stable", ignore_index=True)
    ids_json = {s.name: id_list_json(frame[s.name]) for s in FIELDS[entity] if s.type == "ids"}
    hashes = content_hash(entity, frame, ids_json).to_numpy()
    return frame, ids_json, hashes


@settings(max_examples=40, deadline=None)
@given(message_lines=st.lists(st.sampled_from(BAD_IN_SEVERAL_CHUNKS[:9]), max_size=12))
def test_keyed_is_what_upsert_did_inline(message_lines: list[str]) -> None:
    from groupops.ingest.bundle import parse_line
    from groupops.ingest.limits import bounded_lines
    from groupops.ingest.normalise import normalise

    text = "".join(line + "\n" for line in message_lines).encode()
    records = [parse_line("messages", "m.jsonl", line, Limits())
               for line in bounded_lines(io.BytesIO(text), Limits())]  # fmt: skip
    frame = normalise("messages", [r for r in records if r is not None], POLICY.tz).frame
    frame = frame.iloc[::-1].reset_index(drop=True)  # out of key order
    made = keyed("messages", frame)
    frame_ref, ids_ref, hashes_ref = _reference_keyed("messages", frame)
    pd.testing.assert_frame_equal(made.frame, frame_ref)
    assert made.ids_json == ids_ref
    np.testing.assert_array_equal(made.hashes, hashes_ref)


def _same_chunks(left: list[Any], right: list[Any]) -> None:
    assert len(left) == len(right)
    for a, b in zip(left, right, strict=True):
        assert type(a) is type(b)
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b)
        else:
            assert a == b


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    message_lines=lines,
    size=st.integers(1, 6),
    skip=st.integers(0, 4),
    columnar=st.booleans(),
    max_file=st.sampled_from([None, 1024, 1500]),
)
def test_skipping_chunks_gives_the_chunks_after_them(
    tmp_path_factory: pytest.TempPathFactory,
    message_lines: list[str],
    size: int,
    skip: int,
    columnar: bool,
    max_file: int | None,
) -> None:
    bundle = _bundle(tmp_path_factory.mktemp("skip"), message_lines)
    limits = Limits() if max_file is None else Limits(max_file_bytes=max_file)
    source = open_bundle(bundle, limits, columnar=columnar)
    every = list(source.chunks("messages", size))
    _same_chunks(list(source.chunks("messages", size, skip=skip)), every[skip:])


@pytest.mark.parametrize(
    ("workers", "size", "cpus", "idle", "apart"),
    [
        (0, 64 << 20, 2, 2.0, False),  # switched off
        (None, 64 << 20, 2, 2.0, True),  # large, two CPUs, both idle
        (None, 64 << 20, 2, 1.5, True),  # half a CPU busy elsewhere
        (None, 64 << 20, 2, 1.0, False),  # one CPU busy elsewhere: the two would share one
        (None, 64 << 20, 8, 0.4, False),  # a big machine, busy
        (None, 64 << 20, 2, None, True),  # no /proc/stat: as before
        (None, 64 << 20, 1, 2.0, False),  # one usable CPU: nothing to overlap with
        (None, 1 << 20, 2, 2.0, False),  # small: the child's start would not pay
        (1, 1 << 10, 1, 0.0, True),  # asked for, whatever the load
    ],
)
def test_when_chunks_are_prepared_apart(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers: int | None,
    size: int,
    cpus: int,
    idle: float | None,
    apart: bool,
) -> None:
    bundle = _bundle(tmp_path / "bundle", [_dump(message(1))])
    source = open_bundle(bundle)
    monkeypatch.setattr(source, "apart_bytes", lambda entity: size)
    monkeypatch.setattr(overlap, "usable_cpus", lambda: cpus)
    monkeypatch.setattr(overlap, "idle_cpus", lambda: idle)
    assert overlap.prepares_apart(source, "messages", workers) is apart


STAT = """cpu  {user} 7 {system} {idle} {iowait} 0 3 {steal} 11 0
cpu0 1 2 3 4 5 6 7 8 9 10
cpu1 1 2 3 4 5 6 7 8 9 10
intr 12345
"""


@pytest.mark.parametrize(
    ("first", "second", "idle"),
    [
        # 200 ticks in all between the reads (2 CPUs, 1 s), 150 of them idle or iowait
        ({"user": 100, "system": 50, "idle": 1000, "iowait": 10, "steal": 0},
         {"user": 140, "system": 60, "idle": 1140, "iowait": 20, "steal": 0}, 1.5),
        # stolen ticks count as busy; the guest fields (counted in user already) are left out
        ({"user": 0, "system": 0, "idle": 0, "iowait": 0, "steal": 0},
         {"user": 0, "system": 0, "idle": 100, "iowait": 0, "steal": 100}, 1.0),
        ({"user": 5, "system": 5, "idle": 5, "iowait": 5, "steal": 5},
         {"user": 105, "system": 105, "idle": 5, "iowait": 5, "steal": 5}, 0.0),
    ],
)  # fmt: skip
def test_idle_cpus_reads_what_the_machine_left_idle(
    monkeypatch: pytest.MonkeyPatch, first: dict[str, int], second: dict[str, int], idle: float
) -> None:
    reads = iter([STAT.format(**first), STAT.format(**second)])
    monkeypatch.setattr(overlap, "_read_stat", lambda: next(reads))
    assert overlap.idle_cpus(0) == pytest.approx(idle)


@pytest.mark.parametrize("text", [None, "", "intr 1 2 3\n", "cpu 1 2 x 4 5 6 7 8\n", "cpu 1 2\n"])
def test_idle_cpus_is_unknown_without_a_cpu_line(
    monkeypatch: pytest.MonkeyPatch, text: str | None
) -> None:
    monkeypatch.setattr(overlap, "_read_stat", lambda: text)
    assert overlap.idle_cpus(0) is None


def test_idle_cpus_on_this_machine_is_between_none_and_all() -> None:
    idle = overlap.idle_cpus(0.05)
    if idle is None:
        pytest.skip("no /proc/stat here")
    assert 0.0 <= idle <= (os.cpu_count() or 1) + 1e-9


def test_other_sources_are_prepared_here(tmp_path: Path) -> None:
    class Records:
        name, format = "records", "canonical"

    assert not overlap.prepares_apart(Records(), "messages", 1)


def test_normalise_frame_survives_the_pipe() -> None:
    """The pickle the child sends (protocol 5, buffers out of band) gives the frame back."""
    text = "".join(_dump(message(n, text=f"第{n}条")) + "\n" for n in range(5))
    from groupops.ingest.columnar import read_columnar
    from groupops.ingest.limits import bounded_lines

    frame = read_columnar("messages", "m.jsonl", list(bounded_lines(io.BytesIO(text.encode()),
                                                                    Limits())))  # fmt: skip
    assert frame is not None
    normal = normalise_frame("messages", frame, POLICY.tz).frame
    made = keyed("messages", normal)
    prepared = overlap.Prepared(made.frame, [], made)
    read, write = os.pipe()
    with os.fdopen(write, "wb") as out:
        overlap._send(out, overlap._CHUNK, prepared)
    with os.fdopen(read, "rb") as inp:
        kind, back = overlap._receive(inp)
    assert kind == overlap._CHUNK and isinstance(back, overlap.Prepared)
    assert back.keyed is not None
    pd.testing.assert_frame_equal(back.valid, prepared.valid)
    assert back.valid is back.keyed.frame
    np.testing.assert_array_equal(back.keyed.hashes, made.hashes)
