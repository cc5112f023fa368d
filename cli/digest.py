"""``groupops digest``: weekly / monthly digests to owners and admins, through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.text import Text

from cli import common
from cli.app import app, err_console
from cli.tables import Col, print_table

if TYPE_CHECKING:
    import sqlalchemy as sa


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
    prefect: common.PrefectOpt = False,
    local: common.LocalOpt = False,
) -> None:
    """Render the digests of the last complete week or month into the outbox (idempotent), and
    with ``--send`` deliver them (in this process a failed send is not retried: it stays in the
    outbox for the next run; the ``send-digests`` flow retries with backoff). Prints each
    digest's outcome and ``.eml`` path."""
    if period not in ("week", "month"):
        raise typer.BadParameter("week or month", param_hint="--period")
    kind: Literal["week", "month"] = "week" if period == "week" else "month"
    pol = common.policy()
    when = common.instant_option(as_of, pol) or datetime.now(UTC)
    if not common.use_prefect(prefect):
        with common.progress_bars():
            rows, failed = run_here(kind, when, owner, send, force)
    else:
        from flows.send_digests import send_digests

        result = send_digests(period=kind, as_of=when, owner=owner, send=send, force=force)
        rows = [r.model_dump() for r in result.rows]
        failed = result.failed
    print_digests(rows, send)
    if failed:
        err_console.print(
            Text.assemble(("not sent (kept in the outbox): ", "red"), ", ".join(failed))
        )
        raise typer.Exit(1)


def run_here(
    kind: Literal["week", "month"], as_of: datetime, owner: str | None, send: bool, force: bool
) -> tuple[list[dict[str, object]], list[str]]:
    """The ``send-digests`` flow's steps in this process: ``prepare_digests``, then (``send``)
    delivery of this run's queued digests. ``(rows, keys that failed to send)``."""
    from groupops.digest import prepare_digests

    settings = common.settings()
    engine = common.engine()
    try:
        outcomes = prepare_digests(
            engine, common.policy(), kind=kind, as_of=as_of, outbox_dir=settings.outbox_dir,
            sender=settings.mail_from, owner=owner, force=force,
        )  # fmt: skip
        keys = [o.key for o in outcomes if o.outbox_id is not None]
        sent, failed = deliver(engine, keys) if send else (set(), [])
    finally:
        engine.dispose()
    rows: list[dict[str, object]] = [
        {"key": o.key, "audience": o.audience, "subject_id": o.subject_id, "outcome": o.outcome,
         "recipients": o.recipients, "eml_path": str(o.eml_path) if o.eml_path else None,
         "sent": o.key in sent}
        for o in outcomes
    ]  # fmt: skip
    return rows, failed


def deliver(engine: sa.Engine, keys: list[str]) -> tuple[set[str], list[str]]:
    """Send the still-unsent outbox entries among ``keys`` over SMTP, once each (no retries in
    this process: a failure is recorded on the entry, which stays sendable for the next run).
    ``(sent keys, failed keys)``; without an SMTP host nothing is sent."""
    from groupops.mail import SmtpConfig, SmtpTransport, pending_entries, send_entry

    config = SmtpConfig.from_settings(common.settings())
    sent: set[str] = set()
    failed: list[str] = []
    if config is None:
        if keys:
            err_console.print(
                "no SMTP host configured (GROUPOPS_SMTP_HOST): emails stay in the outbox"
            )
        return sent, failed
    transport = SmtpTransport(config)
    for entry in pending_entries(engine, keys=keys):
        try:
            send_entry(engine, entry.id, transport)
            sent.add(entry.key)
        except Exception as exc:  # recorded on the outbox row; reported below
            err_console.print(Text.assemble((entry.key, "red"), f": {type(exc).__name__}: {exc}"))
            failed.append(entry.key)
    return sent, failed


def print_digests(rows: list[dict[str, object]], send: bool) -> None:
    """One row per digest: key, outcome, recipients, sent, the .eml file."""
    cols = [Col("digest", keep=True), Col("outcome", keep=True),
            Col("recipients", drop=2), Col("sent", keep=True, drop=1),
            Col("outbox file", keep=True)]  # fmt: skip
    table_rows = []
    for r in rows:
        recipients = r["recipients"]
        assert isinstance(recipients, list)
        table_rows.append([
            str(r["key"]),
            str(r["outcome"]),
            ", ".join(recipients),
            "yes" if r["sent"] else ("no" if send else "–"),
            str(r["eml_path"] or ""),
        ])  # fmt: skip
    print_table("Digests", cols, table_rows)
