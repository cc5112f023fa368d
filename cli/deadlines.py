"""``groupops overdue`` and ``groupops tasks``: read-only views of reply and task deadlines at
an explicit instant (no Prefect, nothing written). People are shown by the member directory's
name (real name first); the JSON keeps the ids and adds ``assignee_name`` / ``requester_name``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from cli import common
from cli.app import app
from cli.tables import Col, print_table
from groupops.deadlines import DEFAULT_LOOKBACK_DAYS

if TYPE_CHECKING:
    from groupops.deadlines.obligations import Obligations
    from groupops.deadlines.rows import RowObligations
    from groupops.policy import Policy

AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="The instant to judge at: ISO 8601 (naive = policy zone) or a date. Default: now.",
    ),
]
GroupOpt = Annotated[
    list[str] | None, typer.Option("--group", "-g", help="Only this group id (repeatable).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON list instead of a table.")]
LookbackOpt = Annotated[
    int,
    typer.Option(help="Follow up obligations whose message is at most this many days old."),
]

ESCALATION_LABELS = {-1: "", 0: "assignee", 1: "admins", 2: "owner"}


def _obligations(
    as_of: str | None, groups: list[str] | None, lookback_days: int
) -> tuple[RowObligations | Obligations, Policy]:
    """The obligations at --as-of: the row engine's for a small span, else the frame engine's
    (one policy, one instant, one store for both)."""
    from groupops.watch import load_obligation_rows, load_obligations

    pol = common.policy()
    instant = common.instant_option(as_of, pol) or datetime.now(UTC)
    engine = common.engine()
    try:
        folder = common.store_settings().meetings_dir
        with common.progress_bars():
            rows = load_obligation_rows(
                engine, pol, instant, groups=groups, lookback_days=lookback_days,
                meetings_dir=folder,
            )  # fmt: skip
            if rows is not None:
                return rows, pol
            return load_obligations(
                engine, pol, instant, groups=groups, lookback_days=lookback_days,
                meetings_dir=folder,
            ), pol  # fmt: skip
    finally:
        engine.dispose()


def _local(value: object) -> str:
    """An ISO instant from :func:`to_records` (already in the policy zone) as ``m-d H:M``."""
    return str(value)[5:16].replace("T", " ") if value else ""


def _late(minutes: float, pol: Policy) -> str:
    """Working minutes late in words: the one lateness formatter (working hours under a
    working day of the policy, working days above), as the digest and the reminders say it."""
    from groupops.clock.lateness import format_lateness, working_day_minutes

    return format_lateness(minutes, working_day_minutes(pol.working_time), "en")


def overdue_records(ob: Obligations, pol: Policy) -> list[dict[str, object]]:
    """The overdue items as JSON records: minutes kept (``overdue_working_minutes``), the
    lateness in words added (``late``)."""
    from groupops.deadlines.obligations import to_records

    return _with_late(to_records(ob.overdue, pol.tz), pol)


def _with_late(records: list[dict[str, object]], pol: Policy) -> list[dict[str, object]]:
    for r in records:
        r["late"] = _late(float(str(r["overdue_working_minutes"])), pol)
    return records


@app.command()
def overdue(
    as_of: AsOf = None,
    group: GroupOpt = None,
    as_json: JsonOpt = False,
    lookback_days: LookbackOpt = DEFAULT_LOOKBACK_DAYS,
) -> None:
    """Replies and tasks overdue at --as-of, on the working clock, with their escalation step
    (1: the group's admins are told, 2: the owner)."""
    from groupops.deadlines.rows import RowObligations

    ob, pol = _obligations(as_of, group, lookback_days)
    if isinstance(ob, RowObligations):
        records, instant, pending = _with_late(ob.overdue, pol), ob.as_of, ob.pending
    else:
        records, instant, pending = overdue_records(ob, pol), ob.as_of, len(ob.pending)
    if as_json:
        typer.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    _print_overdue(records, instant, pending, pol)


def print_overdue(ob: Obligations, pol: Policy) -> None:
    """The overdue items as a table (also used by ``groupops demo``)."""
    _print_overdue(overdue_records(ob, pol), ob.as_of, len(ob.pending), pol)


def _print_overdue(
    records: list[dict[str, object]], as_of: datetime, pending: int, pol: Policy
) -> None:
    cols = [Col("kind", keep=True), Col("group", keep=True), Col("message", keep=True, stack=True),
            Col("assignee", keep=True), Col("from", keep=True, drop=2),
            Col("sent", keep=True, drop=4), Col("due", keep=True, drop=3),
            Col("late", justify="right"), Col("escalation", keep=True, drop=1)]  # fmt: skip
    rows = [
        [
            str(r["kind"]),
            str(r["group_id"]),
            str(r["message_id"]),
            str(r["assignee_name"]),
            str(r["requester_name"]),
            _local(r["requested_at"]),
            _local(r["due_at"]),
            str(r["late"]),
            ESCALATION_LABELS[int(str(r["escalation"]))],
        ]
        for r in records
    ]
    print_table(
        f"Overdue at {as_of.astimezone(pol.tz):%Y-%m-%d %H:%M} ({pol.timezone})",
        cols,
        rows,
        caption=f"{len(records)} overdue · {pending} pending · late is working time",
    )


@app.command("tasks")
def tasks_command(
    as_of: AsOf = None,
    group: GroupOpt = None,
    as_json: JsonOpt = False,
    lookback_days: LookbackOpt = DEFAULT_LOOKBACK_DAYS,
) -> None:
    """Every task (one row per assignee) with its state at --as-of, its deadline and the
    deadline the assignee committed to."""
    from groupops.deadlines.rows import RowObligations

    ob, pol = _obligations(as_of, group, lookback_days)
    if isinstance(ob, RowObligations):
        records, instant = ob.tasks, ob.as_of
    else:
        from groupops.deadlines.obligations import to_records

        records, instant = to_records(ob.tasks.drop(columns=["text"]), pol.tz), ob.as_of
    if as_json:
        typer.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    styles = {"done": "green", "overdue": "red", "ack_overdue": "yellow"}
    cols = [Col("group", keep=True), Col("message", keep=True, stack=True), Col("assignee", keep=True),
            Col("from", keep=True, drop=2), Col("assigned", keep=True, drop=3),
            Col("deadline", keep=True), Col("committed", keep=True, drop=1),
            Col("state", keep=True, markup=True)]  # fmt: skip
    rows = []
    for r in records:
        state = str(r["state"])
        rows.append([
            str(r["group_id"]),
            str(r["message_id"]),
            str(r["assignee_name"]),
            str(r["requester_name"]),
            _local(r["assigned_at"]),
            _local(r["deadline"]) + ("" if r["deadline_source"] == "text" else " (default)"),
            _local(r["committed_deadline"]),
            f"[{styles[state]}]{state}[/]" if state in styles else state,
        ])  # fmt: skip
    print_table(
        f"Tasks at {instant.astimezone(pol.tz):%Y-%m-%d %H:%M} ({pol.timezone})", cols, rows
    )
