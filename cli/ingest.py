"""``groupops ingest``, ``groupops quarantine``, ``groupops runs``."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy.orm import Session

from cli import common
from cli.app import app, console, err_console
from groupops.canonical import Entity
from groupops.db.models import IngestRun, QuarantineRecord
from groupops.ingest.bundle import BundleError
from groupops.ingest.pipeline import IngestSummary, reporting_progress

FORMATS = (
    "auto",
    "canonical",
    "roster",
    "slack",
    "telegram",
    "whatsapp",
    "discord",
    "wechat-csv",
)


def resolve_format(path: Path, format_: str) -> str:
    """The concrete format for ``path``; ``auto`` asks the importers' detector."""
    if format_ != "auto":
        return format_
    from groupops.importers import detect_format

    return detect_format(path)


@app.command()
def ingest(
    path: Annotated[
        Path, typer.Argument(help="A bundle folder or .zip, or an export file/folder.")
    ],
    format_: Annotated[
        str, typer.Option("--format", "-f", help=f"One of: {', '.join(FORMATS)}.")
    ] = "auto",
    local: Annotated[
        bool,
        typer.Option(
            "--local",
            help="Run in this process without Prefect (no server start); the run is still "
            "recorded in the store.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            help="KEY=VALUE for the importer, repeatable: whatsapp date_order=dmy|mdy|ymd, "
            "group_id, group_name, self_name; wechat-csv encoding, group_id, group_name, "
            "self_id, self_name; telegram include_personal=true (one-to-one chats of a "
            "whole-account export).",
        ),
    ] = None,
) -> None:
    """Ingest activity: validate, upsert idempotently, quarantine bad records.

    Exit code 0 when every record loaded, 2 when anything went to quarantine, 1 on error."""
    if format_ not in FORMATS:
        raise typer.BadParameter(f"unknown format {format_!r}; one of {', '.join(FORMATS)}")
    if not path.exists():
        err_console.print(f"[red]✗[/] {path}: no such file or folder")
        raise typer.Exit(1)
    try:
        chosen = resolve_format(path, format_)
    except ValueError as exc:  # the detector's UnknownFormatError: no known export here
        err_console.print(f"[red]✗[/] {exc}")
        raise typer.Exit(1) from exc
    if format_ == "auto" and not as_json:
        console.print(f"format: [bold]{chosen}[/] (detected)")
    options = _options(option or [], chosen)
    try:
        summary = _run(path, chosen, local=local, quiet=as_json, options=options)
    except BundleError as exc:
        err_console.print(f"[red]✗[/] {exc}")
        raise typer.Exit(1) from exc
    if as_json:
        console.print_json(json.dumps(summary.as_dict(), ensure_ascii=False))
    else:
        print_summary(summary)
    raise typer.Exit(summary.exit_code)


def _options(pairs: list[str], format_: str) -> dict[str, str]:
    """``KEY=VALUE`` pairs as a dict, checked against what the format's importer takes."""
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--option")
        options[key.strip()] = value.strip()
    if options:
        from groupops.importers import OPTIONS

        unknown = sorted(set(options) - set(OPTIONS.get(format_, ())))
        if unknown:
            accepted = ", ".join(OPTIONS.get(format_, ())) or "none"
            raise typer.BadParameter(
                f"format {format_!r} takes no option {', '.join(unknown)} (it takes: {accepted})",
                param_hint="--option",
            )
    return options


def _run(
    path: Path, format_: str, *, local: bool, quiet: bool, options: dict[str, str] | None = None
) -> IngestSummary:
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=None),
        TextColumn("{task.completed:,} records"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=quiet,
    )
    bars: dict[Entity, TaskID] = {}

    def hook(entity: Entity, read: int) -> None:
        if entity not in bars:
            bars[entity] = progress.add_task(entity, total=None)
        progress.update(bars[entity], completed=read)

    with progress, reporting_progress(hook):
        if local:
            from groupops.importers import open_source
            from groupops.ingest.pipeline import run_ingest

            engine = common.engine()
            try:
                source, _format = open_source(path, format_, **(options or {}))
                return run_ingest(
                    source,
                    engine,
                    common.policy(),
                    chunk_size=common.settings().chunk_size,
                )
            finally:
                engine.dispose()
        from flows.ingest_activity import ingest_activity

        progress.add_task("starting Prefect…", total=None)
        return ingest_activity(
            str(path),
            format=format_,
            chunk_size=common.settings().chunk_size,
            options=options or None,
        )


def print_summary(summary: IngestSummary) -> None:
    table = Table(title=f"ingest run {summary.run_id}: {summary.source}", title_justify="left")
    for col in ("entity", "loaded", "updated", "unchanged", "quarantined"):
        table.add_column(col, justify="left" if col == "entity" else "right")
    for e in summary.entities:
        table.add_row(
            e.entity,
            *(f"{getattr(e, c):,}" for c in ("loaded", "updated", "unchanged", "quarantined")),
        )
    table.add_row(
        "[bold]total",
        *(f"[bold]{summary.total(c):,}" for c in ("loaded", "updated", "unchanged", "quarantined")),
    )
    console.print(table)
    if summary.total("quarantined"):
        console.print(
            f"[yellow]![/] {summary.total('quarantined')} record(s) in quarantine: "
            f"[bold]groupops quarantine list --run {summary.run_id}[/]"
        )
    else:
        console.print("[green]✓[/] every record loaded")


quarantine_app = typer.Typer(help="Rejected input records.", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("list")
def quarantine_list(
    run: Annotated[
        int | None, typer.Option(help="Only records rejected (again) by this run.")
    ] = None,
    source: Annotated[str | None, typer.Option(help="Only records from this source file.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many records.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """List quarantined records: file, line, field, reason and the raw text."""
    engine = common.engine()
    stmt = sa.select(QuarantineRecord).order_by(QuarantineRecord.source_file, QuarantineRecord.line)
    if run is not None:
        stmt = stmt.where(QuarantineRecord.run_id == run)
    if source is not None:
        stmt = stmt.where(QuarantineRecord.source_file == source)
    with Session(engine) as session:
        total = session.execute(
            sa.select(sa.func.count()).select_from(stmt.subquery())
        ).scalar_one()
        rows = session.execute(stmt.limit(limit)).scalars().all()
    engine.dispose()
    if as_json:
        for r in rows:
            print(json.dumps(_quarantine_dict(r), ensure_ascii=False))
        return
    table = Table(title=f"quarantine: {total} record(s)", title_justify="left", show_lines=False)
    for col in ("where", "entity", "field", "reason", "raw"):
        table.add_column(col, overflow="fold")
    for r in rows:
        raw = r.raw if len(r.raw) <= 80 else r.raw[:77] + "…"
        table.add_row(f"{r.source_file}:{r.line}", r.entity, r.field, r.reason, raw)
    console.print(table)
    if total > len(rows):
        console.print(f"… and {total - len(rows)} more (--limit)")


def _quarantine_dict(r: QuarantineRecord) -> dict[str, object]:
    return {
        "source_file": r.source_file,
        "line": r.line,
        "entity": r.entity,
        "field": r.field,
        "reason": r.reason,
        "raw": r.raw,
        "run_id": r.run_id,
        "first_seen_at": r.first_seen_at.isoformat(),
        "last_seen_at": r.last_seen_at.isoformat(),
    }


runs_app = typer.Typer(help="Ingest runs and their counts.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


@runs_app.command("list")
def runs_list(limit: Annotated[int, typer.Option(help="The newest N runs.")] = 20) -> None:
    """The newest ingest runs: source, status, counts, watermark."""
    engine = common.engine()
    with Session(engine) as session:
        stmt = sa.select(IngestRun).order_by(IngestRun.id.desc()).limit(limit)
        rows = session.execute(stmt).scalars().all()
    engine.dispose()
    table = Table(title="ingest runs", title_justify="left")
    for col in (
        "id",
        "started",
        "source",
        "format",
        "status",
        "loaded",
        "updated",
        "unchanged",
        "quarantined",
        "watermark",
    ):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r.id),
            r.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            r.source,
            r.format,
            r.status,
            *(f"{getattr(r, c):,}" for c in ("loaded", "updated", "unchanged", "quarantined")),
            r.watermark.isoformat() if r.watermark else "",
        )
    console.print(table)
