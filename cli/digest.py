"""``groupops digest``: weekly / monthly digests to owners and admins, through the outbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.text import Text

from cli import common
from cli.app import app, err_console
from cli.tables import Col, print_table, visible

if TYPE_CHECKING:
    from collections.abc import Sequence

    from groupops.chatbots import BotDelivery
    from groupops.digest import SectionProvider
    from groupops.mail import Delivery


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
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the digests as JSON (outcome, reason, cards).")
    ] = False,
) -> None:
    """Render the digests of the last complete week or month into the outbox (idempotent), and
    with ``--send`` deliver them (in this process a failed send is not retried: it stays in the
    outbox for the next run; the ``send-digests`` flow retries with backoff). Prints each
    digest's outcome and ``.eml`` path. A digest of a period with no data for any of its groups
    is held, not sent: the reason is printed, and with ``--send`` the command exits 1."""
    from groupops.mail import Delivery, DeliveryFailed

    if period not in ("week", "month"):
        raise typer.BadParameter("week or month", param_hint="--period")
    kind: Literal["week", "month"] = "week" if period == "week" else "month"
    pol = common.policy()
    when = common.instant_option(as_of, pol) or datetime.now(UTC)
    from groupops.chatbots import BotDelivery, CardsNotPosted

    if not common.use_prefect(prefect):
        with common.progress_bars():
            rows, delivery, cards = run_here(kind, when, owner, send, force)
    else:
        from flows.send_digests import send_digests

        try:
            result = send_digests(period=kind, as_of=when, owner=owner, send=send, force=force)
        except DeliveryFailed as exc:
            _report_failures(exc.delivery)
            raise typer.Exit(1) from exc
        except CardsNotPosted as exc:
            for error in exc.delivery.failed.values():
                err_console.print(Text(visible(f"card not posted: {error}")))
            raise typer.Exit(1) from exc
        rows = [r.model_dump() for r in result.rows]
        delivery = Delivery(sent=result.sent, failed=dict.fromkeys(result.failed, ""))
        cards = BotDelivery(sent=result.cards_posted, failed=result.cards_failed,
                            waiting=dict.fromkeys(result.cards_waiting, ""))  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
    else:
        print_digests(rows, send)
    held = [r for r in rows if r["outcome"] == "held"]
    for r in held:
        err_console.print(Text(f"held, not sent: {r['key']}: {r.get('reason') or ''}"))
    if send and not common.settings().smtp_host:
        err_console.print("no SMTP host configured (GROUPOPS_SMTP_HOST): emails stay in the outbox")
    if cards.sent or cards.failed or cards.waiting:
        err_console.print(Text(visible(f"group bots: {cards.describe()}")))
    for error in cards.failed.values():
        err_console.print(Text(visible(f"  {error}")))
    if delivery.failed:
        _report_failures(delivery)
        raise typer.Exit(1)
    if cards.failed:
        raise typer.Exit(1)
    if send and held:
        # A period without data is never sent; asked to send, say so in the exit status too.
        raise typer.Exit(1)


def _report_failures(delivery: Delivery) -> None:
    err_console.print("[red]not sent (kept in the outbox for the next run):[/]")
    for key, error in delivery.failed.items():
        err_console.print(Text(visible(f"  {key}: {error}" if error else f"  {key}")))


def run_here(
    kind: Literal["week", "month"],
    as_of: datetime,
    owner: str | None,
    send: bool,
    force: bool,
    *,
    providers: Sequence[SectionProvider] | None = None,
) -> tuple[list[dict[str, object]], Delivery, BotDelivery]:
    """The ``send-digests`` flow's steps in this process (no Prefect, so no retries): the same
    domain functions, the same delivery rule. ``providers``: the sections besides activity
    (default: :func:`groupops.digest.standard_providers` at ``as_of``, loaded here); the demo
    passes the ones it loaded once for both its periods."""
    from groupops.chatbots import BotDelivery, pending_cards, post_cards, targets_from
    from groupops.digest import DIGEST_KIND, prepare_digests
    from groupops.mail import Delivery, SmtpConfig, SmtpTransport, deliver, pending_entries

    settings = common.settings()
    engine = common.engine()
    try:
        outcomes = prepare_digests(
            engine, common.policy(), kind=kind, as_of=as_of, outbox_dir=settings.outbox_dir,
            sender=settings.mail_from, owner=owner, force=force, providers=providers,
        )  # fmt: skip
        delivery = Delivery()
        cards = BotDelivery()
        if send:
            own = [o.key for o in outcomes] if owner is not None else None
            keys = [e.key for e in pending_entries(engine, kind=DIGEST_KIND, keys=own)]
            config = SmtpConfig.from_settings(settings)
            delivery = deliver(engine, keys, SmtpTransport(config) if config else None)
            own_cards = [c for o in outcomes for c in o.cards] if owner is not None else None
            card_keys = pending_cards(engine, kind=DIGEST_KIND, keys=own_cards)
            if card_keys:
                pol = common.policy()
                targets = targets_from(pol, settings.chatbot_webhooks, settings.chatbot_secrets)
                cards = post_cards(engine, card_keys, targets)
    finally:
        engine.dispose()
    rows: list[dict[str, object]] = [
        {"key": o.key, "audience": o.audience, "subject_id": o.subject_id,
         "subject_name": o.subject_name, "outcome": o.outcome, "recipients": o.recipients,
         "eml_path": str(o.eml_path) if o.eml_path else None, "sent": o.key in delivery.sent,
         "reason": o.reason, "cards": list(o.cards)}
        for o in outcomes
    ]  # fmt: skip
    return rows, delivery, cards


def print_digests(rows: list[dict[str, object]], send: bool) -> None:
    """One row per digest: key, whom it is for, outcome, recipients, sent, the .eml file."""
    cols = [Col("digest", keep=True), Col("for", keep=True, drop=3), Col("outcome", keep=True),
            Col("recipients", drop=2), Col("sent", keep=True, drop=1),
            Col("outbox file", keep=True)]  # fmt: skip
    table_rows = []
    for r in rows:
        recipients = r["recipients"]
        assert isinstance(recipients, list)
        table_rows.append([
            str(r["key"]),
            str(r.get("subject_name") or r["subject_id"]),
            str(r["outcome"]),
            ", ".join(recipients),
            "yes" if r["sent"] else ("no" if send else "–"),
            str(r["eml_path"] or ""),
        ])  # fmt: skip
    print_table("Digests", cols, table_rows)
