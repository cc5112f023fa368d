"""Overlapping runs into one store all succeed with the right rows: ingests of overlapping input
started together (threads and separate processes, SQLite and PostgreSQL) end ``clean``, the
store holds exactly the union of their input, and every row is counted as loaded by exactly one
of them. A run left ``running`` by a dead process is marked ``crashed`` by the next run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli import app
from groupops.db import make_engine
from groupops.db.leases import reap_crashed
from groupops.db.models import Group, IngestRun, Member, Message
from groupops.ingest import open_bundle, run_ingest
from groupops.ingest.pipeline import begin_run
from groupops.policy import Policy
from groupops.settings import get_settings
from tests.bundles import GROUPS, message, write_bundle

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]


def _messages(numbers: range, edit: str = "") -> list[dict[str, object]]:
    groups = [g["group_id"] for g in GROUPS]
    return [
        message(n, group=str(groups[n % len(groups)]), text=f"第{n}条消息{edit}") for n in numbers
    ]


def _bundles(tmp_path: Path) -> list[tuple[Path, range]]:
    """Three inputs overlapping pairwise (and one the same as another)."""
    spans = [range(0, 900), range(300, 1200), range(0, 900), range(600, 1500)]
    return [
        (write_bundle(tmp_path / f"b{i}", messages=_messages(s)), s) for i, s in enumerate(spans)
    ]


def _stored(engine: sa.Engine) -> tuple[set[str], int, int]:
    with engine.connect() as conn:
        ids = set(conn.execute(sa.select(Message.message_id)).scalars())
        groups = conn.execute(sa.select(sa.func.count()).select_from(Group)).scalar_one()
        members = conn.execute(sa.select(sa.func.count()).select_from(Member)).scalar_one()
    return ids, groups, members


def _runs(engine: sa.Engine) -> list[tuple[str, int, int, int]]:
    with engine.connect() as conn:
        return [
            (r.status, r.loaded, r.updated, r.unchanged)
            for r in conn.execute(sa.select(IngestRun).order_by(IngestRun.id))
        ]


def _check(engine: sa.Engine, bundles: list[tuple[Path, range]]) -> None:
    expected = {f"m{n}" for _path, span in bundles for n in span}
    ids, groups, members = _stored(engine)
    assert ids == expected
    assert (groups, members) == (len(GROUPS), 3)
    runs = _runs(engine)
    assert [status for status, *_ in runs] == ["clean"] * len(bundles)
    # Every stored row was loaded by exactly one run (2 groups + 3 members + 2 memberships).
    assert sum(loaded for _s, loaded, _u, _n in runs) == len(expected) + 2 + 3 + 2
    assert sum(updated for _s, _l, updated, _n in runs) == 0
    read = sum(len(span) + 7 for _p, span in bundles)
    assert sum(loaded + unchanged for _s, loaded, _u, unchanged in runs) == read


def test_overlapping_ingests_in_threads_all_succeed(db_url: str, tmp_path: Path) -> None:
    bundles = _bundles(tmp_path)
    barrier = threading.Barrier(len(bundles))
    errors: list[BaseException] = []

    def ingest(path: Path) -> None:
        engine = make_engine(db_url)
        try:
            source = open_bundle(path)
            barrier.wait(timeout=60)
            # Small chunks: many short transactions interleave with the other runs'.
            run_ingest(source, engine, Policy(), now=NOW, chunk_size=100)
        except BaseException as exc:  # asserted below with the others
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=ingest, args=(path,)) for path, _span in bundles]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert errors == []
    engine = make_engine(db_url)
    try:
        _check(engine, bundles)
    finally:
        engine.dispose()


def test_overlapping_ingests_in_processes_all_succeed(db_url: str, tmp_path: Path) -> None:
    """Separate `groupops ingest` processes, as separate workers would run them."""
    bundles = _bundles(tmp_path)
    env = {**os.environ, "GROUPOPS_DATABASE_URL": db_url, "GROUPOPS_CHUNK_SIZE": "100"}
    env.pop("PREFECT_API_URL", None)
    exe = str(Path(sys.executable).with_name("groupops"))
    procs = [
        subprocess.Popen(
            [exe, "ingest", str(path), "--json"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path, _span in bundles
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0] * len(bundles), [err for _o, err in outs]
    assert {json.loads(out)["status"] for out, _err in outs} == {"clean"}
    engine = make_engine(db_url)
    try:
        _check(engine, bundles)
    finally:
        engine.dispose()


def test_an_edit_racing_an_insert_is_kept(db_url: str, tmp_path: Path) -> None:
    """The same keys with different content from two runs at once: both succeed and the store
    holds one complete version of each message (whichever committed last), nothing twice."""
    old = write_bundle(tmp_path / "old", messages=_messages(range(400)))
    new = write_bundle(tmp_path / "new", messages=_messages(range(400), edit="（已编辑）"))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def ingest(path: Path) -> None:
        engine = make_engine(db_url)
        try:
            source = open_bundle(path)
            barrier.wait(timeout=60)
            run_ingest(source, engine, Policy(), now=NOW, chunk_size=50)
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=ingest, args=(p,)) for p in (old, new)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert errors == []
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            texts = dict(conn.execute(sa.select(Message.message_id, Message.text)).all())
        assert set(texts) == {f"m{n}" for n in range(400)}
        assert all(t in (f"第{n}条消息", f"第{n}条消息（已编辑）") for n, t in
                   ((int(k[1:]), v) for k, v in texts.items()))  # fmt: skip
        runs = _runs(engine)
        assert [s for s, *_ in runs] == ["clean", "clean"]
        assert sum(loaded for _s, loaded, _u, _n in runs) == 400 + 7
    finally:
        engine.dispose()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_run_left_running_by_a_dead_process_is_marked_crashed_by_the_next(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    wall = datetime.now(UTC)
    with engine.begin() as conn:
        killed, remote_stale, remote_alive, ours = (
            conn.execute(
                sa.insert(IngestRun)
                .values(source=f"s{i}", format="canonical", status="running", started_at=NOW,
                        heartbeat_at=beat, owner=owner)
                .returning(IngestRun.id)
            ).scalar_one()
            for i, (owner, beat) in enumerate([
                (f"{socket.gethostname()}:{_dead_pid()}", wall),  # killed just now, this host
                ("other-host:123", wall - timedelta(minutes=30)),  # silent past the lease
                ("other-host:456", wall - timedelta(seconds=20)),  # another host, beating
                (f"{socket.gethostname()}:{os.getpid()}", wall),  # this very process
            ])
        )  # fmt: skip

    monkeypatch.setenv("GROUPOPS_RUN_LEASE_SECONDS", "300")
    get_settings.cache_clear()
    try:
        new = begin_run(engine, "next", "canonical", now=NOW)
    finally:
        get_settings.cache_clear()
    with engine.connect() as conn:
        status = dict(conn.execute(sa.select(IngestRun.id, IngestRun.status)).all())
        errors = dict(conn.execute(sa.select(IngestRun.id, IngestRun.error)).all())
    assert status == {
        killed: "crashed",
        remote_stale: "crashed",
        remote_alive: "running",
        ours: "running",
        new: "running",
    }
    assert "is gone" in errors[killed] and "no heartbeat since" in errors[remote_stale]
    # Reaping twice marks nothing again.
    assert reap_crashed(engine, lease=timedelta(minutes=5)) == []


def test_runs_list_shows_crashed_runs(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(IngestRun).values(
                source="killed-mid-ingest", format="canonical", status="running",
                started_at=NOW, heartbeat_at=datetime.now(UTC),
                owner=f"{socket.gethostname()}:{_dead_pid()}",
            )
        )  # fmt: skip
    engine.dispose()
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "120")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["runs", "list", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    (run,) = json.loads(result.stdout)
    assert (run["source"], run["status"]) == ("killed-mid-ingest", "crashed")
    assert "is gone" in run["error"]
