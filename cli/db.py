"""``groupops db``: the store's schema."""

from __future__ import annotations

import typer
from rich.text import Text

from cli import common
from cli.app import app, console
from cli.tables import safe, visible

db_app = typer.Typer(help="The store: schema migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(
    revision: str = typer.Argument("head", help="Alembic revision to upgrade to."),
) -> None:
    """Apply the schema migrations to the configured database (idempotent)."""
    from groupops.db import upgrade
    from groupops.db.engine import current_revision
    from groupops.settings import mask_url

    url = common.settings().database_url
    upgrade(url, revision)
    console.print(
        f"[green]✓[/] {safe(mask_url(url))} is at revision {current_revision(url)}",
        soft_wrap=True,
    )


@db_app.command("current")
def db_current() -> None:
    """Show the configured database's schema revision."""
    from groupops.db.engine import current_revision
    from groupops.settings import mask_url

    url = common.settings().database_url
    console.print(
        Text(visible(f"{mask_url(url)}: {current_revision(url) or '(empty)'}")), soft_wrap=True
    )
