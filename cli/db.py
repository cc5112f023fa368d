"""``groupops db``: the store's schema (migrations run under a lock; see groupops.db.schema)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli import common
from cli.app import app, console, err_console
from cli.tables import safe

db_app = typer.Typer(
    help="The store's schema: upgrade, downgrade, current revision, history.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")

TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--lock-timeout",
        help="Seconds to wait for another process's migration to finish before giving up.",
    ),
]


def _masked(url: str) -> str:
    from groupops.envsettings import mask_url

    return mask_url(url)


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[red]✗[/] {safe(message)}")
    return typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(
    revision: str = typer.Argument("head", help="Alembic revision to upgrade to."),
    lock_timeout: TimeoutOpt = 600.0,
) -> None:
    """Apply the schema migrations to the configured database (the deploy step; idempotent).

    Runs under the migration lock (PostgreSQL advisory lock, SQLite file lock): two upgrades
    started together both succeed, the second finding the work done."""
    from sqlalchemy.exc import SQLAlchemyError

    from groupops.db.schema import SchemaError, upgrade

    url = common.settings().database_url
    try:
        now = upgrade(url, revision, timeout=lock_timeout)
    except (SchemaError, SQLAlchemyError) as exc:
        raise _fail(f"{_masked(url)}: upgrade failed: {exc}") from exc
    console.print(f"[green]✓[/] {safe(_masked(url))} is at revision {now}", soft_wrap=True)


@db_app.command("downgrade")
def db_downgrade(
    revision: str = typer.Argument(
        ..., help="Revision to go back to (see `groupops db history`; `base` empties the schema)."
    ),
    lock_timeout: TimeoutOpt = 600.0,
) -> None:
    """Revert the schema to REVISION under the migration lock (the rollback step).

    Tables that the reverted migrations created are dropped with their rows: back the store up
    first (docs/operations.md). Set GROUPOPS_AUTO_UPGRADE=false on the workers, or they will
    upgrade the store again at their next run."""
    from sqlalchemy.exc import SQLAlchemyError

    from groupops.db.schema import SchemaError, current_revision, downgrade

    url = common.settings().database_url
    try:
        before = current_revision(url)
        now = downgrade(url, revision, timeout=lock_timeout)
    except (SchemaError, SQLAlchemyError) as exc:
        raise _fail(f"{_masked(url)}: downgrade failed: {exc}") from exc
    except Exception as exc:  # alembic: an unknown revision, a revision ahead of the store
        if type(exc).__module__.startswith("alembic"):
            raise _fail(f"{_masked(url)}: cannot downgrade to {revision!r}: {exc}") from exc
        raise
    console.print(
        f"[green]✓[/] {safe(_masked(url))} went from {before or '(empty)'} to {now or '(empty)'}",
        soft_wrap=True,
    )


@db_app.command("current")
def db_current(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 unless the store is at this code's head.")
    ] = False,
) -> None:
    """Show the configured database's schema revision against this code's head."""
    from sqlalchemy.exc import SQLAlchemyError

    from groupops.db.schema import schema_status

    url = common.store_settings().database_url
    try:
        status = schema_status(url)
    except SQLAlchemyError as exc:
        raise _fail(f"{_masked(url)}: unreachable: {exc}") from exc
    if as_json:
        typer.echo(json.dumps({"database": _masked(url), **status.as_dict()}))
    else:
        console.print(
            f"{safe(_masked(url))}: {status.current or '(empty)'} "
            f"(head {status.head}: {status.state})",
            soft_wrap=True,
        )
    if check and not status.at_head:
        raise typer.Exit(1)


@db_app.command("history")
def db_history(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every migration, newest first (the revisions `db downgrade` accepts)."""
    from groupops.db.schema import revisions

    rows = [
        {
            "revision": rev,
            "down_revision": down,
            "message": doc.strip().splitlines()[0] if doc else "",
        }
        for rev, down, doc in revisions()
    ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    from cli.tables import Col, print_table

    print_table(
        "migrations (newest first)",
        [Col("revision", keep=True), Col("down_revision", keep=True, drop=1), Col("message")],
        [[str(r["revision"]), str(r["down_revision"] or ""), str(r["message"])] for r in rows],
    )
