"""``groupops ingest``, ``groupops quarantine``, ``groupops runs``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli import common
from cli.app import app, console, err_console
from cli.tables import Col, print_table, safe

if TYPE_CHECKING:
    from groupops.db.models import QuarantineRecord
    from groupops.ingest.pipeline import IngestSummary

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
    prefect: common.PrefectOpt = False,
    local: common.LocalOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Read every file, even one unchanged since a clean ingest read it."
        ),
    ] = False,
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
    from groupops.ingest.bundle import BundleError

    if format_ not in FORMATS:
        raise typer.BadParameter(f"unknown format {format_!r}; one of {', '.join(FORMATS)}")
    if not path.exists():
        err_console.print(f"[red]✗[/] {safe(path)}: no such file or folder")
        raise typer.Exit(1)
    try:
        chosen = resolve_format(path, format_)
    except ValueError as exc:  # the detector's UnknownFormatError: no known export here
        err_console.print(f"[red]✗[/] {safe(exc)}")
        raise typer.Exit(1) from exc
    if format_ == "auto" and not as_json:
        console.print(f"format: [bold]{safe(chosen)}[/] (detected)")
    options = _options(option or [], chosen)
    try:
        summary = _run(path, chosen, prefect=common.use_prefect(prefect), quiet=as_json,
                       options=options, force=force)  # fmt: skip
    except BundleError as exc:
        err_console.print(f"[red]✗[/] {safe(exc)}")
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
    path: Path,
    format_: str,
    *,
    prefect: bool,
    quiet: bool,
    options: dict[str, str] | None = None,
    force: bool = False,
) -> IngestSummary:
    """Ingest in this process (``run_ingest``), or as the ``ingest-activity`` flow, whose tasks
    wrap the same steps (``begin_run``, ``ingest_entity`` per entity, ``finish_run``)."""
    with common.progress_bars(quiet=quiet):
        if prefect:
            from flows.ingest_activity import ingest_activity

            return ingest_activity(
                str(path),
                format=format_,
                chunk_size=common.settings().chunk_size,
                options=options or None,
                force=force,
            )
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
                force=force,
            )
        finally:
            engine.dispose()


def print_summary(summary: IngestSummary) -> None:
    counts = ("loaded", "updated", "unchanged", "quarantined")
    cols = [Col("entity"), *(Col(c, justify="right") for c in counts)]
    rows = [[e.entity, *(f"{getattr(e, c):,}" for c in counts)] for e in summary.entities]
    rows.append(["total", *(f"{summary.total(c):,}" for c in counts)])
    print_table(f"ingest run {summary.run_id}: {summary.source}", cols, rows)
    if summary.total("quarantined"):
        console.print(
            f"[yellow]![/] {summary.total('quarantined')} record(s) in quarantine: "
            f"[bold]groupops quarantine list --run {summary.run_id}[/]",
            soft_wrap=True,
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
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from groupops.db.models import QuarantineRecord

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
    cols = [Col("where", keep=True), Col("entity", drop=1), Col("field", keep=True),
            Col("reason"), Col("raw", drop=2)]  # fmt: skip
    table_rows = [
        [f"{r.source_file}:{r.line}", r.entity, r.field, r.reason,
         r.raw if len(r.raw) <= 80 else r.raw[:77] + "…"]
        for r in rows
    ]  # fmt: skip
    more = f"… and {total - len(rows)} more (--limit)" if total > len(rows) else None
    print_table(f"quarantined records ({total})", cols, table_rows, caption=more)


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
def runs_list(
    limit: Annotated[int, typer.Option(help="The newest N runs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The newest ingest runs: source, status, counts, watermark.

    Status is running, clean, quarantined, failed or crashed. A run still marked running whose
    process is gone (on this host) or whose lease lapsed (GROUPOPS_RUN_LEASE_SECONDS without a
    heartbeat) is marked crashed first, as the next ingest would."""
    from datetime import timedelta

    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from groupops.db.leases import reap_crashed
    from groupops.db.models import IngestRun

    engine = common.engine()
    reap_crashed(engine, lease=timedelta(seconds=common.store_settings().run_lease_seconds))
    with Session(engine) as session:
        stmt = sa.select(IngestRun).order_by(IngestRun.id.desc()).limit(limit)
        rows = session.execute(stmt).scalars().all()
    engine.dispose()
    counts = ("loaded", "updated", "unchanged", "quarantined")

    def iso(value: datetime | None) -> str | None:
        return value.astimezone(UTC).isoformat() if value else None

    if as_json:
        records = [
            {
                "id": r.id,
                "source": r.source,
                "format": r.format,
                "status": r.status,
                "started_at": iso(r.started_at),
                "finished_at": iso(r.finished_at),
                **{c: getattr(r, c) for c in counts},
                "watermark": iso(r.watermark),
                "heartbeat_at": iso(r.heartbeat_at),
                "owner": r.owner,
                "error": r.error,
            }
            for r in rows
        ]
        typer.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    cols = [
        Col("id", justify="right"),
        Col("started", keep=True, drop=3),
        Col("source", keep=True),
        Col("format", drop=5),
        Col("status", keep=True),
        *(Col(c, justify="right", drop=4 if c in ("updated", "unchanged") else 0) for c in counts),
        Col("watermark", keep=True, drop=6),
    ]
    table_rows = [
        [
            str(r.id),
            r.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            r.source,
            r.format,
            r.status,
            *(f"{getattr(r, c):,}" for c in counts),
            r.watermark.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if r.watermark else "",
        ]
        for r in rows
    ]
    crashed = [r for r in rows if r.status in ("crashed", "failed") and r.error]
    print_table(
        "ingest runs",
        cols,
        table_rows,
        caption="\n".join(f"run {r.id}: {r.error}" for r in crashed) or None,
    )
