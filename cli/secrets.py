"""``groupops secrets``: Prefect Secret blocks, created headless (no UI, nothing echoed)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from cli.app import app, console, err_console
from cli.tables import safe

secrets_app = typer.Typer(
    help="Secrets in Prefect Secret blocks (the SMTP password, source tokens).",
    no_args_is_help=True,
)
app.add_typer(secrets_app, name="secrets")


@secrets_app.command("set")
def secrets_set(
    name: Annotated[
        str,
        typer.Argument(
            help="The Secret block's name, e.g. smtp-password (what GROUPOPS_SMTP_PASSWORD_BLOCK "
            "or a sources.toml `{ block = ... }` names)."
        ),
    ],
    from_env: Annotated[
        str | None,
        typer.Option("--from-env", help="Read the value from this environment variable."),
    ] = None,
) -> None:
    """Create or replace the Prefect Secret block NAME on the server of PREFECT_API_URL.

    The value is read from standard input when it is piped (`printf '%s' "$PW" | groupops
    secrets set smtp-password`; one trailing newline is dropped), from --from-env VAR, or from
    a hidden prompt on a terminal. It is never printed or logged."""
    if not os.environ.get("PREFECT_API_URL"):
        err_console.print(
            "[red]✗[/] PREFECT_API_URL is not set: a Secret block must be stored on the Prefect "
            "server the workers use"
        )
        raise typer.Exit(1)
    if from_env is not None:
        value = os.environ.get(from_env)
        if value is None:
            err_console.print(f"[red]✗[/] the environment variable {from_env} is not set")
            raise typer.Exit(1)
    elif not sys.stdin.isatty():
        value = sys.stdin.read()
        value = value[:-1] if value.endswith("\n") else value
    else:
        value = typer.prompt(f"value of {name}", hide_input=True, confirmation_prompt=True)
    if not value:
        err_console.print("[red]✗[/] empty value: nothing stored")
        raise typer.Exit(1)

    from prefect.blocks.system import Secret

    Secret(value=value).save(name, overwrite=True)
    console.print(f"[green]✓[/] Secret block {safe(repr(name))} stored ({len(value)} characters)")
