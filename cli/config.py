"""``groupops config``: the effective settings (secrets masked) and the policy in force."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from cli import common
from cli.app import app, console

config_app = typer.Typer(help="Settings and policy in force.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the settings (from GROUPOPS_* variables and .env; secrets masked) and validate the
    policy file (exit 2 with the key and the problem when it is invalid)."""
    settings = common.settings().redacted()
    policy = common.policy()
    if as_json:
        payload = {"settings": settings, "policy": policy.model_dump(mode="json")}
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
        return
    table = Table(title="settings", title_justify="left")
    table.add_column("setting")
    table.add_column("value", overflow="fold")
    for key, value in settings.items():
        table.add_row(f"GROUPOPS_{key.upper()}", "" if value is None else str(value))
    console.print(table)
    console.print(
        f"[green]✓[/] policy {common.settings().policy_path} is valid: language {policy.language}, "
        f"zone {policy.timezone}, working hours "
        + ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in policy.working_time.periods)
    )
