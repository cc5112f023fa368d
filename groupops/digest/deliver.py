"""Digests into the outbox, idempotently.

:func:`prepare_digests` computes the period's statistics, plans the digests (one per owner,
one per group for its admins), builds and renders each and stores it in the outbox. The
``digest_log`` table records each decision per idempotency key:

* ``queued``: in the outbox (``outbox_id``); later runs skip it (``already``) unless ``force``;
* ``empty``: nothing to say (no message, no membership change, no other section) — not sent;
* ``no_recipients``: nobody in scope has an email address in the member directory;
* ``held``: none of its groups has ingested data for the period
  (:func:`groupops.activity.coverage.hold_reason`): not sent, with the ``reason`` (stored in
  ``digest_log.reason``; :func:`digest_log` reads it back).

``empty``, ``no_recipients`` and ``held`` are re-evaluated on every run (late data may change
them).
Sending is separate: :func:`groupops.mail.deliver`, the one delivery rule (``tasks/mail.py``
adds retries).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from groupops.activity.coverage import load_coverage
from groupops.activity.stats import DurationFn, load_stats
from groupops.clock.periods import Period, last_complete
from groupops.clock.workclock import WorkClock
from groupops.db.models import DigestLog
from groupops.digest.context import Digest, SectionProvider, build_digest, plan_digests
from groupops.mail import enqueue, get_entry, render_email
from groupops.policy import Policy
from groupops.progress import report
from groupops.roster import Directory

if TYPE_CHECKING:
    from groupops.db.queries import LoadedMessages
    from groupops.deadlines.obligations import Obligations
    from groupops.meetings.store import MeetingsView

Outcome = Literal["queued", "already", "empty", "no_recipients", "held"]
#: The outbox ``kind`` of digest emails.
DIGEST_KIND = "digest"


@dataclass(frozen=True)
class DigestOutcome:
    key: str
    audience: str
    subject_id: str
    outcome: Outcome
    recipients: list[str]
    subject_name: str = ""  # the owner's name, or the group's name (admin digests)
    outbox_id: int | None = None
    eml_path: Path | None = None
    subject: str | None = None
    reason: str | None = None  # why a digest is held
    cards: tuple[str, ...] = ()  # the keys of its group-bot cards (groupops.chatbots)


def _log(
    engine: sa.Engine,
    digest: Digest,
    outcome: str,
    outbox_id: int | None,
    now: datetime,
    reason: str | None = None,
) -> None:
    table = DigestLog.__table__
    assert isinstance(table, sa.Table)
    scope = digest.scope
    values = {
        "period": scope.period.kind,
        "period_label": scope.period.label,
        "period_start": scope.period.since,
        "period_end": scope.period.until,
        "audience": scope.audience,
        "platform": scope.platform,
        "subject_id": scope.subject_id,
        "outcome": outcome,
        "outbox_id": outbox_id,
        "reason": reason,
        "updated_at": now,
    }
    with engine.begin() as conn:
        found = conn.execute(sa.select(table.c.id).where(table.c.key == digest.key)).first()
        if found is None:
            conn.execute(table.insert().values(key=digest.key, created_at=now, **values))
        else:
            conn.execute(table.update().where(table.c.id == found[0]).values(**values))


def digest_log(engine: sa.Engine, keys: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The recorded decisions (``key``, ``outcome``, ``reason``, period, audience, …), by key;
    only ``keys`` when given."""
    table = DigestLog.__table__
    assert isinstance(table, sa.Table)
    stmt = sa.select(table).order_by(table.c.key)
    if keys is not None:
        stmt = stmt.where(table.c.key.in_(list(keys)))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def _queued(engine: sa.Engine, key: str) -> int | None:
    """The outbox id of an already queued digest, else ``None``."""
    table = DigestLog.__table__
    assert isinstance(table, sa.Table)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(table.c.outbox_id).where(table.c.key == key, table.c.outcome == "queued")
        ).first()
    return None if row is None else int(row[0])


def queue_digests(
    engine: sa.Engine,
    digests: Sequence[Digest],
    *,
    outbox_dir: Path,
    sender: str,
    force: bool = False,
    now: datetime | None = None,
    policy: Policy | None = None,
) -> list[DigestOutcome]:
    """Render and enqueue each digest that has something to say and was not queued before,
    and (with the ``policy``'s ``[chatbots]``) its card for each bot of its groups."""
    now = now or datetime.now(UTC)
    outcomes: list[DigestOutcome] = []
    for done, digest in enumerate(digests):
        report("digests queued", done, len(digests))
        scope = digest.scope
        base = DigestOutcome(
            key=digest.key,
            audience=scope.audience,
            subject_id=scope.subject_id,
            outcome="empty" if not digest.has_content else "no_recipients",
            recipients=[r.address for r in digest.recipients],
            subject_name=digest.subject_name,
        )
        previous = _queued(engine, digest.key)
        if previous is not None and not force:
            entry = get_entry(engine, previous)
            outcomes.append(replace(base, outcome="already", outbox_id=entry.id,
                                    eml_path=entry.eml_path, subject=entry.subject))  # fmt: skip
            continue
        if digest.held is not None:
            _log(engine, digest, "held", None, now, digest.held)
            outcomes.append(replace(base, outcome="held", reason=digest.held))
            continue
        if not digest.has_content or not digest.recipients:
            _log(engine, digest, base.outcome, None, now)
            outcomes.append(base)
            continue
        rendered = render_email("digest", digest.context, language=digest.language,
                                images=digest.images)  # fmt: skip
        result = enqueue(engine, rendered, key=digest.key, to=digest.recipients, sender=sender,
                         outbox_dir=outbox_dir, kind=DIGEST_KIND, force=force, now=now)  # fmt: skip
        _log(engine, digest, "queued", result.entry.id, now)
        cards = queue_cards(engine, digest, policy, now=now, force=force) if policy else ()
        outcomes.append(replace(base, outcome="queued", outbox_id=result.entry.id,
                                eml_path=result.entry.eml_path, subject=rendered.subject,
                                cards=cards))  # fmt: skip
    return outcomes


def queue_cards(
    engine: sa.Engine, digest: Digest, policy: Policy, *, now: datetime, force: bool = False
) -> tuple[str, ...]:
    """Store the digest's card for every bot of its groups (``policy.chatbots``): rendered from
    the email's own context (:func:`groupops.mail.render_card`), once per bot and period."""
    from groupops.chatbots import Card, bots_for, enqueue_post
    from groupops.mail import render_card
    from groupops.mail.i18n import translate

    scope = digest.scope
    bots = bots_for(policy, scope.platform, scope.groups, "digest", scope.audience)
    if not bots:
        return ()
    rendered = render_card("digest", digest.context, language=digest.language)
    needs = digest.context.get("needs_you") or {}
    card = Card(rendered.title, rendered.body, translate("card.truncated", digest.language),
                tone="red" if needs.get("total") else "green")  # fmt: skip
    keys = []
    for name, bot in bots:
        key, _ = enqueue_post(engine, card, source_key=digest.key, kind=DIGEST_KIND, bot=name,
                              channel=bot.kind, now=now, force=force)  # fmt: skip
        keys.append(key)
    return tuple(keys)


def digest_period(kind: Literal["week", "month"], as_of: datetime, policy: Policy) -> Period:
    """The last complete week or month before ``as_of`` in the policy zone."""
    return last_complete(kind, as_of, policy.tz)


def build_digests(
    engine: sa.Engine,
    policy: Policy,
    period: Period,
    *,
    owner: str | None = None,
    providers: Sequence[SectionProvider] = (),
    duration: DurationFn | None = None,
    as_of: datetime | None = None,
    loaded: LoadedMessages | None = None,
) -> list[Digest]:
    """Every digest of the period (owner digests, then admin digests), built but not stored,
    each with the data coverage read at ``as_of`` (default: now; a digest of a period without
    data is ``held``). ``loaded``: messages loaded before, which the statistics read from
    when they cover its window (:func:`groupops.activity.stats.load_stats`)."""
    stats = load_stats(engine, period, policy, duration=duration, loaded=loaded)
    people = Directory.load(engine)
    coverage = load_coverage(engine, as_of or datetime.now(UTC))
    clock = WorkClock.from_policy(policy)
    scopes = plan_digests(stats, owner=owner)
    digests = []
    for done, scope in enumerate(scopes):
        report("digests built", done, len(scopes))
        digests.append(build_digest(scope, stats, people, policy, providers=providers,
                                    coverage=coverage, clock=clock))  # fmt: skip
    return digests


def preload_sections(engine: sa.Engine, as_of: datetime) -> LoadedMessages:
    """The messages the overdue and meetings sections read at ``as_of`` (the deadline
    watcher's look-back), loaded once; the week's statistics read from them too."""
    from groupops.db.queries import MESSAGE_COLUMNS, preload_messages
    from groupops.deadlines import DEFAULT_LOOKBACK_DAYS

    return preload_messages(
        engine, since=as_of - timedelta(days=DEFAULT_LOOKBACK_DAYS),
        until=as_of + timedelta(microseconds=1), columns=MESSAGE_COLUMNS,
    )  # fmt: skip


def standard_providers(
    engine: sa.Engine,
    policy: Policy,
    as_of: datetime,
    *,
    meetings_dir: Path | None = None,
    obligations: Obligations | None = None,
    meetings: MeetingsView | None = None,
    loaded: LoadedMessages | None = None,
) -> list[SectionProvider]:
    """The sections every digest carries besides activity: what is overdue at ``as_of``, and
    (owners) the period's meetings (``meetings_dir``: default ``Settings.meetings_dir``),
    moderation (violations, the admins' to-dos, appeals, roster findings), and (admins) the
    cleanup waiting in the latest preview with the recalls left to them.

    ``obligations`` / ``meetings``: what :func:`groupops.watch.load_obligations` and
    :func:`groupops.meetings.store.load_meetings` return at ``as_of`` with this
    ``meetings_dir``, when the caller already loaded them (the demo's deadline and meetings
    steps); loaded here otherwise. ``loaded``: :func:`preload_sections` at ``as_of``, when the
    caller loaded it (used only when neither is given)."""
    from groupops.clock.lateness import working_day_minutes
    from groupops.connectors.config import load_links
    from groupops.db.queries import load_groups, load_message_texts
    from groupops.digest.archive import archive_provider
    from groupops.digest.meetings import meetings_provider
    from groupops.digest.moderation import moderation_provider
    from groupops.digest.overdue import overdue_provider
    from groupops.meetings.store import load_meetings
    from groupops.settings import get_settings
    from groupops.watch import load_obligations

    folder = meetings_dir if meetings_dir is not None else get_settings().meetings_dir
    if obligations is None and meetings is None:  # both read the same window: read it once
        loaded = loaded if loaded is not None else preload_sections(engine, as_of)
    else:
        loaded = None
    if loaded is not None:
        # The meetings found once: the deadline watcher's obligations take them as their
        # meeting source, and the meetings view takes those obligations' task states.
        meetings = load_meetings(
            engine, policy, as_of, meetings_dir=folder, loaded=loaded,
            obligations=lambda found: load_obligations(
                engine, policy, as_of, meetings_dir=folder, loaded=loaded, found=found
            ),
        )  # fmt: skip
        obligations = meetings.obligations
    if obligations is None:
        obligations = load_obligations(engine, policy, as_of, meetings_dir=folder, loaded=loaded)
    people, groups = Directory.load(engine), load_groups(engine)
    texts = load_message_texts(engine, obligations.overdue)
    settings = get_settings()
    links = load_links(settings.sources_path, slack_workspace=settings.slack_workspace,
                       telegram_public=settings.telegram_public_groups)  # fmt: skip
    if meetings is None:
        meetings = load_meetings(engine, policy, as_of, meetings_dir=folder, loaded=loaded)
    return [
        overdue_provider(
            obligations,
            people,
            groups,
            policy.tz,
            day_minutes=working_day_minutes(policy.working_time),
            texts=texts,
            links=links,
        ),
        meetings_provider(meetings.records, as_of, people, groups, policy.tz),
        moderation_provider(engine, policy, as_of),
        archive_provider(engine, policy, as_of),
    ]


def prepare_digests(
    engine: sa.Engine,
    policy: Policy,
    *,
    kind: Literal["week", "month"],
    as_of: datetime,
    outbox_dir: Path,
    sender: str,
    owner: str | None = None,
    force: bool = False,
    providers: Sequence[SectionProvider] | None = None,
    duration: DurationFn | None = None,
    now: datetime | None = None,
) -> list[DigestOutcome]:
    """Statistics → digests → outbox for the last complete ``kind`` before ``as_of``.

    ``providers`` add sections after the activity one; by default :func:`standard_providers`,
    whose messages (:func:`preload_sections`) the statistics read from when they cover the
    period's window (a week's do)."""
    period = digest_period(kind, as_of, policy)
    loaded = None
    if providers is None:
        loaded = preload_sections(engine, as_of)
        providers = standard_providers(engine, policy, as_of, loaded=loaded)
    digests = build_digests(engine, policy, period, owner=owner, providers=providers,
                            duration=duration, as_of=as_of, loaded=loaded)  # fmt: skip
    return queue_digests(
        engine, digests, outbox_dir=outbox_dir, sender=sender, force=force, now=now,
        policy=policy,
    )  # fmt: skip
