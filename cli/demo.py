"""``groupops demo``: the main job on the bundled demo data, into a fresh local store."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.cells import cell_len

from cli import common
from cli.app import app, console
from cli.deadlines import print_overdue
from cli.ingest import print_summary
from groupops.clock.timeparse import parse_instant
from groupops.settings import LOCAL_DIR, get_settings
from groupops.watch import load_obligations

DEMO_BUNDLE = Path("data/demo")
DEMO_DIR = LOCAL_DIR / "demo"


def demo_as_of(bundle: Path) -> datetime:
    """The demo's reference instant: ``as_of`` in its ``planted.json``."""
    planted = bundle / "planted.json"
    if planted.exists():
        return parse_instant(
            json.loads(planted.read_text(encoding="utf-8"))["as_of"], common.policy().tz
        )
    raise typer.BadParameter(
        f"{planted} is missing: the demo needs its as_of", param_hint="--bundle"
    )


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
    with _settings(
        {"GROUPOPS_DATABASE_URL": f"sqlite:///{db}", "GROUPOPS_OUTBOX_DIR": str(out / "outbox")}
    ):
        _run_demo(bundle, out, db)


@contextmanager
def _settings(env: dict[str, str]) -> Iterator[None]:
    """Point the settings (read by the flows in this process) at the demo store, then back."""
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


def _run_demo(bundle: Path, out: Path, db: Path) -> None:
    console.rule("[bold]groupops demo")
    console.print(f"bundle: {bundle}   store: {db}   (starting Prefect…)")
    as_of = demo_as_of(bundle)
    console.print(f"as of: {as_of.isoformat()} (the end of the demo period)")
    from flows.demo_pipeline import demo_pipeline

    result = demo_pipeline(as_of, str(bundle))

    console.rule("1. ingest")
    print_summary(result.ingest)

    console.rule("2. deadlines (working clock)")
    engine = common.engine(migrate=False)
    pol = common.policy()
    print_overdue(load_obligations(engine, pol, as_of), pol)
    watch = result.deadlines
    console.print(
        f"{watch.overdue} overdue, {watch.pending} pending, {watch.tasks} tasks; "
        f"{watch.reminders} reminder step(s) recorded, {watch.emails} email(s) in the outbox"
    )
    engine.dispose()

    console.rule("3. meetings")
    met = result.meetings
    console.print(
        f"{met.meetings} meetings: {met.held} held, {met.scheduled} scheduled, "
        f"{met.cancelled} cancelled; minutes missing for {met.minutes_missing}; "
        f"{met.emails} email(s) in the outbox (invitations with .ics, minutes)"
    )

    console.rule("4. moderation (violations, the penalty ladder)")
    mod = result.moderation
    for d in mod.decisions:
        console.print(
            f"{d['group_id']:16} {d['member_id']:12} {d['category']:13} {d['rule']:22} "
            f"{d['penalty']}"
        )
    console.print(
        f"{len(mod.decisions)} decided, {len(mod.notices)} notice(s) in the outbox, "
        f"{len(mod.actions)} action(s) recorded (admin to-dos where no connector acts); "
        "`groupops violations` / `groupops roster check` to explore"
    )

    console.rule("5. digests (outbox)")
    for run in (result.weekly, result.monthly):
        for row in run.rows:
            where = row.eml_path or "(not queued)"
            subject = row.subject_name or row.subject_id
            pad = " " * max(0, 12 - cell_len(subject))  # CJK names are two cells wide
            console.print(f"{run.period:5} {row.audience:5} {subject}{pad} {row.outcome:8} {where}")
    if not (result.weekly.smtp_configured or result.monthly.smtp_configured):
        console.print(
            "no SMTP host configured: the emails stay in the outbox (GROUPOPS_SMTP_HOST to send)"
        )
    console.rule("[bold]where things are")
    console.print(f"store:  {db}  (GROUPOPS_DATABASE_URL=sqlite:///{db} groupops … to explore)")
    console.print(f"outbox: {out / 'outbox'}")
