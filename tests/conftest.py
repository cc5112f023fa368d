"""Shared fixtures.

* ``db_url`` / ``engine``: a migrated, empty store, parametrized over SQLite and PostgreSQL.
  PostgreSQL uses a throwaway database per test session (dropped at the end). Where no server
  answers, the PostgreSQL cases skip with that reason, unless ``GROUPOPS_REQUIRE_POSTGRES=1``
  (set by ``.ci/run``), which turns the skip into a failure.
* ``prefect``: one session-scoped ``prefect_test_harness`` for every flow test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from groupops.db import make_engine, upgrade
from groupops.db.models import Base
from tests import clockshift
from tests.ports import free_port

# `make test-shifted`: the whole run a year ahead (see tests/clockshift.py).
clockshift.start()

# Fixtures of the real and doc-shaped servers, for every test that names them.
pytest_plugins = [
    "tests.synapse",
    "tests.matrix_room",
    "tests.fake_feishu",
    "tests.fake_slack",
    "tests.fake_bots",
]

PG_ADMIN_URL = os.environ.get(
    "GROUPOPS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("GROUPOPS_REQUIRE_POSTGRES") == "1"

# Isolate Prefect from the developer's profile before anything imports it.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def _pg_admin_engine() -> sa.Engine | None:
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception:
        engine.dispose()
        return None
    return engine


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for this session; its URL."""
    admin = _pg_admin_engine()
    if admin is None:
        reason = f"no PostgreSQL answers at {PG_ADMIN_URL}"
        if REQUIRE_PG:
            pytest.fail(f"{reason} and GROUPOPS_REQUIRE_POSTGRES=1")
        pytest.skip(reason)
    name = f"groupops_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store never migrated: a new SQLite file, or a new PostgreSQL database created
    for this test alone (dropped after it), for what must work on a database nobody touched."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    admin = _pg_admin_engine()
    if admin is None:
        reason = f"no PostgreSQL answers at {PG_ADMIN_URL}"
        if REQUIRE_PG:
            pytest.fail(f"{reason} and GROUPOPS_REQUIRE_POSTGRES=1")
        pytest.skip(reason)
    name = f"groupops_empty_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate_all(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty store: a fresh SQLite file, or the session's PostgreSQL database
    emptied before the test."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'groupops.db'}"
        upgrade(url)
        yield url
        return
    url = request.getfixturevalue("pg_database")
    engine = make_engine(url)
    _truncate_all(engine)
    engine.dispose()
    yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One Prefect test server for the whole session (≈45 s fixed cost, paid only when a flow
    test runs). Heartbeats off: each sync flow would otherwise wait 1 s at exit."""
    home = tmp_path_factory.mktemp("prefect-home")
    os.environ["PREFECT_HOME"] = str(home)
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
        prefect_test_harness(server_startup_timeout=120),
    ):
        yield


class _CollectingHandler:
    """aiosmtpd handler keeping every delivered envelope."""

    def __init__(self) -> None:
        self.envelopes: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.envelopes.append(
            (envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content))
        )
        return "250 OK"


class _RefusingHandler(_CollectingHandler):
    """aiosmtpd handler refusing every recipient (a 550, as for an unknown mailbox)."""

    async def handle_RCPT(
        self, server: object, session: object, envelope: object, address: str, options: object
    ) -> str:
        return "550 5.1.1 mailbox unavailable"


def _serve_smtp(
    handler: _CollectingHandler,
) -> Iterator[tuple[str, int, list[tuple[str, list[str], bytes]]]]:
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield "127.0.0.1", port, handler.envelopes
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, int, list[tuple[str, list[str], bytes]]]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 and a free port: ``(host, port, received)``,
    ``received`` being ``(mail_from, rcpt_tos, raw bytes)`` per delivered message."""
    yield from _serve_smtp(_CollectingHandler())


@pytest.fixture
def refusing_smtp_server() -> Iterator[tuple[str, int, list[tuple[str, list[str], bytes]]]]:
    """A real SMTP server that refuses every recipient (550): nothing is ever delivered."""
    yield from _serve_smtp(_RefusingHandler())
