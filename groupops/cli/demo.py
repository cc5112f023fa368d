"""``groupops demo``: the main job on the bundled demo data, into a fresh local store."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Annotated

import typer

from groupops.cli.app import app, console
from groupops.cli.ingest import print_summary
from groupops.settings import LOCAL_DIR, get_settings

DEMO_BUNDLE = Path("data/demo")
DEMO_DIR = LOCAL_DIR / "demo"


@app.command()
def demo(
    bundle: Annotated[Path, typer.Option(help="The demo bundle.")] = DEMO_BUNDLE,
    out: Annotated[
        Path, typer.Option(help="Fresh folder for the demo store and outbox.")
    ] = DEMO_DIR,
) -> None:
    """Run every pipeline in order on the demo company into a fresh local SQLite store, and
    print what it produced and where. Needs no secrets and no SMTP server."""
    if not bundle.exists():
        console.print(f"[red]✗[/] {bundle}: the demo bundle is missing")
        raise typer.Exit(1)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    db = out / "groupops.db"
    os.environ["GROUPOPS_DATABASE_URL"] = f"sqlite:///{db}"
    os.environ["GROUPOPS_OUTBOX_DIR"] = str(out / "outbox")
    get_settings.cache_clear()

    console.rule("[bold]groupops demo")
    console.print(f"bundle: {bundle}   store: {db}   (starting Prefect…)")
    from flows.demo_pipeline import demo_pipeline

    result = demo_pipeline(str(bundle))

    console.rule("1. ingest")
    print_summary(result.ingest)
    console.rule("[bold]where things are")
    console.print(f"store:  {db}  (GROUPOPS_DATABASE_URL=sqlite:///{db} groupops … to explore)")
    console.print(f"outbox: {out / 'outbox'}")
