"""``groupops stats``: member activity statistics for a period (read-only; no Prefect)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from cli import common
from cli.app import app, console
from groupops.activity.stats import load_stats, stats_report
from groupops.clock.periods import Period
from groupops.mail.i18n import Language, fmt_minutes, fmt_pct
from groupops.roster import Directory


@app.command("stats")
def stats_command(
    group: Annotated[
        list[str] | None, typer.Option("--group", "-g", help="Only this group id (repeatable).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Start (ISO 8601 or a date, policy zone). Default: 7 days before --until."
        ),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="End, exclusive (ISO 8601 or a date). Default: now.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Messages, active days, share, mentions answered, reply times, inactive / new / departed
    members per group and member, with the change against the previous period."""
    pol = common.policy()
    end = common.instant_option(until, pol, name="--until") or datetime.now(UTC)
    start = common.instant_option(since, pol, name="--since") or end - timedelta(days=7)
    try:
        period = Period(start, end, pol.tz)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since/--until") from exc
    engine = common.engine()
    try:
        stats = load_stats(engine, period, pol, groups=group)
        people = Directory.load(engine)
    finally:
        engine.dispose()
    report = stats_report(stats, people)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    _print_tables(report, pol.language)


def _delta(value: object) -> str:
    if value is None or not isinstance(value, int | float) or value == 0:
        return ""
    return f" ({value:+,})" if isinstance(value, int) else f" ({value:+.2f})"


def _print_tables(report: dict[str, object], language: str) -> None:
    lang: Language = "en" if language == "en" else "zh-CN"
    period = report["period"]
    assert isinstance(period, dict)
    console.print(
        f"[bold]{period['label']}[/]  {period['since']} → {period['until']}  "
        f"(previous: {period['previous']['since']} → {period['previous']['until']})"
    )
    groups = report["groups"]
    assert isinstance(groups, list)
    summary = Table(title="Groups", show_lines=False)
    for col in ("group", "messages", "active", "members", "inactive", "new", "left",
                "@ answered", "median reply"):  # fmt: skip
        summary.add_column(col, justify="left" if col == "group" else "right")
    for g in groups:
        ch = g["change"]
        summary.add_row(
            f"{g['name'] or g['group_id']} [dim]{g['platform']}:{g['group_id']}[/]",
            f"{g['messages']:,}{_delta(ch['messages'])}",
            f"{g['active_members']}{_delta(ch['active_members'])}",
            f"{g['member_count']}{_delta(ch['member_count'])}",
            f"{len(g['inactive_members'])}{_delta(ch['inactive_members'])}",
            str(len(g["new_members"])),
            str(len(g["departed_members"])),
            fmt_pct(g["answer_rate"], lang),
            fmt_minutes(g["reply_median_minutes"], lang),
        )
    console.print(summary)
    for g in groups:
        table = Table(title=f"{g['name'] or g['group_id']}: members")
        for col in ("member", "messages", "days", "share", "first", "last", "@ recv/ans",
                    "median", "p90", "status"):  # fmt: skip
            table.add_column(col, justify="left" if col in ("member", "status") else "right")
        for m in g["members"]:
            status = ", ".join(
                s for s, on in (("inactive", m["inactive"]), ("new", m["joined"]),
                                ("left", m["departed"])) if on
            )  # fmt: skip
            table.add_row(
                _who(m),
                f"{m['messages']:,}{_delta((m['messages'] or 0) - (m['messages_prev'] or 0))}",
                str(m["active_days"]),
                fmt_pct(m["share"], lang, 1),
                _short(m["first_at"]),
                _short(m["last_at"]),
                f"{m['mentions_received']}/{m['mentions_answered']}",
                fmt_minutes(m["reply_median_minutes"], lang),
                fmt_minutes(m["reply_p90_minutes"], lang),
                status,
            )
        console.print(table)


def _who(member: dict[str, object]) -> str:
    """The member's name (member directory: real name first) and, dimmed, the id."""
    name, member_id = member["name"], member["member_id"]
    return f"{name} [dim]{member_id}[/]" if name != member_id else str(member_id)


def _short(value: str | None) -> str:
    return "–" if value is None else pd.Timestamp(value).strftime("%m-%d %H:%M")
