"""The store's schema version: migrations run once, under a lock, and everyone else checks.

Two processes starting on the same empty database must not both run the migrations (on
PostgreSQL the second fails with ``UniqueViolation … pg_type_typname_nsp_index`` while creating
``alembic_version``). So every upgrade or downgrade takes a lock first:

* PostgreSQL: a session-level **advisory lock** (:data:`ADVISORY_LOCK_KEY`) on a connection of
  its own, released when the migration ends or the process dies (the server closes the
  session);
* SQLite: an exclusive ``flock`` on a file beside the database (``<file>.migrate.lock``),
  released by the kernel when the process dies.

Under the lock the revision is read again, so the second process finds the schema at head and
does nothing. :func:`ensure_schema` is what flows and commands call: it reads the revision
without a lock (cheap), and only when it is behind upgrades under the lock, or, with
``migrate=False`` (``GROUPOPS_AUTO_UPGRADE=false`` on production workers), fails with a message
saying which command to run.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from groupops.db.engine import MIGRATIONS_DIR, alembic_config, make_engine

#: The PostgreSQL advisory lock every groupops migration holds ("groupops" as a 63-bit number).
ADVISORY_LOCK_KEY = int.from_bytes(b"groupops", "big") & 0x7FFF_FFFF_FFFF_FFFF
#: How long a migration waits for another one to finish before giving up (seconds).
LOCK_TIMEOUT = 600.0
_POLL = 0.2


class SchemaError(RuntimeError):
    """The store's schema is not the one this code needs (the message says what to run)."""


class MigrationLockTimeout(SchemaError):
    """Another process held the migration lock for longer than the timeout."""


@dataclass(frozen=True)
class SchemaStatus:
    """Where a store's schema stands against this code's migrations."""

    current: str | None  # None: an empty database (no alembic_version)
    head: str
    known: bool  # False: a revision this code's migrations do not contain (newer code ran)

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    @property
    def state(self) -> str:
        """``at-head``, ``empty``, ``behind`` or ``unknown`` (a revision newer code wrote)."""
        if self.at_head:
            return "at-head"
        if self.current is None:
            return "empty"
        return "behind" if self.known else "unknown"

    def as_dict(self) -> dict[str, object]:
        return {
            "current": self.current,
            "head": self.head,
            "at_head": self.at_head,
            "state": self.state,
        }


def _script() -> Any:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://"))


#: ``revision = "…"`` / ``down_revision = "…"`` (or ``None``) as every migration file states them.
_DECLARED = re.compile(
    r'^(down_revision|revision)\s*(?::[^=\n]*)?=\s*(None|"[^"\n]*"|\'[^\'\n]*\')\s*$',
    re.MULTILINE,
)


@functools.cache
def declared_chain() -> dict[str, str | None]:
    """Each migration's revision and the one it revises, read from the files' two assignments
    without importing Alembic or the migrations (the fast path of :func:`ensure_schema`, run by
    every command that opens the store). ``tests/test_schema.py`` checks it equals Alembic's own
    reading of the same directory."""
    chain: dict[str, str | None] = {}
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        found = {
            name: None if value == "None" else value[1:-1]
            for name, value in _DECLARED.findall(path.read_text(encoding="utf-8"))
        }
        revision = found.get("revision")
        if revision is None:
            raise SchemaError(f"{path} declares no revision")
        chain[revision] = found.get("down_revision")
    return chain


def head_revision() -> str:
    """The newest revision of this code's migrations (the chain is linear: one head)."""
    chain = declared_chain()
    revised = set(chain.values())
    heads = sorted(rev for rev in chain if rev not in revised)
    if len(heads) != 1:
        raise SchemaError(
            f"the migrations have {len(heads)} heads ({', '.join(heads)}): merge them"
        )
    return heads[0]


def revisions() -> list[tuple[str, str | None, str]]:
    """Every migration, newest first: ``(revision, down_revision, message)``."""
    out = []
    for rev in _script().walk_revisions():
        down = rev.down_revision
        out.append((str(rev.revision), None if down is None else str(down), rev.doc or ""))
    return out


def current_revision(url: str) -> str | None:
    """The store's revision, or None when no migration ever ran there (Alembic's
    ``alembic_version`` table, read with one query: no Alembic import)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    finally:
        engine.dispose()
    if len(rows) > 1:
        raise SchemaError(
            f"the store has {len(rows)} current revisions "
            f"({', '.join(str(r[0]) for r in rows)}): its migrations branched"
        )
    return str(rows[0][0]) if rows else None


def schema_status(url: str) -> SchemaStatus:
    """The store's revision against this code's head (raises when the store cannot be reached)."""
    current = current_revision(url)
    known = current is None or current in declared_chain()
    return SchemaStatus(current=current, head=head_revision(), known=known)


@contextmanager
def migration_lock(url: str, *, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the store's migration lock (see the module docstring); raise
    :class:`MigrationLockTimeout` after ``timeout`` seconds of waiting."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or database.startswith("file::memory:"):
            yield  # a private in-memory database: nobody else can migrate it
            return
        with _file_lock(Path(database).with_name(Path(database).name + ".migrate.lock"), timeout):
            yield
        return
    if parsed.get_backend_name() == "postgresql":
        with _advisory_lock(url, timeout):
            yield
        return
    yield  # other backends: no lock known (groupops supports SQLite and PostgreSQL)


@contextmanager
def _file_lock(path: Path, timeout: float) -> Iterator[None]:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise MigrationLockTimeout(
                        f"another process has held the migration lock {path} for over "
                        f"{timeout:.0f} s"
                    ) from None
                time.sleep(_POLL)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def _advisory_lock(url: str, timeout: float) -> Iterator[None]:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            deadline = time.monotonic() + timeout
            take = sa.text("SELECT pg_try_advisory_lock(:k)")
            while not conn.execute(take, {"k": ADVISORY_LOCK_KEY}).scalar_one():
                if time.monotonic() > deadline:
                    raise MigrationLockTimeout(
                        f"another process has held the migration lock (PostgreSQL advisory "
                        f"lock {ADVISORY_LOCK_KEY}) for over {timeout:.0f} s; "
                        "see pg_locks where locktype = 'advisory'"
                    )
                time.sleep(_POLL)
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head", *, timeout: float = LOCK_TIMEOUT) -> str | None:
    """Apply the migrations up to ``revision`` under the migration lock (idempotent: at that
    revision already, nothing runs); the revision the store is at afterwards."""
    from alembic import command

    with migration_lock(url, timeout=timeout):
        command.upgrade(alembic_config(url), revision)
    return current_revision(url)


def downgrade(url: str, revision: str, *, timeout: float = LOCK_TIMEOUT) -> str | None:
    """Revert the migrations down to ``revision`` (``base`` empties the schema) under the
    migration lock; the revision the store is at afterwards. Tables a reverted migration
    created are dropped with their rows: back the store up first (docs/operations.md)."""
    from alembic import command

    with migration_lock(url, timeout=timeout):
        command.downgrade(alembic_config(url), revision)
    return current_revision(url)


def ensure_schema(url: str, *, migrate: bool = True, timeout: float = LOCK_TIMEOUT) -> str:
    """Make sure the store is at this code's head before a run touches it; the head.

    At head: nothing (one cheap read). Behind (or empty): upgrade under the lock when
    ``migrate``, else :class:`SchemaError` naming the command to run. At a revision this code
    does not know (newer code migrated the store): :class:`SchemaError` always, since running
    old code on a newer schema is how data gets lost."""
    status = schema_status(url)
    if status.at_head:
        return status.head
    if not status.known:
        raise SchemaError(
            f"the store is at revision {status.current}, which this code does not know (its "
            f"head is {status.head}): newer groupops code migrated it. Deploy that code, or "
            f"roll the store back with its `groupops db downgrade {status.head}` first."
        )
    if not migrate:
        raise SchemaError(
            f"the store is at revision {status.current or '(empty)'} but this code needs "
            f"{status.head}: run `groupops db upgrade` (automatic upgrades are off: "
            "GROUPOPS_AUTO_UPGRADE=false)"
        )
    upgrade(url, timeout=timeout)
    return status.head
