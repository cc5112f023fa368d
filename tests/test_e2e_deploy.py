"""End to end on a real Prefect server with two process workers, everything on PostgreSQL.

The route of docs/operations.md: a Prefect server on its own PostgreSQL database, the `groupops`
process pool, `prefect deploy --all` from this checkout's prefect.yaml, the zombie-run
automation, two workers. Then, on an **empty** store (never migrated):

1. ingests of three overlapping bundles and the deadline watcher start at the same moment:
   every run ends Completed (the first to start migrates under the lock, the others wait; the
   upserts tolerate each other);
2. an ingest of a large bundle is running when its worker is killed (SIGKILL to the worker's
   process group, the flow-run process with it): the run ends **Crashed** in Prefect (its
   heartbeats stop; the automation marks it) and the next ingest marks its `ingest_runs` row
   `crashed`;
3. the final store holds exactly the union of all input, and every run row is accounted for;
4. `make deploy` (what every upgrade runs) passes on the running deployment and touches no data.

Slow (a few minutes: the server starts in ~35 s, a zombie is detected after its missed
heartbeats); CI runs it with the rest of the suite.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from groupops.db import make_engine
from groupops.db.models import IngestRun, Message
from groupops.db.schema import current_revision, head_revision
from tests import clockshift
from tests.bundles import message, write_bundle
from tests.conftest import PG_ADMIN_URL, REQUIRE_PG, _pg_admin_engine
from tests.ports import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.timeout(1800),
    # The server, the workers and the flows run in their own processes on the real clock: the
    # shifted run (make test-shifted) would repeat the same minutes and test nothing new.
    pytest.mark.skipif(
        bool(os.environ.get(clockshift.ENV)),
        reason="the e2e's processes do not see the test clock shift (it runs in `make test`)",
    ),
]

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
#: Heartbeats of the run that gets killed, and the automation's patience (kept short here;
#: production uses 60 s and three missed beats, prefect.yaml and scripts/automations.py).
HEARTBEAT_S, ZOMBIE_AFTER_S = 31, 75
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _database(admin: sa.Engine, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return name


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    """An empty store and an empty database for Prefect's own state; their URLs."""
    admin = _pg_admin_engine()
    if admin is None:
        if REQUIRE_PG:
            pytest.fail(f"no PostgreSQL answers at {PG_ADMIN_URL}")
        pytest.skip(f"no PostgreSQL answers at {PG_ADMIN_URL}")
    store, prefect_db = _database(admin, "groupops_e2e"), _database(admin, "prefect_e2e")
    url = admin.url
    try:
        yield (
            url.set(database=store).render_as_string(hide_password=False),
            url.set(drivername="postgresql+asyncpg", database=prefect_db).render_as_string(
                hide_password=False
            ),
        )
    finally:
        with admin.connect() as conn:
            for name in (store, prefect_db):
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Stack:
    """The processes of the deployment: a server and its workers, and the environment of the
    commands run against it."""

    def __init__(self, tmp: Path, store_url: str, prefect_db_url: str) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}/api"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        quiet = {
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_CLI_PROMPT": "false",
            "PREFECT_LOGGING_LEVEL": "INFO",
        }
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "GROUPOPS_"))}
        self.server_env = {
            **base,
            **quiet,
            "PREFECT_HOME": str(tmp / "server-home"),
            "PREFECT_API_DATABASE_CONNECTION_URL": prefect_db_url,
            "PREFECT_UI_ENABLED": "false",
        }
        self.env = {
            **base,
            **quiet,
            "PREFECT_HOME": str(tmp / "client-home"),
            "PREFECT_API_URL": self.api,
            "PREFECT_WORKER_QUERY_SECONDS": "2",
            "GROUPOPS_DATABASE_URL": store_url,
            "GROUPOPS_OUTBOX_DIR": str(tmp / "outbox"),
        }

    def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = (self.tmp / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def run(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(
            [str(BIN / args[0]), *args[1:]],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
        return done.stdout

    def wait_for_server(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.api}/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.procs["server"].poll() is None, self.log("server")
            time.sleep(1)
        raise AssertionError(f"the Prefect server did not start: {self.log('server')}")

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def worker_of(self, pid: int) -> str:
        """The worker whose process tree holds ``pid``."""
        chain = []
        while pid > 1:
            chain.append(pid)
            stat = Path(f"/proc/{pid}/stat").read_text()
            pid = int(stat.rpartition(")")[2].split()[1])  # the parent's pid
        for name, proc in self.procs.items():
            if name.startswith("worker") and proc.pid in chain:
                return name
        raise AssertionError(f"no worker is an ancestor of {chain}")

    def kill(self, name: str, *, also: int | None = None) -> None:
        """SIGKILL the process group of ``name`` (and ``also``, should it live elsewhere)."""
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        if also is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(also, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        # Workers before the server (they would otherwise spin on connection errors).
        for name in sorted(self.procs, key=lambda n: n == "server"):
            proc = self.procs.pop(name)
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
            except ProcessLookupError:
                continue
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)

    # -- the REST API ---------------------------------------------------------------------------
    def deployment_id(self, flow: str, deployment: str) -> str:
        response = httpx.get(f"{self.api}/deployments/name/{flow}/{deployment}", timeout=30)
        response.raise_for_status()
        return str(response.json()["id"])

    def trigger(self, flow: str, deployment: str, parameters: dict[str, Any], **extra: Any) -> str:
        response = httpx.post(
            f"{self.api}/deployments/{self.deployment_id(flow, deployment)}/create_flow_run",
            json={"parameters": parameters, **extra},
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["id"])

    def state(self, run_id: str) -> str:
        response = httpx.get(f"{self.api}/flow_runs/{run_id}", timeout=30)
        response.raise_for_status()
        state = response.json().get("state") or {}
        return str(state.get("type") or "SCHEDULED")

    def wait(self, run_ids: list[str], timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = {r: self.state(r) for r in run_ids}
            if set(states.values()) <= TERMINAL:
                return states
            time.sleep(2)
        raise AssertionError(
            f"runs not finished after {timeout:.0f} s: {states}\n"
            + "\n".join(f"--- {n}\n{self.log(n)}" for n in ("worker-1", "worker-2"))
        )


def _messages(group: str, numbers: range) -> list[dict[str, object]]:
    return [message(n, group=group, text=f"{group} 第{n}条") for n in numbers]


def _store_state(url: str) -> tuple[set[str], list[tuple[int, str, str]]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ids = set(conn.execute(sa.select(Message.message_id)).scalars())
            runs = [
                (r.id, r.source, r.status)
                for r in conn.execute(sa.select(IngestRun).order_by(IngestRun.id))
            ]
    finally:
        engine.dispose()
    return ids, runs


def _wait_running_with_data(url: str, source: str, timeout: float) -> int:
    """Until the ingest of ``source`` is `running` and has committed some chunks; the pid of
    the flow-run process holding its lease."""
    engine = make_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                row = conn.execute(
                    sa.select(IngestRun.status, IngestRun.loaded, IngestRun.owner).where(
                        IngestRun.source == source
                    )
                ).first()
            if row is not None:
                status, loaded, owner = row
                assert status == "running", f"the big ingest ended ({status}) before the kill"
                if loaded > 0:
                    return int(str(owner).rpartition(":")[2])
            time.sleep(0.3)
    finally:
        engine.dispose()
    raise AssertionError(f"the ingest of {source} did not start within {timeout:.0f} s")


def test_two_workers_on_postgresql(databases: tuple[str, str], tmp_path: Path) -> None:
    store_url, prefect_db_url = databases
    stack = Stack(tmp_path, store_url, prefect_db_url)
    try:
        stack.start(
            "server",
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
             str(stack.port)],
            stack.server_env,
        )  # fmt: skip
        stack.wait_for_server()

        # The deploy steps of `make deploy`, except `groupops db upgrade`: the store stays
        # empty so that the first runs race for the migration.
        stack.run("prefect", "work-pool", "create", "groupops", "--type", "process")
        stack.run("prefect", "deploy", "--all")
        stack.run("python", "-m", "scripts.automations", "--within", str(ZOMBIE_AFTER_S))
        for n in (1, 2):
            stack.start(
                f"worker-{n}",
                [str(BIN / "prefect"), "worker", "start", "--pool", "groupops", "--name",
                 f"worker-{n}"],
                stack.env,
            )  # fmt: skip
        assert current_revision(store_url) is None

        # 1. Several groups' ingests (overlapping) and the deadline watcher, all at once.
        spans = {
            "proj": _messages("proj", range(0, 400)),
            "mkt": _messages("mkt", range(1000, 1400)),
            "both": _messages("proj", range(200, 600)) + _messages("mkt", range(1200, 1600)),
        }
        bundles = {name: write_bundle(tmp_path / name, messages=m) for name, m in spans.items()}
        batch = [
            stack.trigger("ingest-activity", "ingest-activity", {"path": str(path)})
            for path in bundles.values()
        ]
        batch.append(
            stack.trigger(
                "watch-deadlines",
                "watch-deadlines",
                {"as_of": "2026-11-04T15:00:00+08:00", "dry_run": False},
            )
        )
        states = stack.wait(batch, timeout=600)
        assert set(states.values()) == {"COMPLETED"}, states
        assert current_revision(store_url) == head_revision()
        ids, runs = _store_state(store_url)
        expected = {str(m["message_id"]) for ms in spans.values() for m in ms}
        assert ids == expected
        assert [status for _id, _source, status in runs] == ["clean"] * 3

        # 2. A worker killed mid-ingest.
        big = write_bundle(tmp_path / "big", messages=_messages("proj", range(10_000, 70_000)))
        doomed = stack.trigger(
            "ingest-activity",
            "ingest-activity",
            {"path": str(big), "chunk_size": 300},
            job_variables={"env": {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_S)}},
        )
        flow_pid = _wait_running_with_data(store_url, str(big), timeout=600)
        stack.kill(stack.worker_of(flow_pid), also=flow_pid)

        # The killed run ends Crashed in Prefect (no heartbeat, the automation) ...
        assert stack.wait([doomed], timeout=ZOMBIE_AFTER_S + 240) == {doomed: "CRASHED"}
        # ... and the next ingest (on the surviving worker) marks its store row crashed and
        # completes the input.
        again = stack.trigger("ingest-activity", "ingest-activity", {"path": str(big)})
        assert stack.wait([again], timeout=900) == {again: "COMPLETED"}

        # 3. Exact final state.
        ids, runs = _store_state(store_url)
        assert ids == expected | {f"m{n}" for n in range(10_000, 70_000)}
        assert [(source, status) for _id, source, status in runs][3:] == [
            (str(big), "crashed"),
            (str(big), "clean"),
        ]

        # 4. `make deploy` on the running deployment (what an upgrade runs): idempotent, the
        # schema already at head, every deployment registered again, doctor at the end.
        done = subprocess.run(
            ["make", "deploy"], cwd=ROOT, env=stack.env, capture_output=True, text=True,
            timeout=900,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"is at revision {head_revision()}" in done.stdout
        deployments = httpx.post(f"{stack.api}/deployments/filter", json={}, timeout=30).json()
        assert {d["name"] for d in deployments} >= {"ingest-activity", "watch-deadlines"}
        assert _store_state(store_url)[0] == ids  # deploying touched no data
    finally:
        stack.stop_all()
