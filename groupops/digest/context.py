"""Digest scopes and contexts: who gets which digest, and the one context dict its three
templates render from.

A digest is a list of **sections**, each rendered by its own partial
(``templates/sections/<template>.html`` and ``.txt``) from ``section.data``. This issue fills the
``activity`` section; later features add theirs (overdue items, appeals, purges, meetings) with a
:data:`SectionProvider`: a callable ``(scope, language) -> Section | None`` passed to
:func:`build_digest`. A digest is sent only when some section ``has_content``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import pandas as pd

from groupops.activity.coverage import (
    Coverage,
    PeriodCoverage,
    comparable,
    hold_reason,
    period_coverage,
)
from groupops.activity.stats import ActivityStats
from groupops.clock.lateness import working_day_minutes
from groupops.clock.periods import Period
from groupops.clock.workclock import WorkClock
from groupops.digest.actions import needs_you, verdict
from groupops.digest.charts import daily_chart, heatmap_chart
from groupops.mail import Recipient
from groupops.mail.i18n import Language, translate
from groupops.policy import Policy
from groupops.roster import Directory

Audience = Literal["owner", "admin"]
TOP_MEMBERS = 5
CHART_DAILY, CHART_HEATMAP = "chart-daily", "chart-heatmap"


@dataclass(frozen=True)
class DigestScope:
    """One digest: an owner's groups, or one group for its admins."""

    audience: Audience
    platform: str
    subject_id: str  # the owner's member id, or the group id for an admin digest
    recipient_ids: tuple[str, ...]
    groups: tuple[str, ...]
    period: Period

    @property
    def key(self) -> str:
        """Idempotency key, e.g. ``digest:week:2026-W47:owner:wecom:u001``."""
        p = self.period
        return f"digest:{p.kind}:{p.label}:{self.audience}:{self.platform}:{self.subject_id}"

    @property
    def group_keys(self) -> list[tuple[str, str]]:
        return [(self.platform, g) for g in self.groups]


@dataclass(frozen=True)
class Section:
    """One block of a digest, rendered by ``templates/sections/<template>.{html,txt}``."""

    id: str
    template: str
    title: str
    data: Mapping[str, Any]
    has_content: bool
    images: Mapping[str, bytes] = field(default_factory=dict)
    # What the reader must act on, for the "Needs you" block (groupops.digest.actions).
    actions: tuple[Mapping[str, Any], ...] = ()


SectionProvider = Callable[[DigestScope, Language], Section | None]


@dataclass(frozen=True)
class Digest:
    scope: DigestScope
    language: Language
    context: dict[str, Any]
    images: dict[str, bytes]
    recipients: list[Recipient]
    has_content: bool
    subject_name: str = ""  # the owner's name (member directory), or the group's name
    held: str | None = None  # why it must not be sent (no data for the period), else None

    @property
    def key(self) -> str:
        return self.scope.key


def plan_digests(
    stats: ActivityStats, *, owner: str | None = None, admins: bool = True
) -> list[DigestScope]:
    """One owner digest per (platform, owner) over all their groups, and one admin digest per
    group with admins. ``owner`` keeps only that owner's digest and the admin digests of their
    groups."""
    groups = stats.groups
    if "owner_id" not in groups:
        raise ValueError("stats were computed without the groups frame (owner and admins)")
    scopes: list[DigestScope] = []
    owned = groups[groups["owner_id"].notna()]
    if owner is not None:
        owned = owned[owned["owner_id"] == owner]
    for (platform, owner_id), frame in owned.groupby(["platform", "owner_id"], sort=True):
        scopes.append(
            DigestScope("owner", str(platform), str(owner_id), (str(owner_id),),
                        tuple(sorted(frame["group_id"].astype(str))), stats.period)
        )  # fmt: skip
    if admins:
        for row in owned.sort_values(["platform", "group_id"]).to_dict("records"):
            admin_ids = tuple(str(a) for a in (row["admin_ids"] or []))
            if admin_ids:
                scopes.append(
                    DigestScope("admin", str(row["platform"]), str(row["group_id"]), admin_ids,
                                (str(row["group_id"]),), stats.period)
                )  # fmt: skip
    return scopes


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _plain(value: object) -> Any:
    if _is_missing(value) or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def change(
    current: object, previous: object, *, higher_is_better: bool | None
) -> dict[str, Any] | None:
    """``{"current", "previous", "delta", "ratio", "direction", "good"}`` or ``None`` when
    either side is missing. ``ratio`` is ``None`` when the previous value is 0."""
    cur, prev = _plain(current), _plain(previous)
    if cur is None or prev is None:
        return None
    delta = cur - prev
    direction = "flat" if delta == 0 else ("up" if delta > 0 else "down")
    good = None if higher_is_better is None or delta == 0 else (delta > 0) == higher_is_better
    return {
        "current": cur,
        "previous": prev,
        "delta": delta,
        "ratio": (delta / prev) if prev else None,
        "direction": direction,
        "good": good,
    }


#: The change shown when the previous period has no (or only partial) data: "无可比数据".
NO_COMPARISON: dict[str, Any] = {"direction": "nodata", "good": None}


def _figure(
    key: str, current: object, previous: object, fmt: str, better: bool | None
) -> dict[str, Any]:
    return {
        "key": key,
        "label_key": f"digest.headline.{key}",
        "value": _plain(current),
        "change": change(current, previous, higher_is_better=better),
        "fmt": fmt,
    }


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _median(values: pd.Series) -> float | None:
    clean = values.dropna()
    return float(clean.median()) if len(clean) else None


def _local(value: object, period: Period) -> datetime | None:
    if value is pd.NaT or not isinstance(value, datetime):
        return None
    return pd.Timestamp(value).tz_convert(period.tz).to_pydatetime()


def _person(
    people: Directory, platform: str, row: Mapping[str, Any], period: Period
) -> dict[str, Any]:
    member_id = str(row["member_id"])
    return {
        "member_id": member_id,
        "name": people.name(platform, member_id),
        "department": people.department(platform, member_id),
        "messages": int(row["messages"]),
        "messages_prev": int(row["messages_prev"]),
        "change": change(row["messages"], row["messages_prev"], higher_is_better=True),
        "active_days": int(row["active_days"]),
        "share": float(row["share"]),
        "mentions_received": int(row["mentions_received"]),
        "mentions_answered": int(row["mentions_answered"]),
        "reply_median_minutes": _plain(row["reply_median_minutes"]),
        "last_seen_at": _local(row["last_seen_at"], period),
    }


def _group_figures(row: Mapping[Any, Any]) -> list[dict[str, Any]]:
    return [
        _figure("messages", row["messages"], row["messages_prev"], "num", True),
        _figure("active_members", row["active_members"], row["active_members_prev"], "num", True),
        _figure("inactive_members", row["inactive_members"], row["inactive_members_prev"], "num", False),
        _figure("answer_rate", row["answer_rate"], row["answer_rate_prev"], "pct", True),
        _figure("reply_median", row["reply_median_minutes"], row["reply_median_minutes_prev"], "minutes", False),
        _figure("new_members", row["new_members"], row["new_members_prev"], "num", None),
        _figure("departed_members", row["departed_members"], row["departed_members_prev"], "num", None),
    ]  # fmt: skip


def activity_section(
    scope: DigestScope,
    stats: ActivityStats,
    people: Directory,
    language: Language,
    *,
    comparisons: bool = True,
) -> Section:
    """Headline figures with their change, per group: top and inactive members, new and
    departed members; two charts (messages per day, weekday × hour). Without ``comparisons``
    (a period without full data on either side) every change says "no comparable data"."""
    period = stats.period
    g = stats.groups[
        (stats.groups["platform"] == scope.platform) & stats.groups["group_id"].isin(scope.groups)
    ]
    m = stats.members[
        (stats.members["platform"] == scope.platform) & stats.members["group_id"].isin(scope.groups)
    ]
    in_scope = (stats.replies["platform"] == scope.platform) & stats.replies["group_id"].isin(
        scope.groups
    )
    prev_scope = (stats.replies_prev["platform"] == scope.platform) & stats.replies_prev[
        "group_id"
    ].isin(scope.groups)
    summary = [
        _figure("messages", g["messages"].sum(), g["messages_prev"].sum(), "num", True),
        _figure("active_members", m.loc[m["messages"] > 0, "member_id"].nunique(),
                m.loc[m["messages_prev"] > 0, "member_id"].nunique(), "num", True),
        _figure("inactive_members", g["inactive_members"].sum(), g["inactive_members_prev"].sum(), "num", False),
        _figure("answer_rate", _ratio(g["mentions_answered"].sum(), g["mentions"].sum()),
                _ratio(g["mentions_answered_prev"].sum(), g["mentions_prev"].sum()), "pct", True),
        _figure("reply_median", _median(stats.replies.loc[in_scope, "minutes"]),
                _median(stats.replies_prev.loc[prev_scope, "minutes"]), "minutes", False),
        _figure("new_members", g["new_members"].sum(), g["new_members_prev"].sum(), "num", None),
        _figure("departed_members", g["departed_members"].sum(), g["departed_members_prev"].sum(), "num", None),
    ]  # fmt: skip

    groups: list[dict[str, Any]] = []
    for row in g.sort_values(["messages", "group_id"], ascending=[False, True]).to_dict("records"):
        members = m[m["group_id"] == row["group_id"]]
        top = members[members["messages"] > 0].sort_values(
            ["messages", "member_id"], ascending=[False, True]
        )
        inactive = members[members["inactive"]].sort_values(
            ["last_seen_at", "member_id"], na_position="first"
        )
        owner_id = None if _is_missing(row.get("owner_id")) else str(row["owner_id"])
        groups.append(
            {
                "group_id": str(row["group_id"]),
                "platform": scope.platform,
                "name": str(row.get("name") or row["group_id"]),
                "owner": None if owner_id is None else {
                    "member_id": owner_id, "name": people.name(scope.platform, owner_id)},
                "members": int(row["members"]),
                "figures": _group_figures(row),
                "top_members": [_person(people, scope.platform, r, period)
                                for r in top.head(TOP_MEMBERS).to_dict("records")],
                "inactive_members": [_person(people, scope.platform, r, period)
                                     for r in inactive.to_dict("records")],
                "new_members": [_person(people, scope.platform, r, period)
                                for r in members[members["joined"]].to_dict("records")],
                "departed_members": [_person(people, scope.platform, r, period)
                                     for r in members[members["departed"]].to_dict("records")],
            }
        )  # fmt: skip

    if not comparisons:
        for f in [*summary, *(f for grp in groups for f in grp["figures"])]:
            f["change"] = NO_COMPARISON
        for grp in groups:
            for key in ("top_members", "inactive_members", "new_members", "departed_members"):
                for person in grp[key]:
                    person["change"] = None
    has_content = bool(
        g["messages"].sum() > 0 or g["new_members"].sum() > 0 or g["departed_members"].sum() > 0
    )
    images: dict[str, bytes] = {}
    if has_content:
        names = {grp["group_id"]: grp["name"] for grp in groups}
        series = {names[gid]: stats.group_daily([(scope.platform, gid)]) for gid in scope.groups}
        images[CHART_DAILY] = daily_chart(series, language, fallback_labels=list(scope.groups))
        images[CHART_HEATMAP] = heatmap_chart(stats.group_heatmap(scope.group_keys), language)
    return Section(
        id="activity",
        template="activity",
        title=translate("digest.section.activity", language),
        data={
            "summary": summary,
            "groups": groups,
            "charts": {"daily": CHART_DAILY, "heatmap": CHART_HEATMAP} if images else None,
        },
        has_content=has_content,
        images=images,
    )


def _tie_overdue_to_members(sections: Sequence[Section]) -> None:
    """Each listed member carries ``overdue_items``: how many of their replies and tasks are
    overdue in the Needs-you block (an inactive member with three overdue items says so)."""
    counts: dict[tuple[str, str], int] = {}
    for section in sections:
        for a in section.actions:
            if a.get("slot") == "overdue" and a.get("person_id"):
                key = (str(a.get("group")), str(a["person_id"]))
                counts[key] = counts.get(key, 0) + 1
    for grp in sections[0].data["groups"]:
        for listed in ("top_members", "inactive_members"):
            for person in grp[listed]:
                person["overdue_items"] = counts.get((grp["name"], person["member_id"]), 0)


def _coverage_context(
    covered: Sequence[PeriodCoverage], coverage: Coverage | None, comparisons: bool, tz: Any
) -> dict[str, Any] | None:
    """The data a digest stands on, for its templates (``None``: not known)."""
    if coverage is None:
        return None

    def local(value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(tz)

    groups = [
        {
            "group_id": c.group.group_id,
            "name": c.group.name,
            "status": c.status,
            "first_at": local(c.group.first_at),
            "last_at": local(c.group.last_at),
            "covered_since": local(c.covered_since),
            "covered_until": local(c.covered_until),
            "sources": [
                {
                    "source": s.source,
                    "kind": s.kind,
                    "ingested_at": local(s.ingested_at),
                    "newest_at": local(s.newest_at),
                    "age_hours": None
                    if s.ingested_at is None
                    else round((coverage.as_of - s.ingested_at).total_seconds() / 3600, 1),
                }
                for s in c.group.sources
            ],
        }
        for c in covered
    ]
    return {
        "groups": groups,
        "partial": any(c.status == "partial" for c in covered),
        "no_data": [g["name"] for g in groups if g["status"] == "none"],
        "comparable": comparisons,
        "as_of": local(coverage.as_of),
    }


def _join_names(names: Sequence[str], language: Language) -> str:
    return ("、" if language == "zh-CN" else ", ").join(names)


def _day(value: datetime) -> date:
    return value.date()


def build_digest(
    scope: DigestScope,
    stats: ActivityStats,
    people: Directory,
    policy: Policy,
    *,
    providers: Sequence[SectionProvider] = (),
    coverage: Coverage | None = None,
    clock: WorkClock | None = None,
) -> Digest:
    """The context (and inline images, recipients) of one digest; people are shown and
    addressed through the member directory ``people``. With ``coverage`` the digest states the
    data it stands on (per group: first and last message, sources and their freshness, whether
    the period is partial), compares with the previous period only when both are fully covered,
    and is ``held`` (with the reason of :func:`groupops.activity.coverage.hold_reason`) when
    none of its groups has data in the period."""
    language: Language = policy.language
    period, previous = stats.period, stats.previous
    covered: list[PeriodCoverage] = []
    held: str | None = None
    comparisons = True
    if coverage is not None:
        clock = clock or WorkClock.from_policy(policy)
        groups_cov = [coverage.group(scope.platform, gid) for gid in scope.groups]
        covered = [period_coverage(g, period.since, period.until, clock) for g in groups_cov]
        before = [period_coverage(g, previous.since, previous.until, clock) for g in groups_cov]
        held = hold_reason(covered, as_of=coverage.as_of)
        comparisons = comparable(covered, before)
    sections = [activity_section(scope, stats, people, language, comparisons=comparisons)]
    for provider in providers:
        extra = provider(scope, language)
        if extra is not None:
            sections.append(extra)
    images: dict[str, bytes] = {}
    for section in sections:
        images.update(section.images)
    _tie_overdue_to_members(sections)
    recipients = [
        r for r in (people.recipient(scope.platform, mid) for mid in scope.recipient_ids) if r
    ]
    activity = sections[0].data
    group_names = [grp["name"] for grp in activity["groups"]]
    messages_total = activity["summary"][0]["value"]
    context: dict[str, Any] = {
        "company": policy.company,
        "audience": scope.audience,
        "key": scope.key,
        "period": {
            "kind": period.kind,
            "label": period.label,
            "since": _day(period.since),
            "last_day": period.last_day,
            "prev_since": _day(previous.since),
            "prev_last_day": previous.last_day,
        },
        "recipient_names": _join_names(
            [people.name(scope.platform, mid) for mid in scope.recipient_ids], language
        ),
        "group_names": group_names,
        "messages_total": messages_total,
        "activity": {"inactive_days": policy.activity.inactive_days,
                     "min_messages": policy.activity.min_messages},
        "sections": [
            {"id": s.id, "template": s.template, "title": s.title, "data": s.data,
             "has_content": s.has_content}
            for s in sections
        ],
        "coverage": _coverage_context(covered, coverage, comparisons, period.tz),
        "needs_you": needs_you(a for s in sections for a in s.actions),
        "working_day_minutes": working_day_minutes(policy.working_time),
        "verdict": verdict(activity["summary"], comparable=comparisons),
    }  # fmt: skip
    return Digest(
        scope=scope,
        language=language,
        context=context,
        images=images,
        recipients=recipients,
        has_content=any(s.has_content for s in sections),
        held=held,
        subject_name=(
            people.name(scope.platform, scope.subject_id)
            if scope.audience == "owner"
            else (group_names[0] if group_names else scope.subject_id)
        ),
    )
