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

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pandas as pd
import sqlalchemy as sa

from groupops.canonical import Entity, RawRecord, Source, source_entities
from groupops.db import session_scope
from groupops.db.bulk import gc_frozen
from groupops.db.leases import heartbeat, owner_id, reap_crashed, wall_now
from groupops.db.models import IngestRun
from groupops.ingest.expectations import Bounds, Validator, validate
from groupops.ingest.fingerprint import (
    Fingerprint,
    begin_file,
    complete_file,
    forget_others,
    rules_digest,
    skippable,
)
from groupops.ingest.limits import Limits
from groupops.ingest.normalise import Rejection, normalise, normalise_frame
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


#: A chunk of records read one at a time (the export importers) also ends once its records'
#: raw text passes this many characters: 100,000 long messages would otherwise hold about a
#: gigabyte (issue 14). Measured on a 125 MB Telegram export of 100,000 messages: peak 685 MB
#: at 24 Mi characters, 350 MB at 4 Mi (193 MB of it is the process before any input).
CHUNK_RAW_CHARS = 4 << 20


def _chunks(records: Iterable[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    """``size`` records at a time, fewer when their raw text passes :data:`CHUNK_RAW_CHARS`."""
    iterator = iter(records)
    while True:
        chunk: list[RawRecord] = []
        held = 0
        for record in iterator:
            chunk.append(record)
            held += len(record.raw)
            if len(chunk) >= size or held >= CHUNK_RAW_CHARS:
                break
        if not chunk:
            return
        yield chunk


def source_chunks(
    source: Source, entity: Entity, size: int
) -> Iterator[list[RawRecord] | pd.DataFrame]:
    """The entity's records ``size`` at a time: a source that reads columns itself (a canonical
    bundle's JSONL, an export importer's messages: ``chunks``) may hand over a chunk as a frame
    of the entity's fields (``chunks`` may give ``None``: that entity is read as records)."""
    chunked = getattr(source, "chunks", None)
    chunks = chunked(entity, size) if chunked is not None else None
    if chunks is not None:
        return iter(chunks)
    return _chunks(source.records(entity), size)


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
) -> EntitySummary:
    """Stream one entity of ``source`` into the store (see the module docstring).

    A file this store already read completely and cleanly, unchanged since under the same
    rules, is not read again: its records count as unchanged (:mod:`groupops.ingest.fingerprint`;
    ``force`` reads it anyway).

    Chunks are prepared and written one after the other: overlapping them in a thread was
    measured slower (the GIL serialises the pandas work and starves the writer)."""
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
        file_id = begin_file(engine, entity, fp, rules, run_id=run_id, now=now)
    bounds = plausible_bounds(policy, now)
    groups: set[str] = set()
    if entity in ("messages", "memberships"):
        with engine.connect() as conn:  # groups load first, so this set is final for the entity
            groups = known_groups(conn)

    chunks = source_chunks(source, entity, chunk_size)

    def read_and_prepare() -> _Prepared | None:
        chunk = next(chunks, None)
        if chunk is None:
            return None
        if isinstance(chunk, pd.DataFrame):  # the columnar reader's frame
            normalised = normalise_frame(entity, chunk, policy.tz)
        else:
            normalised = normalise(entity, chunk, policy.tz)
        valid, rejected = validate(entity, normalised.frame, bounds=bounds, known_groups=groups,
                                   validator=validator or get_settings().validator)  # fmt: skip
        return _Prepared(valid, normalised.rejected + rejected)

    newest: datetime | None = None
    # The run's lease, renewed while chunks are prepared; the objects held before the loop
    # (the imported libraries') out of the collector's full collections while it builds rows.
    with heartbeat(engine, run_id), gc_frozen():
        while (prepared := read_and_prepare()) is not None:
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


@dataclass(frozen=True)
class _Prepared:
    valid: pd.DataFrame
    rejections: list[Rejection]


def _store(
    engine: sa.Engine,
    entity: Entity,
    prepared: _Prepared,
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
                counts = upsert(conn, entity, valid, now=now, run_id=run_id)
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
) -> IngestSummary:
    """Ingest every entity of ``source``; the run's summary (see :attr:`IngestSummary.exit_code`).
    ``force``: read every file, even one unchanged since a clean run read it."""
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
                )
            )
    except Exception as exc:
        finish_run(engine, run_id, entities, error=f"{type(exc).__name__}: {exc}")
        raise
    return finish_run(engine, run_id, entities)
