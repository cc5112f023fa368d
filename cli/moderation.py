"""``groupops moderate``, ``groupops violations [record]``, ``groupops appeals [file|decide]``,
``groupops todos [done]`` and ``groupops roster check`` (rulebook ch. 1–2 and 6)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli import common
from cli.app import app, console, err_console
from cli.tables import Col, print_table, safe

if TYPE_CHECKING:
    from groupops.db.queries import LoadedMessages
    from groupops.policy import Policy

AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="The instant to judge at: ISO 8601 (naive = policy zone) or a date. Default: now.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _instant(value: str | None, pol: Policy, name: str = "--as-of") -> datetime:
    return common.instant_option(value, pol, name=name) or datetime.now(UTC)


def _required_instant(value: str, pol: Policy, name: str) -> datetime:
    parsed = common.instant_option(value, pol, name=name)
    assert parsed is not None
    return parsed


def _local(value: object, pol: Policy) -> str:
    if isinstance(value, datetime):
        return value.astimezone(pol.tz).strftime("%m-%d %H:%M")
    return str(value)[5:16].replace("T", " ") if value else ""


# -- groupops moderate ------------------------------------------------------------------------


@app.command()
def moderate(
    as_of: AsOf = None,
    group: Annotated[
        list[str] | None, typer.Option("--group", "-g", help="Only this group id (repeatable).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Detect and decide in memory; record nothing.")
    ] = False,
    as_json: JsonOpt = False,
    local: Annotated[
        bool, typer.Option("--local", help="Run in this process without Prefect.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Catch up from this instant: one run at the end of each working day's hours "
            "up to --as-of, then at --as-of (a first run over history, or after downtime).",
        ),
    ] = None,
) -> None:
    """Detect violations up to --as-of, decide them on the penalty ladder, notify the member,
    the admins and (on removal) the department head, act through the platforms (admin to-dos
    where none can), lift ended mutes, file and decide the appeals written in the groups,
    escalate overdue appeal answers. Re-running changes nothing."""
    from groupops.moderation.run import catch_up_instants, merge_results

    pol = common.policy()
    when = _instant(as_of, pol)
    instants = [when]
    if since is not None:
        start = _required_instant(since, pol, "--since")
        if start > when:
            raise typer.BadParameter("--since is after --as-of", param_hint="--since")
        instants = catch_up_instants(pol, start, when)
    runs = []
    if local and len(instants) > 1:  # a catch-up: each batch's runs read messages loaded once
        from groupops.moderation.run import catch_up_batches, catch_up_messages

        for batch in catch_up_batches(pol, instants):
            engine = common.engine()
            loaded = catch_up_messages(engine, pol, batch)
            engine.dispose()
            runs += [_moderate_local(at, group, dry_run, loaded) for at in batch]
    elif local:
        runs = [_moderate_local(when, group, dry_run)]
    else:
        from flows.moderate import moderate as moderate_flow

        for at in instants:
            run = moderate_flow(as_of=at, groups=group, dry_run=dry_run, only_in_working_time=False)
            runs.append(run.model_dump(mode="json"))
    result = runs[0] if since is None else merge_results(runs)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        return
    title = f"Moderation at {when.astimezone(pol.tz):%Y-%m-%d %H:%M}"
    print_table(
        title + (" (dry run)" if dry_run else ""),
        [Col("id", keep=True), Col("group", keep=True), Col("member", keep=True),
         Col("category", keep=True), Col("rule", keep=True, drop=2), Col("penalty", keep=True),
         Col("mute until", keep=True, drop=1)],
        [[str(d["violation_id"]), str(d["group_id"]), str(d["member_id"]), str(d["category"]),
          str(d["rule"]), str(d["penalty"]), _local(d["mute_until"], pol)]
         for d in result["decisions"]],
    )  # fmt: skip
    console.print(
        f"{result['detected']} detected · {len(result['decisions'])} decided · "
        f"{len(result['notices'])} notice(s) · {len(result['actions'])} action(s) · "
        f"{len(result['appeals_filed'])} appeal(s) filed · "
        f"{len(result.get('appeals_answered') or [])} answered"
        + (f" · {len(result['runs'])} run(s) from --since" if "runs" in result else "")
    )


def _moderate_local(
    when: datetime,
    groups: list[str] | None,
    dry_run: bool,
    loaded: LoadedMessages | None = None,
) -> dict[str, Any]:
    """One run at ``when`` in this process (``groupops moderate --local``, the demo);
    ``loaded``: a catch-up's messages, loaded once for all its runs."""
    from groupops.moderation.actions import ConnectorPool
    from groupops.moderation.run import moderate as run_moderation

    settings = common.settings()
    engine = common.engine()
    pool = ConnectorPool.from_file(settings.sources_path)
    try:
        result = run_moderation(
            engine, common.policy(), when, now=datetime.now(UTC), sender=settings.mail_from,
            outbox_dir=settings.outbox_dir, groups=groups, dry_run=dry_run, connector_for=pool,
            loaded=loaded,
        )  # fmt: skip
    finally:
        pool.close()
        engine.dispose()
    return result.as_dict()


# -- groupops violations ----------------------------------------------------------------------

violations_app = typer.Typer(
    help="Violations with their ladder step and state (and `record` to add one by hand).",
    invoke_without_command=True,
)
app.add_typer(violations_app, name="violations")


def violation_rows(as_of: datetime, groups: list[str] | None) -> list[dict[str, Any]]:
    """The ``groupops violations --json`` objects."""
    from groupops.moderation.store import load_violations, violation_dicts

    pol = common.policy()
    engine = common.engine()
    try:
        return violation_dicts(load_violations(engine, as_of=as_of, groups=groups), as_of, pol)
    finally:
        engine.dispose()


@violations_app.callback()
def violations(
    ctx: typer.Context,
    as_of: AsOf = None,
    group: Annotated[
        list[str] | None, typer.Option("--group", "-g", help="Only this group id (repeatable).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Violations with evidence up to --as-of: category, rule, evidence, ladder step, state."""
    if ctx.invoked_subcommand is not None:
        return
    pol = common.policy()
    rows = violation_rows(_instant(as_of, pol), group)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    print_table(
        "Violations",
        [Col("id", keep=True), Col("group", keep=True), Col("member", keep=True),
         Col("category", keep=True), Col("rule", keep=True, drop=4), Col("at", keep=True, drop=2),
         Col("penalty", keep=True), Col("state", keep=True), Col("evidence", keep=True, drop=3)],
        [[str(r["violation_id"]), r["group_id"], r["member_id"], r["category"], r["rule"],
          _local(r["at"], pol), str(r["penalty"] or "–"), r["state"],
          (ids[0] + (f" +{len(ids) - 1}" if len(ids) > 1 else "")) if (ids := r["message_ids"])
          else ""]
         for r in rows],
    )  # fmt: skip


@violations_app.command("record")
def violations_record(
    group: Annotated[str, typer.Option("--group", "-g", help="The group id.")],
    member: Annotated[str, typer.Option("--member", "-m", help="The member id.")],
    category: Annotated[str, typer.Option("--category", "-c", help="The category.")],
    at: Annotated[str, typer.Option("--at", help="When it happened (ISO 8601 or a date).")],
    by: Annotated[str, typer.Option("--by", help="The admin who judged it (member id).")],
    message: Annotated[
        list[str] | None, typer.Option("--message", help="An evidence message id (repeatable).")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Why (shown to the member).")] = None,
    platform: Annotated[
        str | None, typer.Option("--platform", help="The platform (when a group id is ambiguous).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a violation an admin judged (rumours, disputes): it enters the same ladder and
    is decided and notified by the next `groupops moderate`. The same command twice records
    it once."""
    from groupops.db.queries import load_groups
    from groupops.moderation.store import ViolationError, record_admin_violation

    pol = common.policy()
    when = _required_instant(at, pol, "--at")
    engine = common.engine()
    try:
        groups = load_groups(engine)
        matches = groups[groups["group_id"] == group]
        if platform is not None:
            matches = matches[matches["platform"] == platform]
        if len(matches) != 1:
            found = "no" if matches.empty else "more than one"
            raise typer.BadParameter(f"{found} group {group!r} in the store", param_hint="--group")
        record, created = record_admin_violation(
            engine, platform=str(matches.iloc[0]["platform"]), group_id=group, member_id=member,
            category=category, message_ids=message or [], at=when, recorded_by=by, note=note,
            now=datetime.now(UTC),
        )  # fmt: skip
    except ViolationError as exc:
        raise typer.BadParameter(str(exc), param_hint="--category") from exc
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps({"violation_id": record.id, "created": created}))
        return
    verb = "recorded" if created else "already recorded"
    console.print(f"violation {record.id} {verb}: {safe(member)} in {safe(group)} ({category})")


# -- groupops appeals -------------------------------------------------------------------------

appeals_app = typer.Typer(
    help="Appeals (申诉) with their working-day deadlines (`file`, `decide`).",
    invoke_without_command=True,
)
app.add_typer(appeals_app, name="appeals")


@appeals_app.callback()
def appeals(ctx: typer.Context, as_of: AsOf = None, as_json: JsonOpt = False) -> None:
    """Appeals filed by --as-of with their state then: pending, answer_overdue (with the overdue
    working minutes), upheld, rejected, late."""
    if ctx.invoked_subcommand is not None:
        return
    from groupops.clock.workclock import WorkClock
    from groupops.moderation.appeals import appeal_rows, load_appeals

    pol = common.policy()
    when = _instant(as_of, pol)
    engine = common.engine()
    try:
        rows = appeal_rows(load_appeals(engine, as_of=when), when, WorkClock.from_policy(pol))
    finally:
        engine.dispose()
    data = [r.as_dict(pol.tz) for r in rows]
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    print_table(
        "Appeals",
        [Col("id", keep=True), Col("violation", keep=True, drop=1), Col("group", keep=True),
         Col("member", keep=True), Col("filed", keep=True, drop=2),
         Col("appeal by", keep=True, drop=3), Col("answer by", keep=True),
         Col("state", keep=True)],
        [[str(r["appeal_id"]), str(r["violation_id"]), str(r["group_id"]), str(r["member_id"]),
          _local(r["filed_at"], pol), _local(r["appeal_deadline"], pol),
          _local(r["answer_due_at"], pol), str(r["state"])]
         for r in data],
    )  # fmt: skip


def _appeal_notice(engine: Any, appeal: Any, what: str, pol: Policy, recounts: Any = ()) -> None:
    from groupops.moderation.notices import send_appeal_notice

    settings = common.settings()
    send_appeal_notice(
        engine, appeal, what, pol, sender=settings.mail_from, outbox_dir=settings.outbox_dir,
        now=datetime.now(UTC), recounts=recounts,
    )  # fmt: skip


@appeals_app.command("file")
def appeals_file(
    violation_id: Annotated[int, typer.Argument(help="The violation appealed against.")],
    at: Annotated[str, typer.Option("--at", help="When the member appealed.")],
    reason: Annotated[str | None, typer.Option("--reason", help="The member's reason.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """File a member's appeal. Within the appeal window it waits for an admin's answer (the
    admins are emailed the answer deadline); filed late it is recorded as `late`, rejected, and
    the member is told."""
    from groupops.moderation.appeals import AppealError, file_appeal

    pol = common.policy()
    when = _required_instant(at, pol, "--at")
    engine = common.engine()
    try:
        filed = file_appeal(
            engine, violation_id, at=when, policy=pol, now=datetime.now(UTC), reason=reason
        )
        if filed.created:
            what = "late" if filed.appeal.state == "late" else "filed"
            _appeal_notice(engine, filed.appeal, what, pol)
    except AppealError as exc:
        err_console.print(f"[red]✗[/] {safe(str(exc))}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    a = filed.appeal
    if as_json:
        typer.echo(json.dumps({"appeal_id": a.id, "state": a.state, "created": filed.created}))
        return
    console.print(f"appeal {a.id} against violation {violation_id}: {a.state}")


@appeals_app.command("decide")
def appeals_decide(
    appeal_id: Annotated[int, typer.Argument(help="The appeal to answer.")],
    at: Annotated[str, typer.Option("--at", help="When the admin answered.")],
    by: Annotated[str, typer.Option("--by", help="The admin (member id).")],
    uphold: Annotated[bool, typer.Option("--uphold", help="The appeal is right.")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="The violation stands.")] = False,
    note: Annotated[
        str | None, typer.Option("--note", help="The answer, sent to the member.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer an appeal. --uphold revokes the violation, recounts the ladder for that member
    (a later mute that was one only because of it becomes a warning) and lifts the penalty at
    the next `groupops moderate` (unmute; a removed member gets a re-invite to-do). --reject:
    it stands. Either way the member is told."""
    from groupops.moderation.appeals import AppealError, decide_appeal

    if uphold == reject:
        raise typer.BadParameter("give exactly one of --uphold or --reject")
    pol = common.policy()
    when = _required_instant(at, pol, "--at")
    engine = common.engine()
    try:
        decided = decide_appeal(
            engine, appeal_id, uphold=uphold, at=when, by=by, policy=pol,
            now=datetime.now(UTC), note=note,
        )  # fmt: skip
        if decided.changed:
            _appeal_notice(engine, decided.appeal, decided.appeal.state, pol, decided.recounts)
    except AppealError as exc:
        err_console.print(f"[red]✗[/] {safe(str(exc))}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "appeal_id": appeal_id,
                    "state": decided.appeal.state,
                    "changed": decided.changed,
                    "recounted": [
                        {"violation_id": r.violation_id, "from": r.previous, "to": r.penalty}
                        for r in decided.recounts
                    ],
                }
            )
        )
        return
    console.print(f"appeal {appeal_id}: {decided.appeal.state}")
    for r in decided.recounts:
        console.print(f"  violation {r.violation_id}: {r.previous} → {r.penalty}")


# -- groupops todos ---------------------------------------------------------------------------

todos_app = typer.Typer(
    help="The admins' to-dos: platform actions no connector could carry out (`done` marks one).",
    invoke_without_command=True,
)
app.add_typer(todos_app, name="todos")


@todos_app.callback()
def todos(
    ctx: typer.Context,
    as_of: AsOf = None,
    group: Annotated[
        list[str] | None, typer.Option("--group", "-g", help="Only this group id (repeatable).")
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also the done and resolved ones.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The to-dos due by --as-of: mute, unmute, remove, re-invite where no connector acts (or
    it failed). Open until an admin marks one done (`groupops todos done ID`) or it resolves
    itself (a removal or leave recorded, the mute ended, the violation revoked)."""
    if ctx.invoked_subcommand is not None:
        return
    from groupops.moderation.todos import load_todos

    pol = common.policy()
    when = _instant(as_of, pol)
    engine = common.engine()
    try:
        rows = [r for r in load_todos(engine, when, groups=group) if show_all or r.state == "open"]
    finally:
        engine.dispose()
    data = [r.as_dict(pol.tz) for r in rows]
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    title = f"Admin to-dos at {when.astimezone(pol.tz):%Y-%m-%d %H:%M}"
    table = []
    for r in data:
        state = str(r["state"]) + (" (failed)" if r["failed"] and r["state"] == "open" else "")
        if r["state"] == "done":
            state += f" by {r['done_by']}"
        elif r["resolved_by"]:
            state += f": {r['resolved_by']}"
        table.append(
            [str(r["todo_id"]), str(r["group_id"]), str(r["member_id"]), str(r["action"]),
             _local(r["due_at"], pol), state, str(r["violation_id"])]
        )  # fmt: skip
    print_table(
        title,
        [Col("id", keep=True), Col("group", keep=True), Col("member", keep=True),
         Col("action", keep=True), Col("due", keep=True, drop=2), Col("state"),
         Col("violation", keep=True, drop=1)],
        table,
    )  # fmt: skip
    if not show_all:
        console.print(f"{len(data)} open · `groupops todos done ID --by ADMIN` when one is done")


@todos_app.command("done")
def todos_done(
    todo_ids: Annotated[list[int], typer.Argument(help="The to-do(s) done (their ids).")],
    by: Annotated[str, typer.Option("--by", help="The admin who did it (member id).")],
    at: Annotated[
        str | None, typer.Option("--at", help="When it was done (ISO 8601). Default: now.")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="What was done.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Mark admin to-dos done (the admin muted, unmuted, removed or re-invited the member by
    hand): they leave the admins' digest and `groupops todos`. Marking one again changes
    nothing; an action a connector carried out is refused."""
    from groupops.moderation.todos import TodoError, mark_done

    pol = common.policy()
    when = _instant(at, pol, "--at")
    engine = common.engine()
    out = []
    try:
        for todo_id in todo_ids:
            marked = mark_done(engine, todo_id, at=when, by=by, now=datetime.now(UTC), note=note)
            out.append({**marked.row.as_dict(pol.tz), "changed": marked.changed})
    except TodoError as exc:
        err_console.print(f"[red]✗[/] {safe(str(exc))}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    for r in out:
        verb = "marked done" if r["changed"] else "already done"
        console.print(
            f"to-do {r['todo_id']} ({r['action']} {safe(str(r['member_id']))} in "
            f"{safe(str(r['group_id']))}): {verb} by {safe(str(r['done_by']))}"
        )


# -- groupops roster --------------------------------------------------------------------------

roster_app = typer.Typer(help="Roster compliance: 实名制, approved joins, departures.",
                         no_args_is_help=True)  # fmt: skip
app.add_typer(roster_app, name="roster")


@roster_app.command("check")
def roster_check(as_of: AsOf = None, as_json: JsonOpt = False) -> None:
    """Findings at --as-of: departed_still_member, left_without_removal, unknown_person,
    name_mismatch, unapproved_join — each with what to do. Load the HR roster first:
    `groupops ingest roster.csv --format roster`."""
    from groupops.roster.compliance import check_roster

    pol = common.policy()
    when = _instant(as_of, pol)
    engine = common.engine()
    try:
        findings = check_roster(engine, pol, when)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps([f.as_dict(pol.tz) for f in findings], ensure_ascii=False, indent=2))
        return
    print_table(
        f"Roster check at {when.astimezone(pol.tz):%Y-%m-%d %H:%M}",
        [Col("kind", keep=True), Col("group", keep=True), Col("member", keep=True),
         Col("name", keep=True, drop=1), Col("detail"), Col("to do")],
        [[f.kind, f.group_id, f.member_id, f.real_name or f.display_name or "", f.detail,
          f.action] for f in findings],
    )  # fmt: skip
