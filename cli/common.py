"""Helpers shared by the commands: settings, policy, an upgraded engine, time arguments, how a
state-changing command runs (in this process, or as its Prefect flow) and progress bars.

Only light modules are imported here (see :mod:`cli.app`); the domain is imported inside the
helpers that need it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from groupops.clock.timeparse import parse_instant

if TYPE_CHECKING:
    import sqlalchemy as sa

    from groupops.envsettings import CommandSettings
    from groupops.policy import Policy
    from groupops.settings import Settings

#: ``--prefect`` on every command that changes state: run it as its Prefect flow (the run shows
#: in the Prefect UI) instead of in this process. Setting ``PREFECT_API_URL`` does the same.
PrefectOpt = Annotated[
    bool,
    typer.Option(
        "--prefect",
        help="Run as the Prefect flow so the run shows in the Prefect UI (default when "
        "PREFECT_API_URL is set; without it Prefect starts a temporary server, ~20 s). "
        "Otherwise the command runs in this process; either way the run is recorded in the "
        "store.",
    ),
]
#: The former opt-in to in-process runs, now the default; accepted so old scripts keep working.
LocalOpt = Annotated[bool, typer.Option("--local", hidden=True, help="In process (the default).")]

# Prefect's own chatter (INFO logs, telemetry) stays out of a command's output; an operator's
# own PREFECT_* settings win.
_QUIET_PREFECT = {
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def use_prefect(flag: bool) -> bool:
    """Whether a state-changing command runs as its Prefect flow: with ``--prefect``, or when
    ``PREFECT_API_URL`` names a server (a deployment's worker or an operator's shell).

    In-process runs call the same domain functions the flow's tasks wrap, so the store ends
    up the same either way; only the Prefect UI (runs, artifacts, retries of network steps)
    needs the flow."""
    if not (flag or os.environ.get("PREFECT_API_URL")):
        return False
    for key, value in _QUIET_PREFECT.items():
        os.environ.setdefault(key, value)
    return True


def settings() -> Settings:
    """All the settings (pydantic-settings: secrets, mail, limits)."""
    from groupops.settings import get_settings

    return get_settings()


def store_settings() -> CommandSettings:
    """The store's URL and the files' paths (what read-only commands need): read from the
    environment without pydantic-settings when :func:`groupops.envsettings.read_environment`
    proves the same answer, else from the full settings (which fail on a bad value exactly as
    before). Not cached: reading ``os.environ`` costs microseconds, and a process that changes
    it (the demo, tests) sees the change."""
    from groupops.envsettings import ENV_FILE, CommandSettings, read_environment

    if not ENV_FILE.exists():
        light = read_environment(os.environ)
        if light is not None:
            return light
    full = settings()
    return CommandSettings(**{f.name: getattr(full, f.name) for f in fields(CommandSettings)})


def policy() -> Policy:
    from groupops.policy import PolicyError, load_policy

    try:
        return load_policy(store_settings().policy_path)
    except PolicyError as exc:
        raise typer.BadParameter(str(exc), param_hint="policy") from exc


def engine(*, migrate: bool = True) -> sa.Engine:
    """The configured store at this code's schema: upgraded under the migration lock when
    behind (unless ``GROUPOPS_AUTO_UPGRADE=false``; one cheap read when at head). A store this
    code cannot use ends the command with exit 1 and the reason."""
    from groupops.db import SchemaError, ensure_schema, make_engine

    config = store_settings()
    _check_url(config.database_url)
    if migrate:
        try:
            ensure_schema(config.database_url, migrate=config.auto_upgrade)
        except SchemaError as exc:
            from cli.app import err_console
            from cli.tables import safe

            err_console.print(f"[red]✗[/] {safe(exc)}")
            raise typer.Exit(1) from exc
    return make_engine(config.database_url)


def _check_url(url: str) -> None:
    """A database URL that does not parse ends the command with a one-line error naming the
    setting, its password masked (never a traceback that might echo it)."""
    from sqlalchemy.engine import make_url

    from cli.app import err_console
    from cli.tables import safe
    from groupops.envsettings import mask_url

    try:
        make_url(url)
    except Exception as exc:
        err_console.print(
            f"[red]✗[/] GROUPOPS_DATABASE_URL {safe(mask_url(url))} is not a database URL: "
            f"{safe(mask_url(str(exc)))}"
        )
        raise typer.Exit(1) from None


def instant_option(value: str | None, pol: Policy, *, name: str = "--as-of") -> datetime | None:
    """Parse an ``--as-of``/``--since``/``--until`` value: ISO 8601 (naive = policy zone) or a
    date (midnight in the policy zone)."""
    if value is None:
        return None
    try:
        return parse_instant(value, pol.tz)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=name) from exc


@contextmanager
def progress_bars(*, quiet: bool = False) -> Iterator[Callable[[str, int, int | None], None]]:
    """Rich progress bars on stderr for the domain's :func:`groupops.progress.report` calls,
    one bar per label; shown only on a terminal (pipes, CI and ``--json`` stay quiet)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    from cli.app import err_console
    from groupops.progress import reporting

    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=None),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=quiet or not err_console.is_terminal,
    )
    bars: dict[str, TaskID] = {}

    def hook(label: str, done: int, total: int | None) -> None:
        if label not in bars:
            bars[label] = progress.add_task(label, total=total)
        progress.update(bars[label], completed=done, total=total)

    with progress, reporting(hook):
        yield hook
