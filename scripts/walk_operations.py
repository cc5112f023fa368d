"""Walk docs/operations.md: run its runnable shell blocks against a throwaway home.

``python -m scripts.walk_operations`` (and ``tests/test_walk_operations.py`` in ``make test``)
starts a real Prefect server in a temporary ``PREFECT_HOME``, creates a throwaway PostgreSQL
store, then runs the runbook's ``bash`` blocks in order, from this checkout, line by line, as
an ops engineer would type them: the Secret blocks, ``make deploy``, a triggered run watched to
its end on a worker, ``groupops runs list``, the doctor, a backup, ``groupops db downgrade`` and
the upgrade back. What cannot run here is skipped with its reason, printed.

Every ``bash`` block of the runbook carries a marker, an HTML comment on the line before its
fence (an unmarked block is an error, so the runbook cannot grow untested steps unnoticed)::

    <!-- walk: skip REASON -->
    <!-- walk: run -->
    <!-- walk: run | skip PREFIX: REASON | may-fail PREFIX: REASON | sub OLD => NEW -->
    <!-- walk: skip REASON | start-worker -->
    <!-- walk: run | stop-worker | … -->

``skip PREFIX``: lines starting with PREFIX are not run. ``may-fail PREFIX``: such a line may
exit 1 (a check naming what is broken: the walk reports it), any other failure fails the walk.
``sub OLD => NEW``: text replaced before running (NEW may name the walk's variables, e.g.
``$WALK_HOME``). ``start-worker``: after this block, the walk starts the worker the way
``deploy/groupops-worker.service`` does (its ``ExecStart``), in the background;
``stop-worker``: before this block's lines, it stops that worker (what ``systemctl stop`` does).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
RUNBOOK = ROOT / "docs" / "operations.md"
UNIT = ROOT / "deploy" / "groupops-worker.service"
MARKER = re.compile(r"^<!--\s*walk:\s*(?P<body>.*?)\s*-->\s*$")
FENCE = re.compile(r"^```(?P<lang>\S*)\s*$")
#: Seconds a server may take to answer /api/health (~35 s on a quiet 2-core host).
SERVER_STARTUP_S = 240


class RunbookError(ValueError):
    """The runbook's blocks or markers are not what the walk can follow."""


class WalkFailed(RuntimeError):
    """A runnable line failed."""


@dataclass(frozen=True)
class Line:
    """One command line of a block (backslash continuations joined)."""

    number: int  # in the runbook
    text: str
    skip: str | None = None  # why it is not run
    may_fail: str | None = None  # why exit 1 is accepted


@dataclass(frozen=True)
class Block:
    """A ``bash`` block and what its marker says about it."""

    number: int  # the fence's line in the runbook
    text: str
    run: bool
    reason: str = ""  # why a skipped block is skipped
    skips: tuple[tuple[str, str], ...] = ()
    may_fail: tuple[tuple[str, str], ...] = ()
    subs: tuple[tuple[str, str], ...] = ()
    start_worker: bool = False
    stop_worker: bool = False

    def lines(self) -> list[Line]:
        out: list[Line] = []
        pending: list[str] = []
        start = 0
        for offset, raw in enumerate(self.text.splitlines(), start=self.number + 1):
            if not pending:
                start = offset
            if raw.rstrip().endswith("\\"):
                pending.append(raw.rstrip()[:-1])
                continue
            text = " ".join([*pending, raw]).strip()
            pending = []
            if not text or text.startswith("#"):
                continue
            for old, new in self.subs:
                text = text.replace(old, new)
            skip = next((why for prefix, why in self.skips if text.startswith(prefix)), None)
            may = next((why for prefix, why in self.may_fail if text.startswith(prefix)), None)
            out.append(Line(start, text, skip, may))
        return out


def parse_marker(body: str, number: int, text: str) -> Block:
    """A block from its marker's body (``run | …`` or ``skip REASON | …``)."""
    head, *options = [part.strip() for part in body.split(" | ")]
    verb, _, reason = head.partition(" ")
    if verb not in {"run", "skip"} or (verb == "skip" and not reason.strip()):
        raise RunbookError(f"line {number}: a marker is `run` or `skip REASON`, not {head!r}")
    skips: list[tuple[str, str]] = []
    may_fail: list[tuple[str, str]] = []
    subs: list[tuple[str, str]] = []
    start_worker = stop_worker = False
    for option in options:
        kind, _, rest = option.partition(" ")
        if kind == "start-worker" and not rest:
            start_worker = True
        elif kind == "stop-worker" and not rest:
            stop_worker = True
        elif kind in {"skip", "may-fail"} and ": " in rest:
            prefix, why = rest.split(": ", 1)
            (skips if kind == "skip" else may_fail).append((prefix.strip(), why.strip()))
        elif kind == "sub" and " => " in rest:
            old, new = rest.split(" => ", 1)
            subs.append((old.strip(), new.strip()))
        else:
            raise RunbookError(f"line {number}: unknown marker option {option!r}")
    return Block(
        number,
        text,
        run=verb == "run",
        reason=reason.strip(),
        skips=tuple(skips),
        may_fail=tuple(may_fail),
        subs=tuple(subs),
        start_worker=start_worker,
        stop_worker=stop_worker,
    )


def blocks(markdown: str) -> list[Block]:
    """Every ``bash`` block of ``markdown`` with its marker; an unmarked one is an error."""
    out: list[Block] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), None)
        if end is None:
            raise RunbookError(f"line {i + 1}: a fence that is never closed")
        if fence["lang"] in {"bash", "sh", "shell"}:
            marker = MARKER.match(lines[i - 1]) if i else None
            if marker is None:
                raise RunbookError(
                    f"line {i + 1}: a shell block without a `<!-- walk: … -->` marker before it"
                )
            out.append(parse_marker(marker["body"], i + 1, "\n".join(lines[i + 1 : end])))
        i = end + 1
    return out


def worker_command(unit: str, host: str) -> str:
    """The systemd unit's ``ExecStart`` as a shell command (``%H``: the host name)."""
    line = next(
        (ln for ln in unit.splitlines() if ln.startswith("ExecStart=")),
        None,
    )
    if line is None:
        raise RunbookError("the worker unit has no ExecStart")
    return line.removeprefix("ExecStart=").replace("%H", host)


@dataclass
class Report:
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    allowed_failures: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        print(text, flush=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _uv_on_path(bin_dir: Path) -> str:
    """A PATH on which ``uv`` runs, as the runbook assumes (a shim for ``python3 -m uv``)."""
    path = os.environ.get("PATH", "")
    if shutil.which("uv") is None:
        bin_dir.mkdir(parents=True, exist_ok=True)
        shim = bin_dir / "uv"
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m uv "$@"\n')
        shim.chmod(0o755)
        path = f"{bin_dir}{os.pathsep}{path}"
    return path


@contextmanager
def _background(args: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A command in its own process group, stopped (TERM, then KILL) on the way out."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", "-c", f"exec {args}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


def _wait_healthy(api: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise WalkFailed(f"the Prefect server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise WalkFailed(f"the Prefect server did not answer within {SERVER_STARTUP_S} s")


@contextmanager
def _store(admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for the walk's store (dropped afterwards)."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"groupops_walk_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def previous_revision() -> str:
    """The revision just before the migrations' head (what a rollback goes back to)."""
    from alembic.script import ScriptDirectory

    from groupops.db.engine import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    current = script.get_current_head()
    head = script.get_revision(current) if current else None
    down = head.down_revision if head is not None else None
    if not isinstance(down, str):
        raise RunbookError(f"the head revision has no single predecessor: {down!r}")
    return down


def run_line(line: Line, env: dict[str, str], report: Report, timeout: float) -> None:
    if line.skip:
        report.skipped.append(f"{line.number}: {line.text}  ({line.skip})")
        report.say(f"  skip  {line.text}\n        ({line.skip})")
        return
    report.say(f"  $ {line.text}")
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", line.text],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = (done.stdout + done.stderr).rstrip()
    if output:
        report.say("\n".join(f"    {ln}" for ln in output.splitlines()[-40:]))
    report.say(f"    (exit {done.returncode}, {time.monotonic() - started:.0f} s)")
    if done.returncode == 1 and line.may_fail:
        report.allowed_failures.append(f"{line.number}: {line.text}  ({line.may_fail})")
        report.say(f"    (exit 1 accepted: {line.may_fail})")
    elif done.returncode != 0:
        raise WalkFailed(
            f"docs/operations.md line {line.number}: `{line.text}` exited {done.returncode}"
        )
    report.ran.append(f"{line.number}: {line.text}")


def walk(
    admin_url: str,
    runbook: Path = RUNBOOK,
    *,
    home: Path | None = None,
    line_timeout: float = 600,
    after: Sequence[str] = (),
) -> Report:
    """Follow the runbook; ``after``: shell lines run at the end in the same environment (the
    test's checks). Returns what ran, what was skipped and why."""
    parsed = blocks(runbook.read_text(encoding="utf-8"))
    report = Report()
    with ExitStack() as stack:
        if home is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="walk-ops-")))
        store = stack.enter_context(_store(admin_url))
        port = _free_port()
        api = f"http://127.0.0.1:{port}/api"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "GROUPOPS_"))},
            "PATH": _uv_on_path(home / "bin"),
            "PREFECT_HOME": str(home / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            # The worker env file's settings (deploy/worker.env.example), for this home:
            "GROUPOPS_DATABASE_URL": store,
            "GROUPOPS_AUTO_UPGRADE": "false",
            "GROUPOPS_OUTBOX_DIR": str(home / "outbox"),
            # What the runbook's commands expect in their shell:
            "SMTP_PASSWORD": "walk-smtp-password",
            "MATRIX_TOKEN": "walk-matrix-token",
            "STORE_URL": store.replace("postgresql+psycopg://", "postgresql://"),
            "WALK_HOME": str(home),
            "WALK_PREVIOUS_REVISION": previous_revision(),
        }
        report.say(f"prefect server on 127.0.0.1:{port}, store {store.rsplit('/', 1)[-1]}")
        server_log = home / "server.log"
        server = stack.enter_context(
            _background(
                f"uv run --frozen prefect server start --host 127.0.0.1 --port {port}",
                env,
                server_log,
            )
        )
        _wait_healthy(api, server, server_log)
        env["PREFECT_API_URL"] = api
        worker = ExitStack()
        stack.enter_context(worker)
        for block in parsed:
            report.say(f"docs/operations.md line {block.number}:")
            if block.stop_worker:
                report.say("  (the walk stops its worker, as systemctl stop would)")
                worker.close()
            if block.run:
                for line in block.lines():
                    run_line(line, env, report, line_timeout)
            else:
                report.skipped.append(f"{block.number}: block  ({block.reason})")
                report.say(f"  skip block ({block.reason})")
            if block.start_worker:
                command = worker_command(UNIT.read_text(encoding="utf-8"), socket.gethostname())
                report.say(f"  & {command}  (the unit's ExecStart, in the background)")
                worker.enter_context(_background(command, env, home / "worker.log"))
        for number, text in enumerate(after, start=1):
            run_line(Line(-number, text), env, report, line_timeout)
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "GROUPOPS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        help="a PostgreSQL URL allowed to create and drop a database (the walk's store)",
    )
    parser.add_argument("--runbook", type=Path, default=RUNBOOK)
    args = parser.parse_args(argv)
    report = walk(args.postgres, args.runbook)
    print(
        f"walked: {len(report.ran)} line(s) ran, {len(report.skipped)} skipped, "
        f"{len(report.allowed_failures)} allowed exit 1"
    )


if __name__ == "__main__":
    main()
