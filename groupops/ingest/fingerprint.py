"""Whole-file fingerprints: a re-ingest of an unchanged source file skips it outright.

A run that reads an entity's file to the end with nothing quarantined records the file's
fingerprint in ``ingested_files``: its size, ``mtime_ns`` and SHA-256 (about a second per GB),
and :func:`rules_digest`, a digest of what else decides the stored rows (the ingest code's
rules, the policy's time zone and plausible-instant window, the input limits). The next run
that finds the same fingerprint for the same file, with a ``now`` no earlier than the recorded
one, counts the file's records as unchanged without reading it (:func:`skippable`).

What keeps a skip from hiding a change a re-read would make:

* the row is written ``complete = false`` before the file's first chunk and completed after its
  last one: a run that crashed, failed or quarantined anything leaves no complete row;
* an ingest chunk that *updates* stored rows drops every other fingerprint of that entity in
  the same transaction (:func:`forget_others`), and a completion finds its own row gone when
  another run updated the entity meanwhile, so it records nothing;
* a *delete* from an ingested table (a purge, a group's cascade, by hand) drops the entity's
  fingerprints through triggers (migration ``store_0001``; a TRUNCATE on PostgreSQL too,
  ``store_0002``);
* ``force`` (``groupops ingest --force``) reads every file whatever its fingerprint.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import IO

import sqlalchemy as sa

from groupops.canonical import Entity
from groupops.db.models import IngestedFile
from groupops.ingest.limits import Limits
from groupops.policy import Policy

#: The modules whose code decides which rows a file stores and what is quarantined: any change
#: to them (a new rule, a fixed normalisation) reads every file again.
RULE_MODULES = (
    "canonical.py",
    "ingest/bundle.py",
    "ingest/checks.py",
    "ingest/columnar.py",
    "ingest/expectations.py",
    "ingest/limits.py",
    "ingest/normalise.py",
    "ingest/store.py",
)
_BLOCK = 1 << 22


@dataclass(frozen=True)
class Fingerprint:
    """What identifies one source file's content."""

    source_file: str  # the label quarantine records (a path, or ``archive.zip!member``)
    size: int
    mtime_ns: int
    sha256: str


@cache
def _code_digest() -> str:
    """A digest of :data:`RULE_MODULES`' source; when one cannot be read (an install without
    sources), a value of this process alone, so nothing recorded before is ever skipped."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    try:
        for name in RULE_MODULES:
            digest.update(name.encode())
            digest.update((root / name).read_bytes())
    except OSError:
        return f"unreadable-{uuid.uuid4().hex}"
    return digest.hexdigest()


def rules_digest(policy: Policy, limits: Limits) -> str:
    """A digest of the ingest's rules: its code, the policy settings it reads, the limits."""
    settings = f"{policy.timezone}|{policy.ingest.model_dump_json()}|{limits!r}"
    return hashlib.sha256(f"{_code_digest()}|{settings}".encode()).hexdigest()


def hash_stream(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while block := stream.read(_BLOCK):
        digest.update(block)
    return digest.hexdigest()


def file_fingerprint(label: str, path: Path) -> Fingerprint:
    """``path``'s fingerprint. The stat is taken before the bytes are hashed, so a file
    written meanwhile never matches its old fingerprint with its new content."""
    stat = path.stat()
    with path.open("rb") as stream:
        digest = hash_stream(stream)
    return Fingerprint(label, stat.st_size, stat.st_mtime_ns, digest)


@dataclass(frozen=True)
class Recorded:
    """A complete, clean read of the file: how many records it held, its newest instant."""

    records: int
    watermark: datetime | None


def skippable(
    conn: sa.Connection, entity: Entity, fp: Fingerprint, rules: str, now: datetime
) -> Recorded | None:
    """The recorded clean read of this very file content under these rules, if any."""
    t = IngestedFile
    row = conn.execute(
        sa.select(t.records, t.watermark)
        .where(
            t.entity == entity,
            t.source_file == fp.source_file,
            t.complete.is_(True),
            t.size == fp.size,
            t.mtime_ns == fp.mtime_ns,
            t.sha256 == fp.sha256,
            t.rules == rules,
            t.ingested_at <= now,
        )
        .order_by(t.id.desc())
        .limit(1)
    ).first()
    return None if row is None else Recorded(int(row.records), row.watermark)


def begin_file(
    engine: sa.Engine, entity: Entity, fp: Fingerprint, rules: str, *, run_id: int, now: datetime
) -> int:
    """Write the file's row, not complete yet (before its first chunk); its id."""
    with engine.begin() as conn:
        return int(
            conn.execute(
                sa.insert(IngestedFile)
                .values(
                    entity=entity, source_file=fp.source_file, size=fp.size,
                    mtime_ns=fp.mtime_ns, sha256=fp.sha256, rules=rules, run_id=run_id,
                    complete=False, records=0, ingested_at=now,
                )
                .returning(IngestedFile.id)
            ).scalar_one()
        )  # fmt: skip


def forget_others(conn: sa.Connection, entity: Entity, keep: int | None) -> None:
    """Stored rows of ``entity`` were updated: no other file's fingerprint still says what the
    store holds (in the updating chunk's transaction)."""
    t = IngestedFile
    stmt = sa.delete(t).where(t.entity == entity)
    if keep is not None:
        stmt = stmt.where(t.id != keep)
    conn.execute(stmt)


def complete_file(
    engine: sa.Engine, file_id: int, *, clean: bool, records: int, watermark: datetime | None
) -> bool:
    """Mark the file read completely (``clean``: nothing quarantined) and drop its older
    complete rows; otherwise drop its row. False when the row was dropped meanwhile (another run updated the
    entity): nothing is recorded then."""
    t = IngestedFile
    with engine.begin() as conn:
        if not clean:
            conn.execute(sa.delete(t).where(t.id == file_id))
            return False
        done = conn.execute(
            sa.update(t)
            .where(t.id == file_id)
            .values(complete=True, records=records, watermark=watermark)
        ).rowcount
        if not done:
            return False
        mine = conn.execute(sa.select(t.entity, t.source_file).where(t.id == file_id)).one()
        conn.execute(
            sa.delete(t).where(
                t.entity == mine.entity,
                t.source_file == mine.source_file,
                t.complete.is_(True),
                t.id != file_id,
            )
        )
        return True
