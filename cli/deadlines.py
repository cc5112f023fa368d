"""``groupops overdue`` and ``groupops tasks``: read-only views of reply and task deadlines at
an explicit instant (no Prefect, nothing written). People are shown by the member directory's
name (real name first); the JSON keeps the ids and adds ``assignee_name`` / ``requester_name``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from cli import common
from cli.app import app, console
from groupops.deadlines.obligations import Obligations, to_records
from groupops.policy import Policy
from groupops.watch import DEFAULT_LOOKBACK_DAYS, load_obligations

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


def _compute(
    as_of: str | None, groups: list[str] | None, lookback_days: int
) -> tuple[Obligations, Policy]:
    pol = common.policy()
    instant = common.instant_option(as_of, pol) or datetime.now(UTC)
    engine = common.engine()
    try:
        folder = common.settings().meetings_dir
        return load_obligations(
            engine, pol, instant, groups=groups, lookback_days=lookback_days, meetings_dir=folder
        ), pol
    finally:
        engine.dispose()


def _local(value: object) -> str:
    """An ISO instant from :func:`to_records` (already in the policy zone) as ``m-d H:M``."""
    return str(value)[5:16].replace("T", " ") if value else ""


def _duration(minutes: float) -> str:
    hours, mins = divmod(round(minutes), 60)
    return f"{hours}h{mins:02d}" if hours else f"{mins}m"


@app.command()
def overdue(
    as_of: AsOf = None,
    group: GroupOpt = None,
    as_json: JsonOpt = False,
    lookback_days: LookbackOpt = DEFAULT_LOOKBACK_DAYS,
) -> None:
    """Replies and tasks overdue at --as-of, on the working clock, with their escalation step
    (1: the group's admins are told, 2: the owner)."""
    ob, pol = _compute(as_of, group, lookback_days)
    if as_json:
        typer.echo(json.dumps(to_records(ob.overdue, pol.tz), ensure_ascii=False, indent=2))
        return
    print_overdue(ob, pol)


def print_overdue(ob: Obligations, pol: Policy) -> None:
    """The overdue items as a table (also used by ``groupops demo``)."""
    table = Table(title=f"Overdue at {ob.as_of.astimezone(pol.tz):%Y-%m-%d %H:%M} ({pol.timezone})")
    for col in (
        "kind",
        "group",
        "message",
        "assignee",
        "from",
        "sent",
        "due",
        "late",
        "escalation",
    ):
        table.add_column(
            col,
            justify="right" if col == "late" else "left",
            overflow="fold",
            no_wrap=col == "late",
        )
    for r in to_records(ob.overdue, pol.tz):
        table.add_row(
            str(r["kind"]),
            str(r["group_id"]),
            str(r["message_id"]),
            str(r["assignee_name"]),
            str(r["requester_name"]),
            _local(r["requested_at"]),
            _local(r["due_at"]),
            _duration(float(str(r["overdue_working_minutes"]))),
            ESCALATION_LABELS[int(str(r["escalation"]))],
        )
    console.print(table)
    console.print(f"{len(ob.overdue)} overdue · {len(ob.pending)} pending · late is working time")


@app.command("tasks")
def tasks_command(
    as_of: AsOf = None,
    group: GroupOpt = None,
    as_json: JsonOpt = False,
    lookback_days: LookbackOpt = DEFAULT_LOOKBACK_DAYS,
) -> None:
    """Every task (one row per assignee) with its state at --as-of, its deadline and the
    deadline the assignee committed to."""
    ob, pol = _compute(as_of, group, lookback_days)
    frame = ob.tasks.drop(columns=["text"])
    if as_json:
        typer.echo(json.dumps(to_records(frame, pol.tz), ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Tasks at {ob.as_of.astimezone(pol.tz):%Y-%m-%d %H:%M} ({pol.timezone})")
    for col in (
        "group",
        "message",
        "assignee",
        "from",
        "assigned",
        "deadline",
        "committed",
        "state",
    ):
        table.add_column(col)
    styles = {"done": "green", "overdue": "red", "ack_overdue": "yellow"}
    for r in to_records(frame, pol.tz):
        state = str(r["state"])
        table.add_row(
            str(r["group_id"]),
            str(r["message_id"]),
            str(r["assignee_name"]),
            str(r["requester_name"]),
            _local(r["assigned_at"]),
            _local(r["deadline"]) + ("" if r["deadline_source"] == "text" else " (default)"),
            _local(r["committed_deadline"]),
            f"[{styles[state]}]{state}[/]" if state in styles else state,
        )
    console.print(table)
