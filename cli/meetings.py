"""``groupops meetings``: the meetings at an explicit instant — notices, changes, leave, minutes
and action items with their task states (read-only: no Prefect, nothing written)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli import common
from cli.app import app, console
from cli.tables import Col, print_table, safe
from groupops.deadlines import DEFAULT_LOOKBACK_DAYS  # light: the store module imports SQLAlchemy

if TYPE_CHECKING:
    from groupops.meetings.store import MeetingsView

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
    int, typer.Option(help="Meetings (and messages) from at most this many days before --as-of.")
]

_STATE_STYLE = {"cancelled": "dim", "scheduled": "cyan"}
_MINUTES_STYLE = {"missing": "red", "late": "yellow", "published": "green"}


def _local(value: object) -> str:
    return str(value)[5:16].replace("T", " ") if value else ""


def _counts(items: list[dict[str, Any]]) -> str:
    states = [str(a["state"]) for a in items]
    done = states.count("done")
    overdue = states.count("overdue") + states.count("ack_overdue")
    return f"{len(items) - done - overdue}/{overdue}/{done}" if items else ""


@app.command("meetings")
def meetings_command(
    as_of: AsOf = None,
    group: GroupOpt = None,
    as_json: JsonOpt = False,
    lookback_days: LookbackOpt = DEFAULT_LOOKBACK_DAYS,
) -> None:
    """Meetings at --as-of: from notices in the groups and from data/meetings/*.md; changes and
    cancellations, who is on leave, minutes (published / late / missing) and the action items,
    followed as tasks on the working clock. Attendance itself is unknown."""
    pol = common.policy()
    settings = common.store_settings()
    instant = common.instant_option(as_of, pol) or datetime.now(UTC)
    engine = common.engine()
    try:
        from groupops.watch import MeetingRows, load_meeting_rows

        # Small spans by the row engine (no pandas), larger ones by the frame engine: the same
        # meetings and records (tests/test_obligation_rows.py).
        view: MeetingRows | MeetingsView | None = load_meeting_rows(
            engine, pol, instant, groups=group, lookback_days=lookback_days,
            meetings_dir=settings.meetings_dir,
        )  # fmt: skip
        if view is None:
            from groupops.meetings.store import load_meetings

            view = load_meetings(
                engine,
                pol,
                instant,
                groups=group,
                lookback_days=lookback_days,
                meetings_dir=settings.meetings_dir,
            )
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(view.records, ensure_ascii=False, indent=2))
        return
    rows = []
    for r in view.records:
        state, minutes = str(r["state"]), str(r["minutes_state"])
        leave = len(r["on_leave"]) + len(r["late_leave"])
        rows.append(
            [
                _local(r["start"]),
                str(r["group_id"]),
                str(r["topic"]),
                f"[{_STATE_STYLE[state]}]{state}[/]" if state in _STATE_STYLE else state,
                str(len(r["attendees"])),
                str(leave) if leave else "",
                f"[{_MINUTES_STYLE[minutes]}]{minutes}[/]"
                if minutes in _MINUTES_STYLE
                else minutes,
                _counts(r["action_items"]),
            ]
        )
    print_table(
        f"Meetings at {view.found.as_of.astimezone(pol.tz):%Y-%m-%d %H:%M} ({pol.timezone})",
        [Col("start", keep=True), Col("group", keep=True), Col("topic"),
         Col("state", keep=True, markup=True), Col("people", justify="right", drop=3),
         Col("leave", justify="right", drop=2), Col("minutes", keep=True, markup=True),
         Col("items o/l/d", keep=True, drop=1)],
        rows,
    )  # fmt: skip
    console.print(
        f"{len(view.records)} meeting(s) · items: open/late/done · attendance is unknown "
        "(the platforms do not report who joined)"
    )
    for problem in view.problems:
        console.print(f"[yellow]warning:[/] {safe(problem)}")
