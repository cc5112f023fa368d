"""``groupops demo``: the main job on the bundled demo company, into a fresh local store.

In this process by default (about ten seconds warm): the same domain steps the ``demo-pipeline``
flow runs as tasks (ingest, deadline reminders and violations, weekly and monthly digests); with
``--prefect`` (or ``PREFECT_API_URL``) it runs that flow. It ends by printing the exact commands
that explore what it stored.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.cells import cell_len
from rich.text import Text

from cli import common
from cli.app import app, console
from cli.tables import visible
from groupops.clock.timeparse import parse_instant

if TYPE_CHECKING:
    from groupops.deadlines.obligations import Obligations
    from groupops.ingest.pipeline import IngestSummary

DEMO_BUNDLE = Path("data/demo")
DEMO_DIR = Path("data/local/demo")  # under groupops.settings.LOCAL_DIR (not imported: startup)


def demo_as_of(bundle: Path) -> datetime:
    """The demo's reference instant: ``as_of`` in its ``planted.json``."""
    planted = bundle / "planted.json"
    if planted.exists():
        return parse_instant(
            json.loads(planted.read_text(encoding="utf-8"))["as_of"], common.policy().tz
        )
    raise typer.BadParameter(
        f"{planted} is missing: the demo needs its as_of", param_hint="--bundle"
    )


def demo_since(bundle: Path) -> datetime:
    """The start of the demo's period: ``period.since`` in its ``planted.json``."""
    planted = json.loads((bundle / "planted.json").read_text(encoding="utf-8"))
    return parse_instant(planted["period"]["since"], common.policy().tz)


@app.command()
def demo(
    bundle: Annotated[Path, typer.Option(help="The demo bundle.")] = DEMO_BUNDLE,
    out: Annotated[
        Path, typer.Option(help="Fresh folder for the demo store and outbox.")
    ] = DEMO_DIR,
    prefect: common.PrefectOpt = False,
) -> None:
    """Run every pipeline in order on the demo company into a fresh local SQLite store, and
    print what it produced, where, and the commands that explore it. Needs no secrets and no
    SMTP server."""
    if not bundle.exists():
        console.print(Text.assemble(("✗ ", "red"), f"{bundle}: the demo bundle is missing"))
        raise typer.Exit(1)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    db = out / "groupops.db"
    env = {"GROUPOPS_DATABASE_URL": f"sqlite:///{db}", "GROUPOPS_OUTBOX_DIR": str(out / "outbox")}
    if (bundle / "meetings").is_dir():  # the demo company's regular meetings, declared as files
        env["GROUPOPS_MEETINGS_DIR"] = str(bundle / "meetings")
    with _settings(env):
        _run_demo(bundle, db, prefect=common.use_prefect(prefect))
    _print_next_steps(bundle, env)


@contextmanager
def _settings(env: dict[str, str]) -> Iterator[None]:
    """Point the settings (read by the flows in this process) at the demo store, then back."""
    from groupops.settings import get_settings

    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


def _run_demo(bundle: Path, db: Path, *, prefect: bool) -> None:
    from cli.deadlines import print_overdue
    from cli.ingest import print_summary
    from groupops.watch import load_obligations

    console.rule("[bold]groupops demo")
    how = "as the demo-pipeline Prefect flow" if prefect else "in this process"
    console.print(Text(visible(f"bundle: {bundle}   store: {db}   ({how})")), soft_wrap=True)
    as_of = demo_as_of(bundle)
    console.print(f"as of: {as_of.isoformat()} (the end of the demo period)")
    done = _with_prefect(as_of, bundle) if prefect else _here(as_of, bundle)

    console.rule("1. ingest")
    print_summary(done.ingest)

    console.rule("2. deadlines (working clock)")
    pol = common.policy()
    if done.obligations is not None:  # the ones the deadline step judged (nothing since
        print_overdue(done.obligations, pol)  # changed their messages, groups or members)
    else:
        engine = common.engine(migrate=False)
        print_overdue(
            load_obligations(engine, pol, as_of, meetings_dir=common.settings().meetings_dir),
            pol,
        )
        engine.dispose()
    overdue, pending, tasks, reminders, emails = done.watch
    console.print(
        f"{overdue} overdue, {pending} pending, {tasks} tasks; "
        f"{reminders} reminder step(s) recorded, {emails} email(s) in the outbox"
    )

    console.rule("3. meetings")
    meetings, held, scheduled, cancelled, missing, meeting_emails = done.meetings
    console.print(
        f"{meetings} meetings: {held} held, {scheduled} scheduled, "
        f"{cancelled} cancelled; minutes missing for {missing}; "
        f"{meeting_emails} email(s) in the outbox (invitations with .ics, minutes)"
    )

    console.rule("4. moderation (violations, the penalty ladder, appeals)")
    for d in done.moderation["decisions"]:
        console.print(
            Text(
                visible(
                    f"{d['group_id']:16} {d['member_id']:12} {d['category']:13} {d['rule']:22} "
                    f"{d['penalty']}"
                )
            ),
            soft_wrap=True,
        )
    console.print(
        f"{len(done.moderation['decisions'])} decided, {len(done.moderation['notices'])} "
        f"notice(s) in the outbox, {len(done.moderation['actions'])} action(s) recorded (admin "
        f"to-dos where no connector acts), {len(done.moderation['appeals_filed'])} appeal(s) "
        f"filed and {len(done.moderation.get('appeals_answered') or [])} answered in the groups "
        f"({len(done.moderation.get('runs') or [1])} runs, caught up over the period); "
        "`groupops violations` / `appeals` / `todos` / `roster check` to explore"
    )

    console.rule("5. cleanup (a preview: stale notices, duplicates, off-topic)")
    reasons: dict[str, int] = {}
    for c in done.cleanup["candidates"]:
        reasons[c["reason"]] = reasons.get(c["reason"], 0) + 1
    console.print(
        f"{len(done.cleanup['candidates'])} to purge ("
        + ", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))
        + f"), {len(done.cleanup['exempt'])} exempt; nothing purged: "
        f"`groupops cleanup --as-of {as_of.strftime('%Y-%m-%dT%H:%M')}` lists them, "
        "`--apply` purges (restorable)"
    )

    console.rule("6. digests (outbox)")
    for period, rows in done.digests:
        for row in rows:
            where = row["eml_path"] or "(not queued)"
            subject = str(row.get("subject_name") or row["subject_id"])
            pad = " " * max(0, 12 - cell_len(subject))  # CJK names are two cells wide
            console.print(
                Text(
                    visible(
                        f"{period:5} {row['audience']!s:5} {subject}{pad} "
                        f"{row['outcome']!s:8} {where}"
                    )
                ),
                soft_wrap=True,
            )
    if not done.smtp:
        console.print(
            "no SMTP host configured: the emails stay in the outbox (GROUPOPS_SMTP_HOST to send)"
        )


@dataclass(frozen=True)
class _Done:
    """What the demo's steps did, either way they ran."""

    ingest: IngestSummary
    watch: tuple[int, int, int, int, int]  # overdue, pending, tasks, reminder steps, emails
    meetings: tuple[int, int, int, int, int, int]  # meetings, held, scheduled, cancelled,
    # minutes missing, emails queued
    moderation: dict[str, Any]  # decisions, notices, actions (ModerationRun.as_dict)
    cleanup: dict[str, Any]  # the cleanup preview (groupops cleanup --json)
    digests: list[tuple[str, list[dict[str, object]]]]  # (period label, rows)
    smtp: bool
    obligations: Obligations | None = None  # the deadline step's, when it ran in this process


def _here(as_of: datetime, bundle: Path) -> _Done:
    """The demo's steps in this process: the same domain functions the ``demo-pipeline``
    flow's tasks wrap."""
    from cli.digest import run_here
    from groupops.deadlines.reminders import REMINDER_KIND, send_reminders
    from groupops.ingest.bundle import open_bundle
    from groupops.ingest.pipeline import run_ingest
    from groupops.mail import SmtpConfig, SmtpTransport, deliver, pending_entries
    from groupops.meetings.notify import MEETING_KIND, notify_meetings
    from groupops.meetings.store import load_meetings, record_meetings
    from groupops.moderation.store import record_violations
    from groupops.watch import load_obligations

    settings, pol = common.settings(), common.policy()
    config = SmtpConfig.from_settings(settings)
    engine = common.engine()
    try:
        with common.progress_bars():
            summary = run_ingest(open_bundle(bundle), engine, pol, chunk_size=settings.chunk_size)

        now = datetime.now(UTC)
        obligations = load_obligations(engine, pol, as_of, meetings_dir=settings.meetings_dir)
        sent = send_reminders(engine, obligations, pol, sender=settings.mail_from,
                              outbox_dir=settings.outbox_dir, now=now)  # fmt: skip
        record_violations(engine, obligations.violations, now)
        keys = [e.key for e in pending_entries(engine, kind=REMINDER_KIND)]
        deliver(engine, keys, SmtpTransport(config) if config else None)
        watch = (len(obligations.overdue), len(obligations.pending), len(obligations.tasks),
                 sum(1 for s in sent if s.created),
                 sum(1 for s in sent if s.created and s.outbox_key))  # fmt: skip

        view = load_meetings(
            engine, pol, as_of.astimezone(pol.tz), meetings_dir=settings.meetings_dir
        )
        mails = notify_meetings(engine, view, pol, sender=settings.mail_from,
                                outbox_dir=settings.outbox_dir, now=now)  # fmt: skip
        record_meetings(engine, view, now)
        keys = [e.key for e in pending_entries(engine, kind=MEETING_KIND)]
        deliver(engine, keys, SmtpTransport(config) if config else None)
        states = [r["state"] for r in view.records]
        meetings = (len(view.records), states.count("held"), states.count("scheduled"),
                    states.count("cancelled"),
                    sum(1 for r in view.records if r["minutes_state"] == "missing"),
                    sum(1 for m in mails if m.created))  # fmt: skip

        from cli.moderation import _moderate_local
        from groupops.moderation.run import (
            catch_up_batches,
            catch_up_instants,
            catch_up_messages,
            merge_results,
        )

        # As the schedule would have: caught up over the demo's weeks (one run at the end of
        # each working day), so notices, appeals and their answers fall where they were made;
        # the runs read the messages loaded once (per batch of at most two ladder windows).
        runs = []
        for batch in catch_up_batches(pol, catch_up_instants(pol, demo_since(bundle), as_of)):
            loaded = catch_up_messages(engine, pol, batch)
            runs += [_moderate_local(at, None, False, loaded) for at in batch]
        moderation = merge_results(runs)

        from groupops.archive.cleanup import cleanup

        preview = cleanup(engine, pol, as_of, now=now, ran_by="demo").as_dict(pol.tz)

        from groupops.digest.deliver import standard_providers

        smtp = config is not None
        digests = []
        # Both periods end at the same as_of: their sections besides activity (overdue,
        # meetings, moderation, archive) are loaded once; a digest run changes none of their
        # data (it writes the digest log and the outbox). The overdue and meetings sections
        # take what the deadline and meetings steps loaded at this as_of: the steps since
        # wrote reminders, meeting records, violations and a cleanup preview, never the
        # messages, groups, members or declared meetings those are computed from.
        providers = standard_providers(
            engine, pol, as_of, meetings_dir=settings.meetings_dir, obligations=obligations,
            meetings=view,
        )  # fmt: skip
        with common.progress_bars():
            for kind in ("week", "month"):
                rows, _failed, _cards = run_here(
                    kind, as_of, None, send=smtp, force=False, providers=providers
                )
                digests.append((str(rows[0]["key"]).split(":")[2] if rows else kind, rows))
    finally:
        engine.dispose()
    return _Done(summary, watch, meetings, moderation, preview, digests, smtp, obligations)


def _with_prefect(as_of: datetime, bundle: Path) -> _Done:
    from flows.demo_pipeline import demo_pipeline

    result = demo_pipeline(as_of, str(bundle), since=demo_since(bundle))
    w, m = result.deadlines, result.meetings
    return _Done(
        result.ingest,
        (w.overdue, w.pending, w.tasks, w.reminders, w.emails),
        (m.meetings, m.held, m.scheduled, m.cancelled, m.minutes_missing, m.emails),
        result.moderation.model_dump(),
        result.cleanup.model_dump(mode="json"),
        [
            (run.period, [r.model_dump() for r in run.rows])
            for run in (result.weekly, result.monthly)
        ],
        result.weekly.smtp_configured or result.monthly.smtp_configured,
    )


def _print_next_steps(bundle: Path, env: dict[str, str]) -> None:
    """The exact commands that show the demo's data: its store and outbox, at its own instant
    (the demo's four weeks end in the past, so "now" would show nothing)."""
    from groupops.digest.deliver import digest_period

    as_of = demo_as_of(bundle)
    week = digest_period("week", as_of, common.policy())
    at = as_of.strftime("%Y-%m-%dT%H:%M")
    exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
    lines = [
        f"export {exports}",
        f"uv run groupops stats --since {week.since:%Y-%m-%d} --until {week.until:%Y-%m-%d}",
        f"uv run groupops overdue --as-of {at}",
        f"uv run groupops tasks --as-of {at}",
        f"uv run groupops digest --period month --as-of {at}",
        f"uv run groupops cleanup --as-of {at}",
        "uv run groupops runs list",
        "uv run groupops quarantine list",
    ]
    console.rule("[bold]explore the demo's data")
    console.print("In this shell, from the project root:")
    for line in lines:
        console.print(Text(visible(f"  {line}"), style="bold"), soft_wrap=True)
    console.print(
        Text(f"(the outbox's .eml files open in any mail program: {env['GROUPOPS_OUTBOX_DIR']})"),
        soft_wrap=True,
    )
