"""``groupops stats``: member activity statistics for a period (read-only; no Prefect)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import typer

from cli import common
from cli.app import app, console
from cli.tables import Col, print_table, safe


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
    from groupops.activity.rowstats import small_span_report
    from groupops.clock.periods import Period

    pol = common.policy()
    end = common.instant_option(until, pol, name="--until") or datetime.now(UTC)
    start = common.instant_option(since, pol, name="--since") or end - timedelta(days=7)
    try:
        period = Period(start, end, pol.tz)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since/--until") from exc
    engine = common.engine()
    try:
        # a small span by the row engine (no pandas; the same report), else the frame engine
        report = small_span_report(engine, period, pol, groups=group)
        if report is None:
            from groupops.activity.stats import load_stats, stats_report
            from groupops.roster import Directory

            with common.progress_bars(quiet=as_json):
                stats = load_stats(engine, period, pol, groups=group)
            report = stats_report(stats, Directory.load(engine))
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    from groupops.clock.lateness import working_day_minutes

    _print_tables(report, pol.language, working_day_minutes(pol.working_time))


def _delta(value: object) -> str:
    if value is None or not isinstance(value, int | float) or value == 0:
        return ""
    return f" ({value:+,})" if isinstance(value, int) else f" ({value:+.2f})"


def _print_tables(report: dict[str, object], language: str, day: float) -> None:
    """The report as tables; reply times in working time (``day``: a working day's minutes)."""
    from groupops.mail.i18n import Language, fmt_duration, fmt_pct

    lang: Language = "en" if language == "en" else "zh-CN"
    period = report["period"]
    assert isinstance(period, dict)
    console.print(f"[bold]{period['label']}[/]  {period['since']} → {period['until']}")
    console.print(f"previous: {period['previous']['since']} → {period['previous']['until']}")
    groups = report["groups"]
    assert isinstance(groups, list)
    right: Literal["right"] = "right"
    cols = [Col("group", keep=True, markup=True), Col("messages", justify=right),
            Col("active", justify=right), Col("members", justify=right),
            Col("inactive", justify=right, drop=1), Col("new", justify=right, drop=5),
            Col("left", justify=right, drop=4), Col("@ answered", justify=right, drop=3),
            Col("median reply", justify=right, drop=2)]  # fmt: skip
    rows = []
    for g in groups:
        ch = g["change"]
        rows.append([
            f"{safe(g['name'] or g['group_id'])}\n[dim]{safe(g['platform'])}:{safe(g['group_id'])}[/]",
            f"{g['messages']:,}{_delta(ch['messages'])}",
            f"{g['active_members']}{_delta(ch['active_members'])}",
            f"{g['member_count']}{_delta(ch['member_count'])}",
            f"{len(g['inactive_members'])}{_delta(ch['inactive_members'])}",
            str(len(g["new_members"])),
            str(len(g["departed_members"])),
            fmt_pct(g["answer_rate"], lang),
            fmt_duration(g["reply_median_minutes"], day, lang),
        ])  # fmt: skip
    print_table("Groups", cols, rows)
    member_cols = [Col("member", keep=True, markup=True), Col("messages", justify=right),
                   Col("days", justify=right, drop=3), Col("share", justify=right, drop=2),
                   Col("first", keep=True, drop=7), Col("last", keep=True, drop=6),
                   Col("@ recv/ans", justify=right, drop=1),
                   Col("median", justify=right, drop=4), Col("p90", justify=right, drop=5),
                   Col("status")]  # fmt: skip
    for g in groups:
        member_rows = []
        for m in g["members"]:
            status = ", ".join(
                s for s, on in (("inactive", m["inactive"]), ("new", m["joined"]),
                                ("left", m["departed"])) if on
            )  # fmt: skip
            member_rows.append([
                _who(m),
                f"{m['messages']:,}{_delta((m['messages'] or 0) - (m['messages_prev'] or 0))}",
                str(m["active_days"]),
                fmt_pct(m["share"], lang, 1),
                _short(m["first_at"]),
                _short(m["last_at"]),
                f"{m['mentions_received']}/{m['mentions_answered']}",
                fmt_duration(m["reply_median_minutes"], day, lang),
                fmt_duration(m["reply_p90_minutes"], day, lang),
                status,
            ])  # fmt: skip
        print_table(f"{g['name'] or g['group_id']}: members", member_cols, member_rows)


def _who(member: dict[str, object]) -> str:
    """The member's name (member directory: real name first) and, dimmed, the id."""
    name, member_id = str(member["name"]), str(member["member_id"])
    return f"{safe(name)} [dim]{safe(member_id)}[/]" if name != member_id else safe(member_id)


def _short(value: str | None) -> str:
    """An ISO instant from the report (already in the policy zone) as ``m-d H:M``."""
    return "–" if value is None else value[5:16].replace("T", " ")
