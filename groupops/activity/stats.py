"""Member activity statistics for a period, per group and member, with the previous period of
the same length for comparison. Pure pandas on the frames of :mod:`groupops.db.queries`,
vectorised (no Python loop over messages).

Definitions (all local times in the policy's zone):

* **messages**: non-``system`` messages with ``since <= sent_at < until``; **active days**:
  distinct local days with a message; **share**: the member's messages / the group's.
* **mentions received**: the reply requests to the member sent in the period, and
  **answered** the ones they answered before ``until``, by the one rule of
  :mod:`groupops.activity.answers` (a message @mentioning them, not to everyone, not a task,
  not a system message; answered by their reply to it or, with ``reply_mode = "any_message"``,
  by their next message in the group). **Reply time**: ``duration(mentioned_at, answered_at)`` in
  minutes: ``load_stats`` uses the policy's working clock, ``compute_stats`` wall time unless
  given the clock's ``working_minutes_between_series``; median and
  90th percentile use linear interpolation (numpy's default).
* **roster** at ``until``: members whose last membership event before ``until`` is a join, plus
  anyone who wrote in the group in the loaded window and has no membership event there.
* **inactive**: on the roster and either no message in the ``activity.inactive_days`` days before
  ``until``, or fewer than ``activity.min_messages`` messages in the period.
* **new / departed**: a join / a leave or removal event in the period.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import sqlalchemy as sa

from groupops.activity.answers import answer_requests, reply_requests
from groupops.activity.figures import COMPARED, json_name
from groupops.activity.rowstats import period_json, window_bounds
from groupops.clock.periods import Period
from groupops.db.bulk import gc_paused
from groupops.db.queries import load_groups, load_last_messages, load_memberships, load_messages
from groupops.policy import Policy
from groupops.roster import Directory

if TYPE_CHECKING:
    from pandas.core.groupby import DataFrameGroupBy

    from groupops.db.queries import LoadedMessages

DurationFn = Callable[[pd.Series, pd.Series], pd.Series]
"""``(start, end)`` aware UTC instants (never NaT) → minutes between them (float), e.g. the
working clock's ``WorkClock.working_minutes_between_series``."""

GROUP_KEYS = ["platform", "group_id"]
MEMBER_KEYS = ["platform", "group_id", "member_id"]

#: The message columns the statistics read (``text`` and ``mention_all`` tell which mentions
#: are reply requests: :mod:`groupops.activity.answers`).
STATS_COLUMNS = ("platform", "group_id", "message_id", "sender_id", "sent_at", "kind", "reply_to",
                 "mentions", "mention_all", "text")  # fmt: skip


def wall_minutes(start: pd.Series, end: pd.Series) -> pd.Series:
    """Wall-clock minutes from ``start`` to ``end``."""
    return (end - start).dt.total_seconds() / 60.0


@dataclass(frozen=True)
class ActivityStats:
    """The figures for one period.

    * ``members``: one row per (platform, group_id, member_id): ``messages``, ``active_days``,
      ``share``, ``first_at``, ``last_at``, ``last_seen_at`` (newest message in the loaded
      window), ``mentions_received``, ``mentions_answered``, ``reply_median_minutes``,
      ``reply_p90_minutes``, ``is_member``, ``joined``, ``departed``, ``inactive``,
      ``messages_prev``.
    * ``groups``: one row per group: the :data:`COMPARED` figures with ``_prev`` and
      ``_delta``, plus ``name``, ``owner_id``, ``admin_ids`` when the groups frame was given.
    * ``daily``: (platform, group_id, member_id, day, messages) for days with messages.
    * ``heatmap``: (platform, group_id, member_id, weekday 0=Monday, hour, messages).
    * ``replies``: every mention in the period: requester, target, times, ``minutes``;
      ``replies_prev`` the same for the previous period.
    """

    period: Period
    previous: Period
    members: pd.DataFrame
    groups: pd.DataFrame
    daily: pd.DataFrame
    heatmap: pd.DataFrame
    replies: pd.DataFrame
    replies_prev: pd.DataFrame

    def group_daily(self, keys: Sequence[tuple[str, str]]) -> pd.Series:
        """Messages per local day of the period (every day, zeros included) over the given
        (platform, group_id) groups."""
        days = pd.DatetimeIndex([pd.Timestamp(d) for d in self.period.days()], name="day")
        sel = _select(self.daily, keys)
        return sel.groupby("day")["messages"].sum().reindex(days, fill_value=0).astype("int64")

    def group_heatmap(self, keys: Sequence[tuple[str, str]]) -> pd.DataFrame:
        """A 7 × 24 table (weekday 0=Monday × hour) of message counts over the given groups."""
        sel = _select(self.heatmap, keys)
        table = sel.pivot_table(
            index="weekday", columns="hour", values="messages", aggfunc="sum", fill_value=0
        )
        return table.reindex(index=range(7), columns=range(24), fill_value=0).astype("int64")


def _select(frame: pd.DataFrame, keys: Sequence[tuple[str, str]]) -> pd.DataFrame:
    wanted = pd.MultiIndex.from_tuples(list(keys), names=GROUP_KEYS)
    mask = pd.MultiIndex.from_frame(frame[GROUP_KEYS]).isin(wanted)
    return frame[mask]


def load_window(period: Period, policy: Policy) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The span of messages :func:`compute_stats` needs: the previous period and the
    inactivity window before it, up to the period's end."""
    start, until = window_bounds(period, policy.activity.inactive_days)
    return pd.Timestamp(start), pd.Timestamp(until)


def load_stats(
    engine: sa.Engine,
    period: Period,
    policy: Policy,
    *,
    groups: Sequence[str] | None = None,
    duration: DurationFn | None = None,
    loaded: LoadedMessages | None = None,
) -> ActivityStats:
    """Load what the period needs from the store and compute its statistics. Reply times are
    measured on the policy's working clock unless another ``duration`` is given. ``loaded``:
    messages loaded before, read instead of the store when they cover the window and columns
    (``load_messages(loaded=…)``; the same statistics: ``tests/test_digest_preload.py``)."""
    if duration is None:
        from groupops.clock.workclock import WorkClock

        duration = WorkClock.from_policy(policy).working_minutes_between_series
    since, until = load_window(period, policy)
    messages = load_messages(
        engine,
        since=since.to_pydatetime(),
        until=until.to_pydatetime(),
        groups=groups,
        columns=STATS_COLUMNS,
        loaded=loaded,
    )
    memberships = load_memberships(engine)
    group_frame = load_groups(engine)
    if groups:
        memberships = memberships[memberships["group_id"].isin(list(groups))]
        group_frame = group_frame[group_frame["group_id"].isin(list(groups))]
    stats = compute_stats(
        messages, memberships, period, policy, groups=group_frame, duration=duration
    )
    return fill_last_seen(engine, stats, until=period.until, groups=groups)


#: Most senders :func:`fill_last_seen` names in its query (more: every sender is read).
LAST_SEEN_SENDERS = 500


def fill_last_seen(
    engine: sa.Engine,
    stats: ActivityStats,
    *,
    until: datetime,
    groups: Sequence[str] | None = None,
) -> ActivityStats:
    """:func:`_with_last_seen` with the store's last messages before ``until``, read only for
    the members the loaded window has none of (none such: nothing is read), which is all it
    takes from them (``tests/test_coverage.py``: the same statistics as reading every
    sender's)."""
    members = stats.members
    if members.empty:
        return stats
    unseen = members.loc[members["last_seen_at"].isna(), "member_id"]
    if unseen.empty:
        return stats
    senders = sorted({str(member) for member in unseen})
    named = senders if len(senders) <= LAST_SEEN_SENDERS else None
    return _with_last_seen(
        stats, load_last_messages(engine, until=until, groups=groups, senders=named)
    )


def _with_last_seen(stats: ActivityStats, last: pd.DataFrame) -> ActivityStats:
    """``last_seen_at`` from the whole store where the loaded window has none: a member who
    spoke before the window is shown with that message, never as "never"."""
    members = stats.members
    if members.empty or last.empty:
        return stats
    found = members[MEMBER_KEYS].merge(last, on=MEMBER_KEYS, how="left")["last_at"]
    found.index = members.index
    members = members.assign(last_seen_at=members["last_seen_at"].fillna(found))
    return replace(stats, members=members)


def compute_stats(
    messages: pd.DataFrame,
    memberships: pd.DataFrame,
    period: Period,
    policy: Policy,
    *,
    groups: pd.DataFrame | None = None,
    duration: DurationFn = wall_minutes,
) -> ActivityStats:
    """Statistics for ``period`` (and its previous period) from messages covering at least
    :func:`load_window`. ``groups`` (optional) adds every known group, even a silent one,
    with its name, owner and admins."""
    msgs = _prepare(messages, period)
    members_of = _MemberCodes.of(msgs)
    current = _figures(msgs, memberships, period, policy, duration, members_of)
    previous = _figures(msgs, memberships, period.previous(), policy, duration, members_of)

    members = current.members.merge(
        previous.members[[*MEMBER_KEYS, "messages"]].rename(columns={"messages": "messages_prev"}),
        on=MEMBER_KEYS,
        how="left",
    )
    members["messages_prev"] = members["messages_prev"].fillna(0).astype("int64")

    group_rows = current.groups.merge(
        previous.groups, on=GROUP_KEYS, how="outer", suffixes=("", "_prev")
    )
    if groups is not None:
        info = groups[[*GROUP_KEYS, "name", "owner_id", "admin_ids"]]
        group_rows = info.merge(group_rows, on=GROUP_KEYS, how="left")
    counts = [c for c in COMPARED if not c.startswith(("answer_rate", "reply_"))]
    for col in counts:
        for name in (col, f"{col}_prev"):
            group_rows[name] = group_rows[name].fillna(0).astype("int64")
    for col in COMPARED:
        group_rows[f"{col}_delta"] = group_rows[col] - group_rows[f"{col}_prev"]
    group_rows = group_rows.sort_values(GROUP_KEYS, ignore_index=True)

    in_period = msgs[msgs["in_period"]]
    daily = members_of.counts(in_period, ["day"])
    heatmap = members_of.counts(in_period, ["weekday", "hour"])
    return ActivityStats(
        period=period,
        previous=period.previous(),
        members=members.sort_values(MEMBER_KEYS, ignore_index=True),
        groups=group_rows,
        daily=daily,
        heatmap=heatmap,
        replies=current.replies,
        replies_prev=previous.replies,
    )


_SENDER_KEYS = [*GROUP_KEYS, "sender_id"]


@dataclass(frozen=True)
class _MemberCodes:
    """Each message's (platform, group_id, sender_id) as one integer, numbered in the keys'
    sorted order, made once per statistics run: the big group-bys (per member, last seen,
    daily, heatmap) group by that integer instead of factorizing three text columns again
    each time (1M messages: a three-key ``size`` 0.095 s against 0.012 by the code), then name
    the groups by the keys, so every frame is the one grouping by the keys gives (same rows,
    order, dtypes: ``tests/test_stats_member_codes.py`` against the keys' grouping, kept
    below; 1M whole span: ``compute_stats`` 1.55–2.25 → 1.43–1.62 s CPU). ``codes`` is
    ``None`` when a key is missing somewhere (pandas drops such rows from a group-by): then
    the keys themselves are grouped, as before."""

    codes: pd.Series | None
    keys: pd.DataFrame  # one row per code: platform, group_id, member_id

    @classmethod
    def of(cls, msgs: pd.DataFrame) -> _MemberCodes:
        keys = msgs[_SENDER_KEYS]
        if keys.isna().to_numpy().any():
            return cls(None, keys.iloc[:0].rename(columns={"sender_id": "member_id"}))
        codes = msgs.groupby(_SENDER_KEYS, sort=True).ngroup()
        _, first = np.unique(codes.to_numpy(), return_index=True)
        named = keys.iloc[first].rename(columns={"sender_id": "member_id"})
        return cls(codes, named.reset_index(drop=True))

    def grouped(self, frame: pd.DataFrame) -> DataFrameGroupBy[Any, Any]:
        if self.codes is None:
            return frame.groupby(_SENDER_KEYS)
        return frame.groupby(self.codes.loc[frame.index].to_numpy())

    def indexed(self, result: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
        """A result of :meth:`grouped`, indexed by (platform, group_id, member_id)."""
        if self.codes is None:
            return result.rename_axis(index={"sender_id": "member_id"})
        named = self.keys.take(result.index.to_numpy())
        out = result.copy()
        out.index = pd.MultiIndex.from_frame(named)
        return out

    def counts(self, frame: pd.DataFrame, extra: list[str]) -> pd.DataFrame:
        """Messages per member and ``extra`` columns: the rows of
        ``frame.groupby([*keys, *extra], observed=True).size()`` as columns ``platform``,
        ``group_id``, ``member_id``, ``*extra``, ``messages``."""
        if self.codes is None:
            return (
                frame.groupby([*_SENDER_KEYS, *extra], observed=True)
                .size()
                .rename("messages")
                .reset_index()
                .rename(columns={"sender_id": "member_id"})
            )
        code = self.codes.loc[frame.index].rename("_member")
        sizes = (
            frame[extra]
            .assign(_member=code.to_numpy())
            .groupby(["_member", *extra], observed=True)
            .size()
            .rename("messages")
            .reset_index()
        )
        named = self.keys.take(sizes["_member"].to_numpy()).reset_index(drop=True)
        return pd.concat([named, sizes.drop(columns="_member")], axis=1)


def _prepare(messages: pd.DataFrame, period: Period) -> pd.DataFrame:
    msgs = messages[messages["kind"] != "system"] if "kind" in messages else messages
    msgs = msgs[msgs["sent_at"] < pd.Timestamp(period.until)].copy()
    local = msgs["sent_at"].dt.tz_convert(period.tz)
    msgs["day"] = local.dt.tz_localize(None).dt.normalize()
    msgs["weekday"] = local.dt.weekday
    msgs["hour"] = local.dt.hour
    msgs["in_period"] = msgs["sent_at"] >= pd.Timestamp(period.since)
    return msgs.sort_values("sent_at", kind="stable", ignore_index=True)


@dataclass(frozen=True)
class _Figures:
    members: pd.DataFrame
    groups: pd.DataFrame
    replies: pd.DataFrame


def _figures(
    msgs: pd.DataFrame,
    memberships: pd.DataFrame,
    period: Period,
    policy: Policy,
    duration: DurationFn,
    members_of: _MemberCodes | None = None,
) -> _Figures:
    since, until = pd.Timestamp(period.since), pd.Timestamp(period.until)
    upto = msgs[msgs["sent_at"] < until]
    in_p = upto[upto["sent_at"] >= since]
    members_of = members_of or _MemberCodes.of(msgs)

    per_member = members_of.indexed(
        members_of.grouped(in_p).agg(
            messages=("sent_at", "size"),
            active_days=("day", "nunique"),
            first_at=("sent_at", "min"),
            last_at=("sent_at", "max"),
        )
    )
    last_seen = members_of.indexed(members_of.grouped(upto)["sent_at"].max().rename("last_seen_at"))

    replies = _replies(msgs, in_p, until, policy, duration)
    by_target = replies.groupby([*GROUP_KEYS, "target_id"])
    received = by_target.agg(
        mentions_received=("message_id", "size"),
        mentions_answered=("answered_at", "count"),
        reply_median_minutes=("minutes", "median"),
    )
    received["reply_p90_minutes"] = by_target["minutes"].quantile(0.9)
    received = received.rename_axis(index={"target_id": "member_id"})

    roster = _roster(memberships, upto, until)
    events = memberships[(memberships["at"] >= since) & (memberships["at"] < until)]
    joined = events[events["event"] == "join"].groupby(MEMBER_KEYS).size().gt(0).rename("joined")
    departed = (
        events[events["event"].isin(["leave", "removed"])]
        .groupby(MEMBER_KEYS)
        .size()
        .gt(0)
        .rename("departed")
    )

    members = pd.concat(
        [per_member, last_seen, received, roster, joined, departed], axis=1, join="outer"
    )
    members.index = members.index.set_names(MEMBER_KEYS)
    keep = (
        members["messages"].notna()
        | members["is_member"].fillna(False).astype(bool)
        | members["joined"].fillna(False).astype(bool)
        | members["departed"].fillna(False).astype(bool)
    )
    members = members[keep].reset_index()
    for col in ("messages", "active_days", "mentions_received", "mentions_answered"):
        members[col] = members[col].fillna(0).astype("int64")
    for col in ("is_member", "joined", "departed"):
        members[col] = members[col].astype("boolean").fillna(False).astype(bool)
    for col in ("first_at", "last_at", "last_seen_at"):
        members[col] = pd.to_datetime(members[col], utc=True)

    group_total = members.groupby(GROUP_KEYS)["messages"].transform("sum")
    members["share"] = (members["messages"] / group_total.where(group_total > 0)).fillna(0.0)
    quiet_since = until - pd.Timedelta(days=policy.activity.inactive_days)
    silent = members["last_seen_at"].isna() | (members["last_seen_at"] < quiet_since)
    members["inactive"] = members["is_member"] & (
        silent | (members["messages"] < policy.activity.min_messages)
    )

    members["active"] = members["messages"] > 0
    groups = members.groupby(GROUP_KEYS).agg(
        messages=("messages", "sum"),
        active_members=("active", "sum"),
        members=("is_member", "sum"),
        inactive_members=("inactive", "sum"),
        new_members=("joined", "sum"),
        departed_members=("departed", "sum"),
        mentions=("mentions_received", "sum"),
        mentions_answered=("mentions_answered", "sum"),
    )
    by_group = replies.groupby(GROUP_KEYS)["minutes"]
    group_replies = pd.DataFrame(
        {"reply_median_minutes": by_group.median(), "reply_p90_minutes": by_group.quantile(0.9)}
    )
    groups = groups.join(group_replies, how="left").reset_index()
    groups["answer_rate"] = groups["mentions_answered"] / groups["mentions"].where(
        groups["mentions"] > 0
    )
    return _Figures(members=members.drop(columns="active"), groups=groups, replies=replies)


def _roster(memberships: pd.DataFrame, upto: pd.DataFrame, until: pd.Timestamp) -> pd.Series:
    """``is_member`` at ``until`` per (platform, group_id, member_id)."""
    before = memberships[memberships["at"] < until].sort_values("at", kind="stable")
    last = before.groupby(MEMBER_KEYS)["event"].last()
    listed = last.eq("join")
    writers = upto[[*GROUP_KEYS, "sender_id"]].drop_duplicates()
    writer_index = writers.rename(columns={"sender_id": "member_id"}).set_index(MEMBER_KEYS).index
    with_events = memberships.set_index(MEMBER_KEYS).index
    unlisted = writer_index[~writer_index.isin(with_events)]
    extra = pd.Series([True] * len(unlisted), index=unlisted, dtype=bool)
    combined: pd.Series = pd.concat([listed, extra]).rename("is_member")
    return combined


def _replies(
    msgs: pd.DataFrame,
    in_p: pd.DataFrame,
    until: pd.Timestamp,
    policy: Policy,
    duration: DurationFn,
) -> pd.DataFrame:
    """Each reply request in the period with its answer before ``until``, if any (the one rule
    of :mod:`groupops.activity.answers`) and the reply time in ``minutes``."""
    requests = reply_requests(in_p, policy)
    merged = answer_requests(requests, msgs[msgs["sent_at"] < until], policy)
    merged = merged.rename(columns={"requested_at": "mentioned_at"}).reset_index(drop=True)
    answered = merged["answered_at"].notna()
    minutes = pd.Series(float("nan"), index=merged.index, dtype="float64")
    if answered.any():  # the clock only ever sees complete (start, end) pairs
        measured = duration(
            merged.loc[answered, "mentioned_at"], merged.loc[answered, "answered_at"]
        )
        minutes[answered] = measured.to_numpy(dtype="float64")
    merged["minutes"] = minutes
    return merged


def _iso(value: object, period: Period) -> str | None:
    """An instant as ISO 8601 in the period's zone; anything else (None, NaT) → None."""
    if value is pd.NaT or not isinstance(value, datetime):
        return None
    return pd.Timestamp(value).tz_convert(period.tz).isoformat()


def _number(value: object) -> float | int | None:
    """A JSON number from a Python, numpy or pandas scalar (integers stay integers); missing
    values (None, NaN, NA) → None."""
    if isinstance(value, bool | np.bool_ | numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and not math.isnan(value):
        return float(value)
    return None


def _grouped_rows(
    frame: pd.DataFrame, columns: list[str]
) -> dict[tuple[object, ...], list[tuple[object, ...]]]:
    """``{(platform, group_id, member_id): [row tuples of columns]}``, keys in order of first
    appearance, each key's rows in the frame's order (no per-group frames: a report covers
    tens of thousands of members). When each key's rows are contiguous (the ``daily`` and
    ``heatmap`` frames come from a group-by), they are sliced out of one list of rows; any
    other frame is walked row by row."""
    if frame.empty:
        return {}
    keys = frame[MEMBER_KEYS]
    if not keys.isna().to_numpy().any():
        starts = np.zeros(len(frame), dtype=bool)
        starts[0] = True
        for name in MEMBER_KEYS:
            codes = pd.factorize(keys[name])[0]
            starts[1:] |= codes[1:] != codes[:-1]
        at = np.flatnonzero(starts)
        firsts = list(zip(*(keys[k].take(at).tolist() for k in MEMBER_KEYS), strict=True))
        if len(set(firsts)) == len(firsts):  # one run of rows per key
            rows = list(zip(*(frame[c].tolist() for c in columns), strict=True))
            bounds = [*at.tolist(), len(frame)]
            return {k: rows[a:b] for k, a, b in zip(firsts, bounds, bounds[1:], strict=False)}
    out: dict[tuple[object, ...], list[tuple[object, ...]]] = {}
    key_rows = zip(*(keys[k].tolist() for k in MEMBER_KEYS), strict=True)
    values = zip(*(frame[c].tolist() for c in columns), strict=True)
    for key, value in zip(key_rows, values, strict=True):
        out.setdefault(key, []).append(value)
    return out


_MEMBER_FLAGS = ("is_member", "joined", "departed", "inactive")
_MEMBER_NUMBERS = ("messages", "active_days", "share", "mentions_received", "mentions_answered",
                   "reply_median_minutes", "reply_p90_minutes", "messages_prev")  # fmt: skip
_MEMBER_FIELDS = ("messages", "active_days", "share", "mentions_received", "mentions_answered",
                  "reply_median_minutes", "reply_p90_minutes", "is_member", "joined", "departed",
                  "inactive", "messages_prev")  # fmt: skip


def _numbers(column: pd.Series) -> list[float | int | None]:
    """:func:`_number` of every value of ``column``, converted per column where the dtype
    allows (a report covers tens of thousands of members)."""
    if pd.api.types.is_bool_dtype(column.dtype) or (
        pd.api.types.is_integer_dtype(column.dtype) and not column.isna().any()
    ):
        return cast(list[float | int | None], column.astype(np.int64).tolist())
    if pd.api.types.is_float_dtype(column.dtype) and isinstance(column.dtype, np.dtype):
        return [None if v != v else v for v in column.tolist()]  # NaN → None
    return [_number(v) for v in column.tolist()]


def _isos(column: pd.Series, period: Period) -> list[str | None]:
    """:func:`_iso` of every value of ``column``."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        local = column.dt.tz_convert(period.tz)
        return [None if v is pd.NaT else v.isoformat() for v in local.tolist()]
    return [_iso(v, period) for v in column.tolist()]


def _member_items(
    members: pd.DataFrame,
    period: Period,
    people: Directory,
    member_days: dict[tuple[object, ...], dict[object, object]],
    member_hours: dict[tuple[object, ...], list[list[object]]],
) -> tuple[dict[tuple[object, ...], list[dict[str, object]]], dict[tuple[object, ...], list[str]]]:
    """Each group's member entries of :func:`stats_report` in ``members``' order, and the
    ids of its members per flag (``(platform, group_id, flag) → [member_id]``)."""
    values: dict[str, list[object]] = {
        f: [bool(v) for v in members[f].tolist()] for f in _MEMBER_FLAGS
    }
    values.update({f: cast(list[object], _numbers(members[f])) for f in _MEMBER_NUMBERS})
    firsts, lasts = _isos(members["first_at"], period), _isos(members["last_at"], period)
    out: dict[tuple[object, ...], list[dict[str, object]]] = {}
    flagged: dict[tuple[object, ...], list[str]] = {}
    platforms, group_ids = members["platform"].tolist(), members["group_id"].tolist()
    columns = [values[f] for f in _MEMBER_FIELDS]
    for i, member_id in enumerate(members["member_id"].tolist()):
        key = (platforms[i], group_ids[i])
        person = people.person(str(platforms[i]), str(member_id))
        item: dict[str, object] = {
            "member_id": person.member_id,
            "display_name": person.display_name,
            "name": person.name,
        }
        for field, column in zip(_MEMBER_FIELDS, columns, strict=True):
            item[field] = column[i]
        item["first_at"] = firsts[i]
        item["last_at"] = lasts[i]
        mkey = (*key, member_id)
        item["messages_per_day"] = member_days.get(mkey, {})
        item["hours"] = member_hours.get(mkey, [])
        out.setdefault(key, []).append(item)
        for flag in ("inactive", "joined", "departed"):
            if values[flag][i]:
                flagged.setdefault((*key, flag), []).append(str(member_id))
    return out, flagged


def stats_report(stats: ActivityStats, people: Directory | None = None) -> dict[str, object]:
    """The statistics as plain JSON data (``groupops stats --json``)::

        {"period": {"since", "until", "timezone", "label", "previous": {"since", "until"}},
         "groups": [{"group_id", "platform", "name", "owner_id", "owner_name", "messages",
                     "active_members",
                     "member_count", "inactive_members": [ids], "new_members": [ids],
                     "departed_members": [ids], "mentions", "mentions_answered", "answer_rate",
                     "reply_median_minutes", "reply_p90_minutes",
                     "previous": {figure: number}, "change": {figure: number},
                     "messages_per_day": {"YYYY-MM-DD": n}, "heatmap": 7 × 24 counts,
                     "members": [{"member_id", "display_name", "name", "messages", "active_days",
                                  "share", "first_at", "last_at", "mentions_received",
                                  "mentions_answered", "reply_median_minutes",
                                  "reply_p90_minutes", "is_member", "joined", "departed",
                                  "inactive", "messages_prev",
                                  "messages_per_day": {day: n}, "hours": [[weekday, hour, n]]}]}]}

    In ``previous`` and ``change`` every figure is a number (member lists become counts).
    ``name`` / ``owner_name``: the name to show from the member directory ``people``
    (:meth:`Directory.name`: real name first); ``display_name``: the platform's display name.
    Instants are ISO 8601 in the policy zone; a missing value is ``null``."""
    with gc_paused():  # ~700k small lists, dicts and tuples at 1M messages, none in a cycle
        return _report(stats, people)


def _report(stats: ActivityStats, people: Directory | None) -> dict[str, object]:
    period = stats.period
    people = people or Directory()
    members = stats.members.sort_values(
        [*GROUP_KEYS, "messages", "member_id"], ascending=[True, True, False, True]
    )
    daily = stats.daily.assign(day=stats.daily["day"].dt.strftime("%Y-%m-%d"))
    member_days: dict[tuple[object, ...], dict[object, object]] = {
        key: dict(cast(list[tuple[object, object]], rows))  # (day, messages) pairs
        for key, rows in _grouped_rows(daily, ["day", "messages"]).items()
    }
    member_hours = {
        key: list(map(list, rows))
        for key, rows in _grouped_rows(stats.heatmap, ["weekday", "hour", "messages"]).items()
    }
    days = pd.DatetimeIndex([pd.Timestamp(d) for d in period.days()])
    day_labels = list(days.strftime("%Y-%m-%d"))
    group_days = (
        stats.daily.groupby([*GROUP_KEYS, "day"])["messages"].sum().unstack("day", fill_value=0)
        .reindex(columns=days, fill_value=0)
    )  # fmt: skip
    group_heat = (
        stats.heatmap.groupby([*GROUP_KEYS, "weekday", "hour"])["messages"].sum()
        .unstack(["weekday", "hour"], fill_value=0)
        .reindex(columns=pd.MultiIndex.from_product([range(7), range(24)]), fill_value=0)
    )  # fmt: skip
    days_of = dict(zip(group_days.index, group_days.to_numpy().astype(int).tolist(), strict=True))
    heat_of = dict(zip(group_heat.index, group_heat.to_numpy().astype(int), strict=True))
    member_lists, flagged = _member_items(members, period, people, member_days, member_hours)
    groups_out: list[dict[str, object]] = []
    for row in stats.groups.to_dict("records"):
        key = (row["platform"], row["group_id"])
        owner_id = row.get("owner_id")
        owner_id = owner_id if isinstance(owner_id, str) else None  # a group without owner: NaN
        group: dict[str, object] = {
            "group_id": row["group_id"],
            "platform": row["platform"],
            "name": row.get("name"),
            "owner_id": owner_id,
            "owner_name": people.name(str(row["platform"]), owner_id) or None,
        }
        for figure in COMPARED:
            group[json_name(figure)] = _number(row[figure])
        for flag, name in (("inactive", "inactive_members"), ("joined", "new_members"),
                           ("departed", "departed_members")):  # fmt: skip
            group[name] = sorted(flagged.get((*key, flag), []))
        group["previous"] = {json_name(f): _number(row[f"{f}_prev"]) for f in COMPARED}
        group["change"] = {json_name(f): _number(row[f"{f}_delta"]) for f in COMPARED}
        counts = days_of.get(key)
        group["messages_per_day"] = dict(zip(day_labels, counts or [0] * len(days), strict=True))
        heat = heat_of.get(key)
        group["heatmap"] = heat.reshape(7, 24).tolist() if heat is not None else [[0] * 24] * 7
        group["members"] = member_lists.get(key, [])
        groups_out.append(group)
    return {"period": period_json(period), "groups": groups_out}
