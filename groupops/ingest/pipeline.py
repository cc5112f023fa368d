"""The validated, idempotent ingest of any :class:`~groupops.canonical.Source`.

Per entity, in load order, records stream in chunks of ``chunk_size``: normalise → validate
(Great Expectations) → upsert the good rows → quarantine the rest. Each chunk commits on its own,
together with the run's counters, so memory is bounded by the chunk and a crash loses nothing
already committed (and a re-run is idempotent).

The Prefect flow (``flows/ingest_activity.py``) calls :func:`begin_run`,
:func:`ingest_entity` for each entity and :func:`finish_run` as tasks; :func:`run_ingest` does
the same in one call for scripts and tests.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pandas as pd
import sqlalchemy as sa

from groupops.canonical import Entity, Source, source_entities
from groupops.db import session_scope
from groupops.db.bulk import gc_frozen
from groupops.db.leases import heartbeat, owner_id, reap_crashed, wall_now
from groupops.db.models import IngestRun
from groupops.ingest.chunking import CHUNK_RAW_CHARS as CHUNK_RAW_CHARS
from groupops.ingest.chunking import source_chunks as source_chunks
from groupops.ingest.expectations import Bounds, Validator
from groupops.ingest.fingerprint import (
    Fingerprint,
    begin_file,
    complete_file,
    forget_others,
    rules_digest,
    skippable,
)
from groupops.ingest.limits import Limits
from groupops.ingest.overlap import Job, Prepared, PreparingChild, prepare, prepares_apart
from groupops.ingest.store import (
    UpsertCounts,
    known_groups,
    quarantine,
    refresh_planner_stats,
    storable,
    upsert,
)
from groupops.policy import Policy
from groupops.progress import report
from groupops.settings import get_settings

DEFAULT_CHUNK_SIZE = 100_000
T = TypeVar("T")


@dataclass
class EntitySummary:
    entity: Entity
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0

    @property
    def read(self) -> int:
        return self.loaded + self.updated + self.unchanged + self.quarantined


@dataclass
class IngestSummary:
    run_id: int
    source: str
    format: str
    status: str
    entities: list[EntitySummary] = field(default_factory=list)
    watermark: datetime | None = None

    def total(self, name: str) -> int:
        return sum(int(getattr(e, name)) for e in self.entities)

    @property
    def exit_code(self) -> int:
        """0 when everything loaded cleanly, 2 when anything went to quarantine."""
        return 2 if self.total("quarantined") else 0

    def as_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "source": self.source,
            "format": self.format,
            "status": self.status,
            "watermark": self.watermark.isoformat() if self.watermark else None,
            **{k: self.total(k) for k in ("loaded", "updated", "unchanged", "quarantined")},
            "entities": {
                e.entity: {
                    "loaded": e.loaded,
                    "updated": e.updated,
                    "unchanged": e.unchanged,
                    "quarantined": e.quarantined,
                }
                for e in self.entities
            },
        }


def plausible_bounds(policy: Policy, now: datetime) -> Bounds:
    earliest = datetime(policy.ingest.earliest_year, 1, 1, tzinfo=policy.tz)
    return Bounds.between(earliest, now + timedelta(days=policy.ingest.max_future_days))


def begin_run(engine: sa.Engine, source: str, format_: str, *, now: datetime) -> int:
    """Record a new ingest run holding its lease (:mod:`groupops.db.leases`); its id.
    Runs left ``running`` by a dead process are marked ``crashed`` first."""
    reap_crashed(engine, lease=timedelta(seconds=get_settings().run_lease_seconds))
    with engine.begin() as conn:
        run_id = conn.execute(
            sa.insert(IngestRun)
            .values(
                source=storable(source),
                format=format_,
                status="running",
                started_at=now,
                loaded=0,
                updated=0,
                unchanged=0,
                quarantined=0,
                heartbeat_at=wall_now(),
                owner=owner_id(),
            )
            .returning(IngestRun.id)
        ).scalar_one()
    return int(run_id)


def ingest_entity(
    engine: sa.Engine,
    source: Source,
    entity: Entity,
    policy: Policy,
    *,
    run_id: int,
    now: datetime,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    validator: Validator | None = None,
    force: bool = False,
    workers: int | None = None,
) -> EntitySummary:
    """Stream one entity of ``source`` into the store (see the module docstring).

    A file this store already read completely and cleanly, unchanged since under the same
    rules, is not read again: its records count as unchanged (:mod:`groupops.ingest.fingerprint`;
    ``force`` reads it anyway).

    Chunks are prepared (read, normalised, validated) and written one after the other, or, for
    a large file on two usable CPUs, prepared in a child process while the parent writes the
    previous one (:mod:`groupops.ingest.overlap`; ``workers``: ``GROUPOPS_INGEST_WORKERS`` when
    ``None``; 0 never, 1 always when the source can). A thread was measured slower: the GIL
    serialises the pandas work and starves the writer."""
    summary = EntitySummary(entity)
    fingerprint_of = getattr(source, "fingerprint", None)
    fp: Fingerprint | None = fingerprint_of(entity) if fingerprint_of is not None else None
    file_id: int | None = None
    if fp is not None:
        limits = getattr(source, "limits", None)
        rules = rules_digest(policy, limits if isinstance(limits, Limits) else Limits())
        if not force:
            with engine.connect() as conn:
                recorded = skippable(conn, entity, fp, rules, now)
            if recorded is not None:
                summary.unchanged = recorded.records
                with engine.begin() as conn:
                    _add_to_run(conn, run_id, UpsertCounts(unchanged=recorded.records), 0,
                                recorded.watermark)  # fmt: skip
                report(entity, summary.read)
                return summary
    apart = prepares_apart(source, entity, get_settings().ingest_workers if workers is None
                           else workers)  # fmt: skip
    # Started first: the child's imports overlap the fingerprint and the groups' read.
    with PreparingChild() if apart else nullcontext() as child:
        if fp is not None:
            file_id = begin_file(engine, entity, fp, rules, run_id=run_id, now=now)
        bounds = plausible_bounds(policy, now)
        groups: set[str] = set()
        if entity in ("messages", "memberships"):
            with engine.connect() as conn:  # groups load first: this set is final for the entity
                groups = known_groups(conn)
        validator = validator or get_settings().validator

        def prepared_here(skip: int = 0, stop: int | None = None) -> Iterator[Prepared]:
            chunks = itertools.islice(source_chunks(source, entity, chunk_size, skip=skip), stop)
            for chunk in chunks:
                yield prepare(entity, chunk, tz=policy.tz, bounds=bounds, groups=groups,
                              validator=validator)  # fmt: skip

        prepared_chunks: Iterator[Prepared] = prepared_here()
        if child is not None:
            # The child prepares from the second chunk on; the first is prepared here while
            # the child starts (its imports take about as long).
            child.send(Job(source, entity, chunk_size, policy.tz, bounds, frozenset(groups),
                           validator, skip=1))  # fmt: skip
            prepared_chunks = itertools.chain(prepared_here(stop=1), child)
        newest: datetime | None = None
        # The run's lease, renewed while chunks are prepared; the objects held before the loop
        # (the imported libraries') out of the collector's full collections while it builds
        # rows.
        with heartbeat(engine, run_id), gc_frozen():
            for prepared in prepared_chunks:
                counts, watermark = _store(
                    engine, entity, prepared, run_id=run_id, now=now, file_id=file_id
                )
                if watermark is not None and (newest is None or watermark > newest):
                    newest = watermark
                summary.loaded += counts.loaded
                summary.updated += counts.updated
                summary.unchanged += counts.unchanged
                summary.quarantined += len(prepared.rejections)
                report(entity, summary.read)  # records read so far (the CLI's progress bar)
    if file_id is not None:
        complete_file(engine, file_id, clean=not summary.quarantined, records=summary.read,
                      watermark=newest)  # fmt: skip
    return summary


def _store(
    engine: sa.Engine,
    entity: Entity,
    prepared: Prepared,
    *,
    run_id: int,
    now: datetime,
    file_id: int | None = None,
) -> tuple[UpsertCounts, datetime | None]:
    """Write one prepared chunk, its quarantine and the run's counters in one transaction; the
    counts and the chunk's newest instant. A chunk that updates stored rows drops the entity's
    other file fingerprints (:func:`~groupops.ingest.fingerprint.forget_others`).

    A deadlock or serialization failure with an overlapping run (PostgreSQL) rolls the whole
    chunk back, so it is simply written again, a few times with growing pauses."""
    valid = prepared.valid
    for attempt in range(1, _CHUNK_ATTEMPTS + 1):
        try:
            with engine.begin() as conn:
                chunk = valid if prepared.keyed is None else prepared.keyed
                counts = upsert(conn, entity, chunk, now=now, run_id=run_id)
                if counts.updated:
                    forget_others(conn, entity, keep=file_id)
                quarantine(conn, prepared.rejections, now=now, run_id=run_id)
                newest = valid["sent_at"].max() if entity == "messages" and len(valid) else None
                watermark = _instant(newest)
                _add_to_run(conn, run_id, counts, len(prepared.rejections), watermark)
            break
        except sa.exc.DBAPIError as exc:
            if attempt == _CHUNK_ATTEMPTS or not _conflicted(exc):
                raise
            time.sleep(0.05 * 2**attempt)
    refresh_planner_stats(engine, entity, counts.loaded)  # after the commit, for the next chunk
    return counts, watermark


_CHUNK_ATTEMPTS = 5


def _conflicted(exc: sa.exc.DBAPIError) -> bool:
    """A deadlock or serialization failure (PostgreSQL 40P01/40001), or SQLite's busy lock."""
    code = getattr(exc.orig, "sqlstate", None)
    return code in {"40001", "40P01"} or "database is locked" in str(exc.orig)


def _instant(value: object) -> datetime | None:
    """A frame's maximum instant (a pandas Timestamp, NaT when none) as a datetime."""
    if value is None or value is pd.NaT:
        return None
    mark = value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    assert isinstance(mark, datetime)
    return mark


def _add_to_run(
    conn: sa.Connection,
    run_id: int,
    counts: UpsertCounts,
    quarantined: int,
    watermark: datetime | None,
) -> None:
    values: dict[str, object] = {
        "loaded": IngestRun.loaded + counts.loaded,
        "updated": IngestRun.updated + counts.updated,
        "unchanged": IngestRun.unchanged + counts.unchanged,
        "quarantined": IngestRun.quarantined + quarantined,
        "heartbeat_at": wall_now(),  # each committed chunk renews the run's lease
    }
    if watermark is not None:
        current = conn.execute(
            sa.select(IngestRun.watermark).where(IngestRun.id == run_id)
        ).scalar_one()
        if current is None or watermark > current:
            values["watermark"] = watermark
    conn.execute(sa.update(IngestRun).where(IngestRun.id == run_id).values(values))


def finish_run(
    engine: sa.Engine,
    run_id: int,
    entities: list[EntitySummary],
    *,
    now: datetime | None = None,
    error: str | None = None,
) -> IngestSummary:
    """Close the run: status ``clean``, ``quarantined`` or ``failed``; its summary."""
    with session_scope(engine) as session:
        run = session.get_one(IngestRun, run_id)
        run.status = "failed" if error else ("quarantined" if run.quarantined else "clean")
        run.finished_at = now or datetime.now(UTC)
        run.error = error
        status = run.status
    return IngestSummary(run_id, run.source, run.format, status, entities, run.watermark)


def run_ingest(
    source: Source,
    engine: sa.Engine,
    policy: Policy,
    *,
    now: datetime | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    force: bool = False,
    workers: int | None = None,
) -> IngestSummary:
    """Ingest every entity of ``source``; the run's summary (see :attr:`IngestSummary.exit_code`).
    ``force``: read every file, even one unchanged since a clean run read it; ``workers``: see
    :func:`ingest_entity`."""
    now = now or datetime.now(UTC)
    run_id = begin_run(engine, source.name, source.format, now=now)
    entities: list[EntitySummary] = []
    try:
        for entity in source_entities(source):
            entities.append(
                ingest_entity(
                    engine,
                    source,
                    entity,
                    policy,
                    run_id=run_id,
                    now=now,
                    chunk_size=chunk_size,
                    force=force,
                    workers=workers,
                )
            )
    except Exception as exc:
        finish_run(engine, run_id, entities, error=f"{type(exc).__name__}: {exc}")
        raise
    return finish_run(engine, run_id, entities)
