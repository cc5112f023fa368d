"""Migrations run once, under a lock: two upgrades started together on an empty store both
succeed (PostgreSQL advisory lock, SQLite file lock); code that finds the schema behind upgrades
it or, with automatic upgrades off, fails naming the command; downgrade is the rollback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli import app
from groupops.db import make_engine
from groupops.db.schema import (
    MigrationLockTimeout,
    SchemaError,
    current_revision,
    declared_chain,
    downgrade,
    ensure_schema,
    head_revision,
    migration_lock,
    revisions,
    schema_status,
    upgrade,
)
from groupops.settings import get_settings

ROOT = Path(__file__).resolve().parents[1]


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _groupops(url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "GROUPOPS_DATABASE_URL": url}
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("groupops")), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_the_chain_read_from_the_files_is_alembics() -> None:
    """Every command reads the head and the known revisions from the migration files' own
    ``revision`` / ``down_revision`` lines (no Alembic import): the same chain and head as
    Alembic's reading of the directory."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(ROOT / "groupops" / "db" / "migrations"))
    script = ScriptDirectory.from_config(config)
    alembics = {
        str(rev.revision): None if rev.down_revision is None else str(rev.down_revision)
        for rev in script.walk_revisions()
    }
    assert declared_chain() == alembics
    assert [head_revision()] == list(script.get_heads())


def test_two_upgrades_started_together_on_an_empty_store_both_succeed(empty_db_url: str) -> None:
    """Two processes (the deploy step and a starting flow, say) run `groupops db upgrade` at the
    same moment on a database nobody migrated: without the lock PostgreSQL fails one of them
    with UniqueViolation on pg_type (both create alembic_version)."""
    procs = [_groupops(empty_db_url, "db", "upgrade") for _ in range(2)]
    outputs = [p.communicate(timeout=240)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert current_revision(empty_db_url) == head_revision()
    assert {"messages", "ingest_runs", "alembic_version"} <= _tables(empty_db_url)


def test_concurrent_ensure_schema_in_threads(empty_db_url: str) -> None:
    """The same in one process: flows' tasks on a thread pool all find the schema at head."""
    errors: list[BaseException] = []
    results: list[str] = []

    def start() -> None:
        try:
            results.append(ensure_schema(empty_db_url))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert errors == []
    assert results == [head_revision()] * 4


def test_the_lock_excludes_a_second_migration_until_released(empty_db_url: str) -> None:
    released = threading.Event()
    held = threading.Event()

    def hold() -> None:
        with migration_lock(empty_db_url):
            held.set()
            released.wait(timeout=60)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(timeout=30)
        started = time.monotonic()
        with pytest.raises(MigrationLockTimeout, match="migration lock"):
            upgrade(empty_db_url, timeout=0.5)
        assert time.monotonic() - started >= 0.5
        assert current_revision(empty_db_url) is None  # nothing ran while the lock was held
    finally:
        released.set()
        holder.join(timeout=60)
    assert upgrade(empty_db_url, timeout=5) == head_revision()


def test_behind_with_automatic_upgrades_off_fails_naming_the_command(empty_db_url: str) -> None:
    oldest = revisions()[-1][0]
    upgrade(empty_db_url, oldest)
    with pytest.raises(SchemaError, match="run `groupops db upgrade`") as caught:
        ensure_schema(empty_db_url, migrate=False)
    assert oldest in str(caught.value) and head_revision() in str(caught.value)
    assert current_revision(empty_db_url) == oldest  # untouched
    assert ensure_schema(empty_db_url) == head_revision()
    assert current_revision(empty_db_url) == head_revision()


def test_a_revision_from_newer_code_is_refused_even_with_upgrades_on(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'from_the_future_0001'"))
    engine.dispose()
    status = schema_status(empty_db_url)
    assert (status.known, status.state, status.at_head) == (False, "unknown", False)
    with pytest.raises(SchemaError, match="does not know"):
        ensure_schema(empty_db_url)


def test_downgrade_and_upgrade_again_round_trip(empty_db_url: str) -> None:
    """The rollback path: every migration's downgrade runs on both backends."""
    upgrade(empty_db_url)
    assert downgrade(empty_db_url, "base") is None
    assert _tables(empty_db_url) <= {"alembic_version"}
    assert upgrade(empty_db_url) == head_revision()


def test_cli_upgrade_current_downgrade(empty_db_url: str, cli_env: pytest.MonkeyPatch) -> None:
    cli_env.setenv("GROUPOPS_DATABASE_URL", empty_db_url)
    runner = CliRunner()

    empty = runner.invoke(app, ["db", "current", "--json", "--check"])
    assert empty.exit_code == 1
    assert json.loads(empty.stdout) | {"database": ""} == {
        "database": "",
        "current": None,
        "head": head_revision(),
        "at_head": False,
        "state": "empty",
    }

    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert head_revision() in result.stdout
    at_head = runner.invoke(app, ["db", "current", "--json", "--check"])
    assert at_head.exit_code == 0
    assert json.loads(at_head.stdout)["state"] == "at-head"

    previous = revisions()[1][0]
    result = runner.invoke(app, ["db", "downgrade", previous])
    assert result.exit_code == 0, result.output
    assert current_revision(empty_db_url) == previous
    assert json.loads(runner.invoke(app, ["db", "current", "--json"]).stdout)["state"] == "behind"

    unknown = runner.invoke(app, ["db", "downgrade", "no_such_revision"])
    assert unknown.exit_code == 1
    assert "no_such_revision" in unknown.output

    # A command finding the store behind with automatic upgrades off: exit 1, the command named.
    cli_env.setenv("GROUPOPS_AUTO_UPGRADE", "false")
    get_settings.cache_clear()
    refused = runner.invoke(app, ["runs", "list"])
    assert refused.exit_code == 1
    assert "groupops db upgrade" in refused.output
    assert current_revision(empty_db_url) == previous

    history = runner.invoke(app, ["db", "history", "--json"])
    assert [r["revision"] for r in json.loads(history.stdout)] == [r for r, _d, _m in revisions()]
