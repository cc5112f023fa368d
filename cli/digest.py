"""``groupops digest``: weekly / monthly digests to owners and admins, through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import typer
from rich.table import Table

from cli import common
from cli.app import app, console, err_console


@app.command()
def digest(
    period: Annotated[
        str, typer.Option("--period", "-p", help="week or month: the last complete one.")
    ] = "week",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Reference instant (default: now).")
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option("--owner", help="Only this owner's digest and their groups' admin digests."),
    ] = None,
    send: Annotated[
        bool, typer.Option("--send", help="Send unsent digests over SMTP (else: outbox only).")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Re-queue (and re-send) digests already queued.")
    ] = False,
    local: Annotated[
        bool,
        typer.Option("--local", help="Run in this process without Prefect (sending: no retries)."),
    ] = False,
) -> None:
    """Render the digests of the last complete week or month into the outbox (idempotent), and
    with ``--send`` deliver them. Prints each digest's outcome and ``.eml`` path."""
    if period not in ("week", "month"):
        raise typer.BadParameter("week or month", param_hint="--period")
    kind: Literal["week", "month"] = "week" if period == "week" else "month"
    pol = common.policy()
    when = common.instant_option(as_of, pol) or datetime.now(UTC)
    if local:
        rows, failed = _run_local(kind, when, owner, send, force)
    else:
        from flows.send_digests import send_digests

        result = send_digests(period=kind, as_of=when, owner=owner, send=send, force=force)
        rows = [r.model_dump() for r in result.rows]
        failed = result.failed
    print_digests(rows, send)
    if failed:
        err_console.print(f"[red]not sent (kept in the outbox):[/] {', '.join(failed)}")
        raise typer.Exit(1)


def _run_local(
    kind: Literal["week", "month"], as_of: datetime, owner: str | None, send: bool, force: bool
) -> tuple[list[dict[str, object]], list[str]]:
    from groupops.digest import prepare_digests
    from groupops.mail import SmtpConfig, SmtpTransport, pending_entries, send_entry

    settings = common.settings()
    engine = common.engine()
    try:
        outcomes = prepare_digests(
            engine, common.policy(), kind=kind, as_of=as_of, outbox_dir=settings.outbox_dir,
            sender=settings.mail_from, owner=owner, force=force,
        )  # fmt: skip
        sent: set[str] = set()
        failed: list[str] = []
        config = SmtpConfig.from_settings(settings)
        keys = [o.key for o in outcomes if o.outbox_id is not None]
        if send and config is None:
            err_console.print(
                "no SMTP host configured (GROUPOPS_SMTP_HOST): emails stay in the outbox"
            )
        elif send and keys and config is not None:
            transport = SmtpTransport(config)
            for entry in pending_entries(engine, keys=keys):
                try:
                    send_entry(engine, entry.id, transport)
                    sent.add(entry.key)
                except Exception as exc:  # recorded on the outbox row; reported below
                    err_console.print(f"[red]{entry.key}[/]: {type(exc).__name__}: {exc}")
                    failed.append(entry.key)
    finally:
        engine.dispose()
    rows: list[dict[str, object]] = [
        {"key": o.key, "audience": o.audience, "subject_id": o.subject_id, "outcome": o.outcome,
         "recipients": o.recipients, "eml_path": str(o.eml_path) if o.eml_path else None,
         "sent": o.key in sent}
        for o in outcomes
    ]  # fmt: skip
    return rows, failed


def print_digests(rows: list[dict[str, object]], send: bool) -> None:
    """One row per digest: key, outcome, recipients, sent, the .eml file."""
    table = Table(title="Digests")
    for col in ("digest", "outcome", "recipients", "sent", "outbox file"):
        table.add_column(col)
    for r in rows:
        recipients = r["recipients"]
        assert isinstance(recipients, list)
        table.add_row(
            str(r["key"]),
            str(r["outcome"]),
            ", ".join(recipients),
            "yes" if r["sent"] else ("no" if send else "–"),
            str(r["eml_path"] or ""),
        )
    console.print(table)
