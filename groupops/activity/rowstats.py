"""The statistics of a small span as rows: :func:`row_report` gives exactly the dict
``stats_report(compute_stats(...), people)`` gives (:mod:`groupops.activity.stats`, the frame
engine: same keys, order, ints and float bits), in pure Python over the store's rows, so a
command on a week of a few thousand messages imports neither pandas nor numpy nor the ORM.

ONE rule, two engines: every definition is the module docstring of
:mod:`groupops.activity.stats` and the one reply rule of :mod:`groupops.activity.answers`;
``tests/test_row_stats.py`` compares both engines' reports on generated stores (hypothesis)
and on every week of the demo store. Large spans keep the frame engine (:data:`ROW_LIMIT`):
Python objects per message cost more than pandas' columns beyond a few tens of thousands.

Medians and 90th percentiles are pandas' group-by ones: the middle value or the mean of the
two middle values; ``v[i] + (v[i + 1] - v[i]) * f`` at ``i + f = 0.9 (n - 1)`` (``v[i]`` when
``f`` is 0)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from groupops.activity.answer_rows import FirstReply, NextInGroup, asks_reply, earliest, mentioned
from groupops.activity.figures import COMPARED, COUNTS, json_name
from groupops.activity.markers import marker_search

if TYPE_CHECKING:
    import sqlalchemy as sa

    from groupops.clock.periods import Period
    from groupops.policy import Policy
    from groupops.roster import Directory

#: Most messages in the loaded window (:func:`window_bounds`) the row engine takes.
ROW_LIMIT = 50_000

MinutesFn = Callable[[datetime, datetime], float]
"""``(start, end)`` aware instants → minutes between them, e.g. the working clock's
``WorkClock.working_minutes_between`` (the scalar twin of the frame engine's duration)."""

#: (platform, group_id, message_id, sender_id, sent_at, kind, reply_to, mentions,
#: mention_all, text): ``STATS_COLUMNS``' order.
MessageRow = tuple[str, str, str, str, datetime, str | None, str | None, object, object, object]
#: (platform, group_id, member_id, event, at) in the store's order.
MembershipRow = tuple[str, str, str, str, datetime]
#: (platform, group_id, name, owner_id).
GroupRow = tuple[str, str, object, object]


def window_bounds(period: Period, inactive_days: int) -> tuple[datetime, datetime]:
    """The span of messages the statistics read (``stats.load_window`` without pandas)."""
    previous = period.previous()
    start = min(previous.since, previous.until - timedelta(days=inactive_days))
    return start, period.until


def median(values: Sequence[float]) -> float | None:
    """pandas' group-by median of ``values`` (sorted, no NaN); ``None`` when empty."""
    n = len(values)
    if n == 0:
        return None
    if n % 2:
        return values[n // 2]
    return (values[n // 2] + values[n // 2 - 1]) / 2


def quantile(values: Sequence[float], q: float) -> float | None:
    """pandas' group-by ``quantile(q)`` with linear interpolation of ``values`` (sorted, no
    NaN); ``None`` when empty."""
    n = len(values)
    if n == 0:
        return None
    at = q * (n - 1)
    i = int(at)
    frac = at % 1
    if frac == 0.0:
        return values[i]
    return values[i] + (values[i + 1] - values[i]) * frac


@dataclass
class _Member:
    messages: int = 0
    days: set[date] = field(default_factory=set)
    first_at: datetime | None = None
    last_at: datetime | None = None
    last_seen_at: datetime | None = None
    received: int = 0
    answered: int = 0
    minutes: list[float] = field(default_factory=list)
    is_member: bool | None = None
    joined: bool = False
    departed: bool = False
    inactive: bool = False
    share: float = 0.0
    in_period: bool = False


@dataclass
class _Figures:
    members: dict[tuple[str, str, str], _Member]
    groups: dict[tuple[str, str], dict[str, float | int | None]]


@dataclass(slots=True)
class _Msg:
    platform: str
    group_id: str
    message_id: str
    sender_id: str
    sent_at: datetime
    reply_to: str | None
    mentions: list[object]
    asks: bool  # a reply request (mentions, not to everyone, not a task or meeting message)
    day: date  # local (the period's zone)
    weekday: int
    hour: int


def _prepare(rows: Iterable[MessageRow], period: Period, policy: Policy) -> list[_Msg]:
    """Non-system messages before the period's end, oldest first (``sent_at``, then
    ``message_id``), each marked whether it can be a reply request."""
    task = marker_search(policy.tasks.markers)
    meeting = marker_search([*policy.meetings.notice_markers, *policy.meetings.minutes_markers])
    out: list[_Msg] = []
    until, tz = period.until, period.tz
    for pf, g, mid, sender, at, kind, reply_to, mentions, to_all, text in rows:
        if kind == "system" or not at < until:
            continue
        listed = list(mentions) if isinstance(mentions, list) else []
        body = text if isinstance(text, str) else ("" if text is None else str(text))
        asks = asks_reply(listed, to_all, body, task, meeting)
        local = at.astimezone(tz)
        out.append(_Msg(pf, g, mid, sender, at, reply_to, listed, asks, local.date(),
                        local.weekday(), local.hour))  # fmt: skip
    out.sort(key=lambda m: (m.sent_at, m.message_id))
    return out


def _figures(
    msgs: list[_Msg],
    memberships: Sequence[MembershipRow],
    period: Period,
    policy: Policy,
    minutes: MinutesFn,
) -> _Figures:
    since, until = period.since, period.until
    members: dict[tuple[str, str, str], _Member] = {}

    def member(key: tuple[str, str, str]) -> _Member:
        found = members.get(key)
        if found is None:
            found = members[key] = _Member()
        return found

    upto = [m for m in msgs if m.sent_at < until]
    for m in upto:
        mem = member((m.platform, m.group_id, m.sender_id))
        if mem.last_seen_at is None or m.sent_at > mem.last_seen_at:
            mem.last_seen_at = m.sent_at
        if m.sent_at >= since:
            mem.in_period = True
            mem.messages += 1
            mem.days.add(m.day)
            if mem.first_at is None or m.sent_at < mem.first_at:
                mem.first_at = m.sent_at
            if mem.last_at is None or m.sent_at > mem.last_at:
                mem.last_at = m.sent_at

    group_minutes = _replies(msgs, upto, since, until, policy, minutes, member)

    # roster at ``until``: the last event before it (ties: the store's order), plus writers
    # without any membership event
    last_event: dict[tuple[str, str, str], str] = {}
    for pf, g, mid, event, at in sorted(memberships, key=lambda e: e[4]):
        if at < until:
            last_event[(pf, g, mid)] = event
    for key, event in last_event.items():
        member(key).is_member = event == "join"
    with_events = {(pf, g, mid) for pf, g, mid, _e, _a in memberships}
    for m in upto:
        key = (m.platform, m.group_id, m.sender_id)
        if key not in with_events:
            members[key].is_member = True
    for pf, g, mid, event, at in memberships:
        if since <= at < until:
            if event == "join":
                member((pf, g, mid)).joined = True
            elif event in ("leave", "removed"):
                member((pf, g, mid)).departed = True

    kept = {k: v for k, v in members.items() if v.in_period or v.is_member or v.joined
            or v.departed}  # fmt: skip
    totals: dict[tuple[str, str], int] = {}
    for (pf, g, _mid), mem in kept.items():
        totals[(pf, g)] = totals.get((pf, g), 0) + mem.messages
    quiet_since = until.astimezone(UTC) - timedelta(days=policy.activity.inactive_days)
    groups: dict[tuple[str, str], dict[str, float | int | None]] = {}
    for (pf, g, _mid), mem in kept.items():
        total = totals[(pf, g)]
        mem.share = mem.messages / total if total > 0 else 0.0
        silent = mem.last_seen_at is None or mem.last_seen_at < quiet_since
        mem.inactive = bool(mem.is_member) and (
            silent or mem.messages < policy.activity.min_messages
        )
        row = groups.get((pf, g))
        if row is None:
            row = groups[(pf, g)] = dict.fromkeys(COUNTS, 0)
        row["messages"] = int(row["messages"] or 0) + mem.messages
        row["active_members"] = int(row["active_members"] or 0) + (mem.messages > 0)
        row["members"] = int(row["members"] or 0) + bool(mem.is_member)
        row["inactive_members"] = int(row["inactive_members"] or 0) + mem.inactive
        row["new_members"] = int(row["new_members"] or 0) + mem.joined
        row["departed_members"] = int(row["departed_members"] or 0) + mem.departed
        row["mentions"] = int(row["mentions"] or 0) + mem.received
        row["mentions_answered"] = int(row["mentions_answered"] or 0) + mem.answered
    for gkey, row in groups.items():
        values = sorted(group_minutes.get(gkey, []))
        row["reply_median_minutes"] = median(values)
        row["reply_p90_minutes"] = quantile(values, 0.9)
        asked = int(row["mentions"] or 0)
        row["answer_rate"] = int(row["mentions_answered"] or 0) / asked if asked > 0 else None
    return _Figures(members=kept, groups=groups)


def _replies(
    msgs: list[_Msg],
    upto: list[_Msg],
    since: datetime,
    until: datetime,
    policy: Policy,
    minutes: MinutesFn,
    member: Callable[[tuple[str, str, str]], _Member],
) -> dict[tuple[str, str], list[float]]:
    """Each reply request of the period with its first answer before ``until``: counted on
    its target (received, answered, minutes); the answered minutes per group."""
    first_reply = FirstReply(upto)
    later = NextInGroup(upto) if policy.replies.reply_mode == "any_message" else None
    per_group: dict[tuple[str, str], list[float]] = {}
    for m in upto:
        if not m.asks or m.sent_at < since:
            continue
        targets = mentioned(m.sender_id, m.mentions)
        for target in targets:
            answer = first_reply.get(m.platform, m.group_id, m.message_id, target)
            if later is not None:
                answer = earliest(answer, later.get(m.platform, m.group_id, target, m.sent_at))
            answered = answer.sent_at if answer is not None else None
            mem = member((m.platform, m.group_id, target))
            mem.received += 1
            if answered is not None:
                mem.answered += 1
                spent = minutes(m.sent_at, answered)
                mem.minutes.append(spent)
                per_group.setdefault((m.platform, m.group_id), []).append(spent)
            else:
                per_group.setdefault((m.platform, m.group_id), [])
    return per_group


def row_report(
    messages: Iterable[MessageRow],
    memberships: Sequence[MembershipRow],
    groups: Sequence[GroupRow],
    period: Period,
    policy: Policy,
    people: Directory,
    minutes: MinutesFn,
) -> dict[str, object]:
    """``stats_report(compute_stats(messages, memberships, period, policy, groups=groups,
    duration=…), people)`` from rows: the messages of :func:`window_bounds` (any order), every
    membership event and group (both in the store's order, already narrowed to the groups
    asked for)."""
    msgs = _prepare(messages, period, policy)
    previous = period.previous()
    current = _figures(msgs, memberships, period, policy, minutes)
    before = _figures(msgs, memberships, previous, policy, minutes)
    days = period.days()
    labels = [d.isoformat() for d in days]
    # per member and group: messages per local day and per (weekday, hour) of the period
    member_days: dict[tuple[str, str, str], dict[date, int]] = {}
    member_hours: dict[tuple[str, str, str], dict[tuple[int, int], int]] = {}
    for m in msgs:
        if m.sent_at < period.since:
            continue
        key = (m.platform, m.group_id, m.sender_id)
        per_day = member_days.setdefault(key, {})
        day = m.day
        per_day[day] = per_day.get(day, 0) + 1
        per_hour = member_hours.setdefault(key, {})
        slot = (m.weekday, m.hour)
        per_hour[slot] = per_hour.get(slot, 0) + 1

    by_group: dict[tuple[str, str], list[tuple[str, _Member]]] = {}
    for (pf, g, mid), mem in current.members.items():
        by_group.setdefault((pf, g), []).append((mid, mem))

    groups_out: list[dict[str, object]] = []
    for pf, g, name, owner_id in sorted(groups, key=lambda r: (r[0], r[1])):
        gkey = (pf, g)
        cur = current.groups.get(gkey, {})
        prev = before.groups.get(gkey, {})
        owner = owner_id if isinstance(owner_id, str) else None
        group: dict[str, object] = {
            "group_id": g,
            "platform": pf,
            "name": name,
            "owner_id": owner,
            "owner_name": people.name(str(pf), owner) or None,
        }
        figures = {f: _figure(cur, f) for f in COMPARED}
        figures_prev = {f: _figure(prev, f) for f in COMPARED}
        ordered = sorted(by_group.get(gkey, []), key=lambda e: (-e[1].messages, e[0]))
        for figure in COMPARED:
            group[json_name(figure)] = figures[figure]
        for flag, out_name in (("inactive", "inactive_members"), ("joined", "new_members"),
                               ("departed", "departed_members")):  # fmt: skip
            group[out_name] = sorted(mid for mid, mem in ordered if getattr(mem, flag))
        group["previous"] = {json_name(f): figures_prev[f] for f in COMPARED}
        group["change"] = {json_name(f): _delta(figures[f], figures_prev[f]) for f in COMPARED}
        counts = dict.fromkeys(days, 0)
        heat = [[0] * 24 for _ in range(7)]
        items: list[dict[str, object]] = []
        for mid, mem in ordered:
            mkey = (pf, g, mid)
            person = people.person(str(pf), str(mid))
            values = sorted(mem.minutes)
            mdays = member_days.get(mkey, {})
            hours = member_hours.get(mkey, {})
            for day, n in mdays.items():
                if day in counts:
                    counts[day] += n
            for (wd, hr), n in hours.items():
                heat[wd][hr] += n
            prev_mem = before.members.get(mkey)
            items.append({
                "member_id": person.member_id,
                "display_name": person.display_name,
                "name": person.name,
                "messages": mem.messages,
                "active_days": len(mem.days),
                "share": mem.share,
                "mentions_received": mem.received,
                "mentions_answered": mem.answered,
                "reply_median_minutes": median(values),
                "reply_p90_minutes": quantile(values, 0.9),
                "is_member": bool(mem.is_member),
                "joined": mem.joined,
                "departed": mem.departed,
                "inactive": mem.inactive,
                "messages_prev": prev_mem.messages if prev_mem is not None else 0,
                "first_at": _iso(mem.first_at, period),
                "last_at": _iso(mem.last_at, period),
                "messages_per_day": {d.isoformat(): n for d, n in sorted(mdays.items())},
                "hours": [[wd, hr, n] for (wd, hr), n in sorted(hours.items())],
            })  # fmt: skip
        group["messages_per_day"] = dict(zip(labels, counts.values(), strict=True))
        group["heatmap"] = heat
        group["members"] = items
        groups_out.append(group)
    return {"period": period_json(period), "groups": groups_out}


def period_json(period: Period) -> dict[str, object]:
    """The report's ``period`` entry."""
    previous = period.previous()
    return {
        "since": period.since.isoformat(),
        "until": period.until.isoformat(),
        "timezone": str(period.tz),
        "label": period.label,
        "previous": {"since": previous.since.isoformat(), "until": previous.until.isoformat()},
    }


def _figure(row: dict[str, float | int | None], name: str) -> float | int | None:
    if name in COUNTS:
        return int(row.get(name) or 0)
    value = row.get(name)
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _delta(a: float | int | None, b: float | int | None) -> float | int | None:
    return None if a is None or b is None else a - b


def _iso(value: datetime | None, period: Period) -> str | None:
    return None if value is None else value.astimezone(period.tz).isoformat()


# -- reading the store as rows (Core tables, no ORM) ------------------------------------------


def _tables() -> tuple[sa.Table, sa.Table, sa.Table]:
    """The three tables the statistics read, as Core tables (the ORM's model classes cost
    ~0.2 s to import; the columns and types are the models')."""
    import sqlalchemy as sa

    from groupops.db.types import JSONList, UTCDateTime

    meta = sa.MetaData()
    messages = sa.Table(
        "messages", meta, sa.Column("platform", sa.String), sa.Column("group_id", sa.String),
        sa.Column("message_id", sa.String), sa.Column("sender_id", sa.String),
        sa.Column("sent_at", UTCDateTime), sa.Column("kind", sa.String),
        sa.Column("reply_to", sa.String), sa.Column("mentions", JSONList),
        sa.Column("mention_all", sa.Boolean), sa.Column("text", sa.Text),
    )  # fmt: skip
    events = sa.Table(
        "membership_events", meta, sa.Column("platform", sa.String),
        sa.Column("group_id", sa.String), sa.Column("member_id", sa.String),
        sa.Column("event", sa.String), sa.Column("at", UTCDateTime),
        sa.Column("approved_by", sa.String), sa.Column("reason", sa.Text),
    )  # fmt: skip
    groups = sa.Table(
        "groups", meta, sa.Column("platform", sa.String), sa.Column("group_id", sa.String),
        sa.Column("name", sa.String), sa.Column("owner_id", sa.String),
    )  # fmt: skip
    return messages, events, groups


def _raw(column: sa.Column[Any]) -> sa.ColumnElement[Any]:
    """Instants and JSON lists as the driver returns them (converted by :func:`_instant` and
    :func:`_mentions`, not by the column types row by row)."""
    import sqlalchemy as sa

    from groupops.db.types import JSONList, UTCDateTime

    if isinstance(column.type, JSONList | UTCDateTime):
        return sa.type_coerce(column, sa.Text()).label(column.name)
    return column


def _instant(value: object) -> datetime:
    """A stored instant as aware UTC: SQLite's naive UTC text (``YYYY-MM-DD HH:MM:SS.ffffff``)
    or the driver's datetime (``UTCDateTime``'s reading)."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if not isinstance(value, datetime):
        raise TypeError(f"not an instant: {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _mentions(value: object) -> list[str]:
    """A stored JSON list of member ids (``JSONList``'s reading; ``[]`` for none)."""
    if not value or value == "[]":
        return []
    import orjson

    loaded = orjson.loads(value if isinstance(value, str | bytes) else str(value))
    return [str(v) for v in loaded] if isinstance(loaded, list) else []


@dataclass(frozen=True)
class StoreRows:
    """What :func:`row_report` reads from the store."""

    messages: list[MessageRow]
    memberships: list[MembershipRow]
    groups: list[GroupRow]
    people: Directory


def load_rows(
    engine: sa.Engine,
    period: Period,
    policy: Policy,
    *,
    groups: Sequence[str] | None = None,
    limit: int = ROW_LIMIT,
) -> StoreRows | None:
    """The rows :func:`row_report` needs, or ``None`` when the window holds more than
    ``limit`` messages (one count first: the frame engine takes those)."""
    import sqlalchemy as sa

    from groupops.roster.directory import Directory, Person, _text

    messages, events, group_table = _tables()
    start, end = window_bounds(period, policy.activity.inactive_days)
    where = [messages.c.sent_at >= start, messages.c.sent_at < end]
    if groups:
        where.append(messages.c.group_id.in_(list(groups)))
    wanted = set(groups or ())
    with engine.connect() as conn:
        # counted up to limit + 1 only: a large window stops the scan early
        some = sa.select(sa.literal(1)).select_from(messages).where(*where).limit(limit + 1)
        count = conn.execute(sa.select(sa.func.count()).select_from(some.subquery()))
        if int(count.scalar_one()) > limit:
            return None
        raw = [_raw(c) for c in messages.c]
        msg_rows: list[MessageRow] = [
            (pf, g, mid, sender, _instant(at), kind, reply_to, _mentions(mentions), to_all, text)
            for pf, g, mid, sender, at, kind, reply_to, mentions, to_all, text in conn.execute(
                sa.select(*raw).where(*where)
            ).all()
        ]
        # every column but content_hash / updated_at: the frame reader's statement, so the
        # same plan and the same order of events with the same instant
        member_rows: list[MembershipRow] = [
            (r[0], r[1], r[2], r[3], r[4])
            for r in conn.execute(sa.select(*events.c))
            if not wanted or r[1] in wanted
        ]
        group_rows: list[GroupRow] = [
            (r[0], r[1], r[2], r[3])
            for r in conn.execute(sa.select(*group_table.c))
            if not wanted or r[1] in wanted
        ]
        people = Directory(
            Person(str(p), str(m), _text(n), _text(real), _text(dept), _text(email))
            for p, m, n, real, dept, email in conn.execute(
                sa.text(
                    "SELECT platform, member_id, display_name, real_name, department, email "
                    "FROM members"
                )
            )
        )
    return StoreRows(msg_rows, member_rows, group_rows, people)


def small_span_report(
    engine: sa.Engine,
    period: Period,
    policy: Policy,
    *,
    groups: Sequence[str] | None = None,
    limit: int | None = None,
) -> dict[str, object] | None:
    """``stats_report(load_stats(engine, period, policy, groups=groups), Directory.load(engine))``
    by the row engine, reply times on the policy's working clock; ``None`` when the window
    holds more than ``limit`` messages (default :data:`ROW_LIMIT`; then the frame engine
    answers)."""
    from groupops.clock.workclock import WorkClock

    rows = load_rows(engine, period, policy, groups=groups,
                     limit=ROW_LIMIT if limit is None else limit)  # fmt: skip
    if rows is None:
        return None
    clock = WorkClock.from_policy(policy)
    return row_report(
        rows.messages, rows.memberships, rows.groups, period, policy, rows.people,
        clock.working_minutes_between,
    )  # fmt: skip
