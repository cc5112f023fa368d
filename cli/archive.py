"""``groupops cleanup``, ``groupops restore RUN_ID``, ``groupops hold add/remove`` and
``groupops archive …`` (rulebook ch. 3(四): the archive register and stale notices)."""

from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from cli import common
from cli.app import app, err_console
from cli.tables import Col, print_table, safe

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ByOpt = Annotated[
    str | None,
    typer.Option("--by", help="Who runs it (for the log). Default: GROUPOPS_USER or the login."),
]


def _who(by: str | None) -> str:
    if by:
        return by
    try:
        return os.environ.get("GROUPOPS_USER") or getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "unknown"


def _local(value: str | None) -> str:
    return value[:16].replace("T", " ") if value else ""


# -- groupops cleanup -------------------------------------------------------------------------


@app.command()
def cleanup(
    group: Annotated[
        list[str] | None, typer.Option("--group", "-g", help="Only this group id (repeatable).")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Judge at this instant (ISO 8601 or a date). Default: now."),
    ] = None,
    apply: Annotated[
        bool,
        typer.Option("--apply", help="Archive, purge (restorable) and recall; default: preview."),
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Apply even over notices.max_purge_fraction of a group."),
    ] = False,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Stale notices, duplicates and off-topic messages: a preview by default (what would go,
    with its reason; what is exempt, with why). `--apply` archives the important messages,
    purges the candidates (kept whole; `groupops restore RUN_ID` puts them back), asks the
    platform to recall them (else an admin to-do) and deletes for good what was purged longer
    than notices.restore_window_days ago. Every run is logged. Exit 3 when the guard refuses."""
    from groupops.archive.cleanup import cleanup as run_cleanup
    from groupops.moderation.actions import ConnectorPool

    pol = common.policy()
    when = common.instant_option(as_of, pol) or datetime.now(UTC)
    engine = common.engine()
    pool = ConnectorPool.from_file(common.settings().sources_path) if apply else None
    try:
        result = run_cleanup(
            engine, pol, when, now=datetime.now(UTC), ran_by=_who(by), groups=group,
            apply=apply, force=force, connector_for=pool,
        )  # fmt: skip
    finally:
        if pool is not None:
            pool.close()
        engine.dispose()
    out = result.as_dict(pol.tz)
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        _print_cleanup(out)
    if apply and out["refused"] and not force:
        raise typer.Exit(3)


def _print_cleanup(out: dict[str, Any]) -> None:
    title = f"Cleanup {out['run_id']} ({out['mode']}) at {_local(out['as_of'])}"
    print_table(
        title,
        [Col("group", keep=True), Col("message", keep=True), Col("reason"), Col("detail", drop=1)],
        [[c["group_id"], c["message_id"], c["reason"], c["detail"]] for c in out["candidates"]],
    )
    print_table(
        "Exempt",
        [Col("group", keep=True), Col("message", keep=True), Col("why"), Col("reason", drop=1)],
        [[e["group_id"], e["message_id"], e["why"], e["reason"]] for e in out["exempt"]],
    )
    counts = out["counts"]
    typer.echo(
        f"{counts['candidates']} candidate(s) · {counts['exempt']} exempt · "
        f"{counts['archived']} archived · {counts['purged']} purged · {counts['deleted']} deleted"
    )
    for g in out["refused"]:
        err_console.print(
            f"refused: {safe(g['group_id'])} would lose {g['purge']} of {g['messages']} messages "
            f"({g['fraction']:.0%} > notices.max_purge_fraction {g['limit']:g}); --force applies"
        )
    if out["mode"] == "preview" and out["candidates"] and not out["refused"]:
        typer.echo("preview only: run again with --apply to purge (restorable)")
    if out["mode"] == "applied":
        typer.echo(f"undo with: groupops restore {out['run_id']}")


# -- groupops restore -------------------------------------------------------------------------


@app.command()
def restore(
    run_id: Annotated[str, typer.Argument(help="The cleanup run to undo.")],
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Put every message a cleanup run purged back exactly as it was (restoring twice changes
    nothing). Messages deleted for good after the restore window cannot come back."""
    from groupops.archive.cleanup import restore as run_restore
    from groupops.archive.store import RestoreError

    engine = common.engine()
    try:
        result = run_restore(engine, run_id, by=_who(by), now=datetime.now(UTC))
    except RestoreError as exc:
        err_console.print(f"error: {safe(exc)}")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    out = {
        "run_id": result.run_id,
        "restored": [
            {"platform": p, "group_id": g, "message_id": m} for p, g, m in result.restored
        ],
        "already_restored": result.already,
        "deleted": [{"platform": p, "group_id": g, "message_id": m} for p, g, m in result.deleted],
    }
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    typer.echo(
        f"restored {len(result.restored)} message(s) of {run_id}"
        + (f"; {result.already} were restored before" if result.already else "")
        + (f"; {len(result.deleted)} deleted for good" if result.deleted else "")
    )


# -- groupops hold ----------------------------------------------------------------------------

hold_app = typer.Typer(help="Legal holds: a held message is never purged.", no_args_is_help=True)
app.add_typer(hold_app, name="hold")

ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept with the hold).")]
GroupOpt = Annotated[
    str | None, typer.Option("--group", "-g", help="The group, when the id is in several.")
]


@hold_app.command("add")
def hold_add(
    message_id: Annotated[str, typer.Argument(help="The message to hold.")],
    reason: ReasonOpt,
    group: GroupOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Put a legal hold on a message: cleanup never purges it (it is listed as exempt)."""
    _change_hold(message_id, reason, group, by, as_json, hold=True)


@hold_app.command("remove")
def hold_remove(
    message_id: Annotated[str, typer.Argument(help="The message to release.")],
    reason: ReasonOpt,
    group: GroupOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Release the legal hold on a message (the hold stays on record)."""
    _change_hold(message_id, reason, group, by, as_json, hold=False)


def _change_hold(
    message_id: str, reason: str, group: str | None, by: str | None, as_json: bool, *, hold: bool
) -> None:
    """``hold add`` (``hold=True``) and ``hold remove``: one path, two outcomes."""
    from groupops.archive.store import HoldError, add_hold, remove_hold

    engine = common.engine()
    try:
        change = add_hold if hold else remove_hold
        key, changed = change(
            engine, message_id, reason=reason, by=_who(by), now=datetime.now(UTC), group=group
        )
    except HoldError as exc:
        raise typer.BadParameter(str(exc), param_hint="MESSAGE_ID") from exc
    finally:
        engine.dispose()
    field, done, unchanged = (
        ("added", "held", "already held") if hold else ("released", "released", "was not held")
    )
    out = {"platform": key[0], "group_id": key[1], "message_id": key[2], "held": hold,
           field: changed, "reason": reason}  # fmt: skip
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    typer.echo(f"{key[1]}/{key[2]}: " + (done if changed else unchanged))


# -- groupops archive ---------------------------------------------------------------------------

archive_app = typer.Typer(
    help="The archive: search every stored message, list and export the register of important "
    "messages, update the register.",
    no_args_is_help=True,
)
app.add_typer(archive_app, name="archive")


@archive_app.command("search")
def archive_search(
    query: Annotated[str, typer.Argument(help="Words or phrases (预算, 周会, budget review).")],
    group: Annotated[
        list[str] | None, typer.Option("--group", "-g", help="Only this group id (repeatable).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From this instant or date (inclusive).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Up to this instant or date (exclusive).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Find stored messages holding every word of QUERY: two-character Chinese words (预算,
    周会) as well as longer phrases and English words, through an index (SQLite FTS5 over
    bigrams, PostgreSQL GIN). Purged messages are not found; a message deleted for good after
    the restore window is found from the archive register's copy if it has one (JSON
    ``source``: ``messages`` or ``register``)."""
    from groupops.archive.search import search_messages
    from groupops.archive.store import load_register
    from groupops.roster import Directory

    pol = common.policy()
    engine = common.engine()
    try:
        hits = search_messages(
            engine, query, groups=group, since=common.instant_option(since, pol, name="--since"),
            until=common.instant_option(until, pol, name="--until"), limit=limit,
        )  # fmt: skip
        directory = Directory.load(engine)
        keys = {(h.platform, h.group_id, h.message_id) for h in hits}
        archived = {
            (e.platform, e.group_id, e.message_id): list(e.rules)
            for e in load_register(engine, groups=sorted({k[1] for k in keys}) or None)
            if (e.platform, e.group_id, e.message_id) in keys
        }
    finally:
        engine.dispose()
    rows: list[dict[str, Any]] = [
        {
            "platform": h.platform, "group_id": h.group_id, "message_id": h.message_id,
            "sender_id": h.sender_id, "sender": directory.name(h.platform, h.sender_id),
            "sent_at": h.sent_at.astimezone(pol.tz).isoformat(), "text": h.text,
            "archived": archived.get((h.platform, h.group_id, h.message_id), []),
            "source": h.source,
        }
        for h in hits
    ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    print_table(
        f"{len(rows)} message(s) with {query!r}",
        [Col("sent", keep=True), Col("group", keep=True, drop=2), Col("sender", keep=True),
         Col("text"), Col("message", keep=True, drop=1)],
        [[_local(r["sent_at"]), r["group_id"], r["sender"], r["text"], r["message_id"]]
         for r in rows],
    )  # fmt: skip


@archive_app.command("list")
def archive_list(
    group: Annotated[
        list[str] | None, typer.Option("--group", "-g", help="Only this group id (repeatable).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The register of important messages: when, who wrote it, what, why it is archived, who
    archived it and when."""
    from groupops.archive.export import load_records

    pol = common.policy()
    engine = common.engine()
    try:
        rows = load_records(engine, pol, groups=group)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    print_table(
        "Archive register",
        [Col("sent", keep=True), Col("group", keep=True, drop=2), Col("sender", keep=True),
         Col("text"), Col("why", drop=1)],
        [[_local(r["sent_at"]), r["group_id"], r["sender"], r["text"], ", ".join(r["rules"])]
         for r in rows],
    )  # fmt: skip


@archive_app.command("update")
def archive_update(
    group: Annotated[
        list[str] | None, typer.Option("--group", "-g", help="Only this group id (repeatable).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Up to this instant (ISO 8601 or a date).")
    ] = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add every important message up to --as-of to the register (an applied cleanup does it
    too); running it again changes nothing."""
    from groupops.archive.cleanup import archive_important

    pol = common.policy()
    when = common.instant_option(as_of, pol) or datetime.now(UTC)
    engine = common.engine()
    try:
        changed = archive_important(
            engine, pol, when, by=_who(by), now=datetime.now(UTC), groups=group
        )
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps({"archived": changed}))
        return
    typer.echo(f"{changed} message(s) added to the register or given a new rule")


@archive_app.command("export")
def archive_export(
    group: Annotated[str, typer.Option("--group", "-g", help="The group id.")],
    month: Annotated[str, typer.Option("--month", help="YYYY-MM (policy zone).")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="md (for people), jsonl or parquet.")
    ] = "md",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write here (parquet: default GROUP-MONTH.parquet)."),
    ] = None,
) -> None:
    """Export the register of a group for a month: Markdown a person reads (date, sender's real
    name, text, why archived), JSON Lines, or Parquet."""
    from groupops.archive.export import FORMATS, export

    if fmt not in FORMATS:
        raise typer.BadParameter(f"one of {', '.join(FORMATS)}", param_hint="--format")
    pol = common.policy()
    if fmt == "parquet" and out is None:
        out = Path(f"{group}-{month}.parquet")
    engine = common.engine()
    try:
        text, count = export(engine, pol, group=group, month=month, fmt=fmt, out=out)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--month") from exc
    finally:
        engine.dispose()
    if text is not None:
        typer.echo(text, nl=False)
    else:
        err_console.print(f"{count} message(s) → {safe(out)}")
