"""Deadline watching against the store: load and compute obligations, record and email the
escalation steps that are due (never twice). Non-response violations
(``Obligations.violations``) are recorded by the moderation record
(:func:`groupops.moderation.record_violations`), where the penalty ladder decides them.

Used by ``flows/watch_deadlines.py`` (through ``tasks/deadlines.py``) and, read-only, by the
``groupops overdue`` / ``groupops tasks`` commands.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from groupops.clock.lateness import working_day_minutes
from groupops.clock.workclock import WorkClock
from groupops.db.models import DeadlineReminder
from groupops.db.queries import LoadedMessages, load_groups, load_message_texts, load_messages
from groupops.deadlines import DEFAULT_LOOKBACK_DAYS
from groupops.deadlines.obligations import (
    Obligations,
    ObligationSource,
    compute_obligations,
    obligation_keys,
)
from groupops.policy import Policy
from groupops.roster import Directory

if TYPE_CHECKING:
    from groupops.mail import Recipient

#: The outbox ``kind`` of reminder emails.
REMINDER_KIND = "deadline_reminder"
#: The recorded ``kind`` of a notice to the requester that a commitment is later than asked.
COMMITMENT_KIND = "commitment"
_STEP_CHANNEL = {0: "email", 1: "email", 2: "digest"}
_REMINDER_KEY = ["kind", "platform", "group_id", "message_id", "assignee_id", "step"]


def load_obligations(
    engine: sa.Engine,
    policy: Policy,
    as_of: datetime,
    *,
    groups: Sequence[str] | None = None,
    lookback_days: int | None = DEFAULT_LOOKBACK_DAYS,
    clock: WorkClock | None = None,
    sources: Sequence[ObligationSource] = (),
    loaded: LoadedMessages | None = None,
) -> Obligations:
    """Obligations at ``as_of`` from the store (messages up to ``as_of``, from ``lookback_days``
    before it; ``None``: all), with the names of the people from the member directory, plus
    those of ``sources``. Callers use :func:`groupops.watch.load_obligations`, which adds every
    standard source (meetings)."""
    since = as_of - timedelta(days=lookback_days) if lookback_days is not None else None
    messages = load_messages(
        engine, since=since, until=as_of + timedelta(microseconds=1), groups=groups,
        loaded=loaded,
    )  # fmt: skip
    group_frame = load_groups(engine)
    if groups:
        group_frame = group_frame[group_frame["group_id"].isin(list(groups))]
    return compute_obligations(
        messages,
        policy,
        as_of,
        groups=group_frame,
        clock=clock,
        people=Directory.load(engine),
        sources=sources,
    )


def recorded_reminders(engine: sa.Engine) -> pd.DataFrame:
    """The reminder steps already sent (key columns only)."""
    table = DeadlineReminder.__table__
    assert isinstance(table, sa.Table)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*(table.c[c] for c in _REMINDER_KEY))).all()
    return pd.DataFrame(rows, columns=_REMINDER_KEY)


def due_reminders(engine: sa.Engine, obligations: Obligations) -> pd.DataFrame:
    """Escalation steps due at ``as_of`` and not yet recorded (an anti-join on the key)."""
    due = obligations.reminders
    if due.empty:
        return due
    done = recorded_reminders(engine)
    merged = due.merge(done, on=_REMINDER_KEY, how="left", indicator=True)
    return merged[merged["_merge"] == "left_only"].drop(columns="_merge").reset_index(drop=True)


def late_commitments(obligations: Obligations, clock: WorkClock) -> pd.DataFrame:
    """Open tasks whose assignee committed to a time later than the requester asked for, with
    ``commitment_late_minutes`` (working minutes from the asked deadline to the commitment).
    The requester is told once (:func:`send_reminders`, kind ``commitment``): otherwise a late
    promise would quietly move the deadline."""
    items = obligations.items
    if items.empty or "committed_due_at" not in items:
        return items.iloc[0:0].assign(commitment_late_minutes=pd.Series(dtype="float64"))
    late = items[
        (items["kind"] == "task_done")
        & items["resolved_at"].isna()
        & items["committed_due_at"].notna()
        & (items["committed_due_at"] > items["asked_due_at"])
    ].copy()
    if late.empty:
        return late.assign(commitment_late_minutes=pd.Series(dtype="float64"))
    late["commitment_late_minutes"] = clock.working_minutes_between_series(
        late["asked_due_at"], late["committed_due_at"]
    )
    return late.reset_index(drop=True)


def due_commitment_notices(
    engine: sa.Engine, obligations: Obligations, clock: WorkClock
) -> pd.DataFrame:
    """The late commitments whose requester has not been told yet (rows shaped like
    :func:`due_reminders`, ``kind`` ``commitment``, ``step`` 0)."""
    late = late_commitments(obligations, clock)
    late = late[late["commitment_late_minutes"] > 0]
    if late.empty:
        return late
    late = late.assign(kind=COMMITMENT_KIND, step=0)
    late["key"] = obligation_keys(late)
    done = recorded_reminders(engine)
    merged = late.merge(done, on=_REMINDER_KEY, how="left", indicator=True)
    return merged[merged["_merge"] == "left_only"].drop(columns="_merge").reset_index(drop=True)


@dataclass(frozen=True)
class SentReminder:
    key: str
    step: int
    channel: str
    recipients: list[str]
    outbox_key: str | None
    created: bool  # False: already recorded by an earlier run (nothing sent)
    cards: tuple[str, ...] = ()  # the keys of its group-bot cards (groupops.chatbots)


def outbox_key(reminder_key: str, step: int) -> str:
    """The outbox idempotency key of one step (hashed when ids make it too long)."""
    key = f"deadline:{reminder_key}:step{step}"
    if len(key) <= 191:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"deadline:{reminder_key.split(':', 1)[0]}:step{step}:{digest}"


def send_reminders(
    engine: sa.Engine,
    obligations: Obligations,
    policy: Policy,
    *,
    sender: str,
    outbox_dir: Path,
    now: datetime,
    dry_run: bool = False,
) -> list[SentReminder]:
    """Email each due, unrecorded step (0: the assignee, 1: the group's admins, or its owner
    when it has none) through the outbox, and record it; step 2 (the owner) is recorded for the
    owner's digest. A commitment later than the asked deadline is told to the requester once
    (kind ``commitment``, :func:`late_commitments`). With ``dry_run`` nothing is written; the
    list shows what would be sent."""
    due = due_reminders(engine, obligations)
    notices = due_commitment_notices(engine, obligations, WorkClock.from_policy(policy))
    if not notices.empty:
        due = pd.concat([due, notices], ignore_index=True)
    if due.empty:
        return []
    from groupops.mail import enqueue, render_email  # on use: a read-only watch never mails

    members = Directory.load(engine)
    group_frame = load_groups(engine)
    groups = {
        (str(p), str(g)): str(n)
        for p, g, n in zip(
            group_frame["platform"], group_frame["group_id"], group_frame["name"], strict=True
        )
    }
    texts = load_message_texts(engine, due)
    out: list[SentReminder] = []
    for raw in due.to_dict(orient="records"):
        row = {str(k): v for k, v in raw.items()}
        step = int(row["step"])
        notice = row["kind"] == COMMITMENT_KIND
        channel = "email" if notice else _STEP_CHANNEL[step]
        recipient_ids = _recipient_ids(row, -1 if notice else step)
        okey = outbox_key(str(row["key"]), step) if channel == "email" else None
        if dry_run:
            out.append(SentReminder(str(row["key"]), step, channel, recipient_ids, okey, True))
            continue
        cards: tuple[str, ...] = ()
        if okey is not None:
            addresses = members.recipients(str(row["platform"]), recipient_ids)
            context = _context(
                row, "commitment" if notice else step, members, groups, texts, policy, addresses
            )
            cards = _queue_cards(engine, row, context, okey, policy, now)
            if addresses:
                email = render_email("deadline_reminder", context, language=policy.language)
                enqueue(
                    engine,
                    email,
                    key=okey,
                    kind=REMINDER_KIND,
                    to=addresses,
                    sender=sender,
                    outbox_dir=outbox_dir,
                    now=now,
                )
            else:
                okey = None  # nobody to email: recorded so it is not retried every run
        created = _record(engine, row, step, channel, recipient_ids, okey, obligations.as_of, now)
        out.append(
            SentReminder(str(row["key"]), step, channel, recipient_ids, okey, created, cards)
        )
    return out


def _queue_cards(
    engine: sa.Engine,
    row: dict[str, Any],
    context: dict[str, Any],
    okey: str,
    policy: Policy,
    now: datetime,
) -> tuple[str, ...]:
    """The reminder's card for every bot of its group (``policy.chatbots``), from the email's
    context; stored once per step (the email's key and the bot's name)."""
    from groupops.chatbots import Card, bots_for, enqueue_post
    from groupops.mail import render_card
    from groupops.mail.i18n import translate

    bots = bots_for(policy, str(row["platform"]), [str(row["group_id"])], "reminder")
    if not bots:
        return ()
    rendered = render_card("deadline_reminder", context, language=policy.language)
    card = Card(rendered.title, rendered.body, translate("card.truncated", policy.language),
                tone="orange" if context["step"] == "commitment" else "red")  # fmt: skip
    return tuple(
        enqueue_post(engine, card, source_key=okey, kind=REMINDER_KIND, bot=name,
                     channel=bot.kind, now=now)[0]
        for name, bot in bots
    )  # fmt: skip


def _recipient_ids(row: dict[str, Any], step: int) -> list[str]:
    """Step 0: the assignee; 1: the admins (else the owner); 2: the owner; -1 (a commitment
    later than asked): the requester."""
    owner = row.get("owner_id")
    owner_ids = [str(owner)] if isinstance(owner, str) and owner else []
    if step == -1:
        requester = row.get("requester_id")
        return [str(requester)] if isinstance(requester, str) and requester else []
    if step == 0:
        return [str(row["assignee_id"])]
    if step == 1:
        admins = row.get("admin_ids")
        ids = [str(a) for a in admins] if isinstance(admins, list) else []
        return ids or owner_ids
    return owner_ids


def _context(
    row: dict[str, Any],
    step: int | str,
    members: Directory,
    groups: dict[tuple[str, str], str],
    texts: dict[tuple[str, str, str], str],
    policy: Policy,
    addresses: list[Recipient],
) -> dict[str, Any]:
    platform, group_id = str(row["platform"]), str(row["group_id"])
    group_name = groups.get((platform, group_id), group_id)
    # A source's item (a meeting's minutes) carries its own text; others show their message.
    own = row.get("text")
    text = (
        own
        if isinstance(own, str) and own
        else texts.get((platform, group_id, str(row["message_id"])), "")
    )
    tz = policy.tz
    return {
        "company": policy.company,
        "step": step,
        "working_day_minutes": working_day_minutes(policy.working_time),
        "recipient_names": "、".join(r.name or r.address for r in addresses)
        if policy.language == "zh-CN"
        else ", ".join(r.name or r.address for r in addresses),
        "item": {
            # A commitment notice is about the task's completion.
            "kind": "task_done" if step == "commitment" else row["kind"],
            "group_name": group_name,
            "text": text if len(text) <= 200 else text[:199] + "…",
            "requester_name": members.name(platform, row.get("requester_id")),
            "assignee_name": members.name(platform, str(row["assignee_id"])),
            "requested_at": pd.Timestamp(row["requested_at"]).tz_convert(tz).to_pydatetime(),
            "due_at": pd.Timestamp(row["due_at"]).tz_convert(tz).to_pydatetime(),
            "asked_due_at": _local(row.get("asked_due_at"), tz) or _local(row["due_at"], tz),
            "committed_due_at": _local(row.get("committed_due_at"), tz),
            "deadline_words": row.get("deadline_words") or None,
            "overdue_working_minutes": float(row.get("overdue_working_minutes") or 0.0),
            "commitment_late_minutes": float(row.get("commitment_late_minutes") or 0.0),
        },
    }


def _local(value: Any, tz: Any) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    out: datetime = pd.Timestamp(value).tz_convert(tz).to_pydatetime()
    return out


def _record(
    engine: sa.Engine,
    row: dict[str, Any],
    step: int,
    channel: str,
    recipients: list[str],
    okey: str | None,
    as_of: datetime,
    now: datetime,
) -> bool:
    values = {
        "kind": row["kind"],
        "platform": row["platform"],
        "group_id": row["group_id"],
        "message_id": row["message_id"],
        "assignee_id": row["assignee_id"],
        "step": step,
        "requester_id": row.get("requester_id"),
        "requested_at": pd.Timestamp(row["requested_at"]).to_pydatetime(),
        "due_at": pd.Timestamp(row["due_at"]).to_pydatetime(),
        "overdue_working_minutes": float(row["overdue_working_minutes"]),
        "channel": channel,
        "recipients": recipients,
        "outbox_key": okey,
        "as_of": as_of,
        "created_at": now,
    }
    table = DeadlineReminder.__table__
    assert isinstance(table, sa.Table)
    try:
        with engine.begin() as conn:
            conn.execute(table.insert().values(**values))
    except IntegrityError:
        return False  # a concurrent run recorded this step first
    return True


def load_reminders(engine: sa.Engine) -> pd.DataFrame:
    table = DeadlineReminder.__table__
    assert isinstance(table, sa.Table)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table).order_by(table.c.id)).all()
    return pd.DataFrame(rows, columns=[c.name for c in table.c])
