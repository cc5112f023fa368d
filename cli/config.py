"""``groupops config``: the effective settings (secrets masked) and the policy in force."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli import common
from cli.app import app, console
from cli.tables import Col, print_table

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
    rows = [[f"GROUPOPS_{key.upper()}", "" if value is None else str(value)]
            for key, value in settings.items()]  # fmt: skip
    print_table("settings", [Col("setting", keep=True), Col("value", keep=True)], rows)
    console.print(
        f"[green]✓[/] policy {common.settings().policy_path} is valid: language {policy.language}, "
        f"zone {policy.timezone}, working hours "
        + ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in policy.working_time.periods),
        soft_wrap=True,
    )
