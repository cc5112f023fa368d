"""Leases of running ingest runs: a run left ``running`` by a dead process becomes ``crashed``.

A run's process holds a lease on its ``ingest_runs`` row: :func:`begin_run
<groupops.ingest.pipeline.begin_run>` writes its owner (``host:pid``) and a first heartbeat,
every committed chunk renews it, and :func:`heartbeat` renews it from a thread while an entity is
being ingested (a chunk can take a while). The next run to start (and ``groupops runs list``)
calls :func:`reap_crashed`, which marks a ``running`` row ``crashed`` when

* its lease lapsed: no heartbeat for longer than the lease (``GROUPOPS_RUN_LEASE_SECONDS``), the
  rule for a process on another host; or
* its owner is a process on this host that no longer exists (killed with its worker, OOM), which
  needs no waiting.

Liveness is about processes, so heartbeats use the wall clock (UTC), not the run's ``now``
argument (which may be a replayed instant). Marking is a compare-and-set on ``status =
'running'``: two runs reaping together mark each row once.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from groupops.db.models import IngestRun

#: How often a running ingest renews its lease from its heartbeat thread (seconds).
HEARTBEAT_SECONDS = 30.0


def owner_id() -> str:
    """This process as a lease owner: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def wall_now() -> datetime:
    return datetime.now(UTC)


def renew(conn: sa.Connection, run_id: int) -> None:
    """Renew ``run_id``'s lease (in ``conn``'s transaction)."""
    conn.execute(
        sa.update(IngestRun)
        .where(IngestRun.id == run_id, IngestRun.status == "running")
        .values(heartbeat_at=wall_now())
    )


@contextmanager
def heartbeat(
    engine: sa.Engine, run_id: int, *, every: float = HEARTBEAT_SECONDS
) -> Iterator[None]:
    """Renew ``run_id``'s lease every ``every`` seconds from a daemon thread while the block
    runs (it dies with the process, which is the point)."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            try:
                with engine.begin() as conn:
                    renew(conn, run_id)
            except sa.exc.SQLAlchemyError:
                continue  # the store is briefly away: the next beat tries again

    thread = threading.Thread(target=beat, name=f"ingest-run-{run_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 5)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def _gone(owner: str | None) -> str | None:
    """Why ``owner`` is known to be dead on this host, or None when that cannot be told here."""
    if not owner or ":" not in owner:
        return None
    host, _, pid_text = owner.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    if pid == os.getpid() or _process_exists(pid):
        return None
    return f"its process {owner} is gone"


def reap_crashed(engine: sa.Engine, *, lease: timedelta, now: datetime | None = None) -> list[int]:
    """Mark ``running`` runs whose process is gone or whose lease lapsed as ``crashed``; their
    ids, oldest first."""
    now = now or wall_now()
    with engine.connect() as conn:
        running = conn.execute(
            sa.select(IngestRun.id, IngestRun.owner, IngestRun.heartbeat_at, IngestRun.started_at)
            .where(IngestRun.status == "running")
            .order_by(IngestRun.id)
        ).all()
    crashed: list[int] = []
    for run_id, owner, beat, started in running:
        last = beat or started
        reason = _gone(owner)
        if reason is None and last is not None and now - last > lease:
            reason = f"no heartbeat since {last.isoformat(timespec='seconds')} (lease {lease})"
        if reason is None:
            continue
        with engine.begin() as conn:
            marked = conn.execute(
                sa.update(IngestRun)
                .where(IngestRun.id == run_id, IngestRun.status == "running")
                .values(status="crashed", finished_at=now, error=f"crashed: {reason}")
            ).rowcount
        if marked:
            crashed.append(int(run_id))
    return crashed
