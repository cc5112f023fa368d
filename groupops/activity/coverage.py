"""What data a report stands on: per group, the first and last message ingested, the sources
that brought them and how fresh each is — and the one rule for when a report must be held.

A report never misleads (issue 12):

* a period with **no ingested data** for any of its groups is **held**, not sent, with a reason
  (:func:`hold_reason`);
* a period whose data starts late or ends early is **partial** and says so
  (:attr:`PeriodCoverage.partial`);
* a comparison with the previous period is made only when **both** periods are fully covered
  (:func:`comparable`); otherwise the report says "no comparable data".

Coverage of a group over ``[since, until)``: its data starts at the first message ingested and
ends at the last message ingested or, for a live connector, the last successful pull (a pull
covers the quiet hours up to it), whichever is later. The period is fully covered when the data
starts no later than the end of the period's first working day and ends no earlier than the
start of its last working day (chat is quiet on days off; a week whose Friday has data is not
"partial" for a silent Sunday).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal

import sqlalchemy as sa

from groupops.clock.workclock import WorkClock
from groupops.db.models import ConnectorWatermark, Group, IngestRun, Message
from groupops.db.types import UTCDateTime

Status = Literal["full", "partial", "none"]


@dataclass(frozen=True, slots=True)
class SourceFreshness:
    """One source of a group's data: an import (``import``: a file or bundle ingested) or a live
    connector (``connector``), when it last brought data and the newest instant it saw."""

    source: str
    kind: Literal["import", "connector"]
    ingested_at: datetime | None  # the run's end, or the connector's last pull
    newest_at: datetime | None  # the newest message instant it brought
    messages: int = 0

    def age(self, as_of: datetime) -> timedelta | None:
        """How long ago the source last brought data (``None``: never)."""
        return None if self.ingested_at is None else as_of - self.ingested_at


@dataclass(frozen=True, slots=True)
class GroupCoverage:
    """The data ingested for one group up to ``as_of``."""

    platform: str
    group_id: str
    name: str
    first_at: datetime | None
    last_at: datetime | None
    messages: int
    sources: tuple[SourceFreshness, ...] = ()

    @property
    def data_end(self) -> datetime | None:
        """Where the data ends: the last message, or a connector's last pull if later."""
        ends = [self.last_at] + [
            s.ingested_at for s in self.sources if s.kind == "connector" and s.ingested_at
        ]
        known = [e for e in ends if e is not None]
        return max(known) if known else None


@dataclass(frozen=True, slots=True)
class PeriodCoverage:
    """How well one group's data covers ``[since, until)``."""

    group: GroupCoverage
    since: datetime
    until: datetime
    status: Status
    covered_since: datetime | None = None  # the first data inside the period
    covered_until: datetime | None = None  # where the data inside the period ends

    @property
    def partial(self) -> bool:
        return self.status == "partial"


@dataclass(frozen=True)
class Coverage:
    """Every group's coverage, read at ``as_of``."""

    as_of: datetime
    groups: Mapping[tuple[str, str], GroupCoverage] = field(default_factory=dict)

    def group(self, platform: str, group_id: str) -> GroupCoverage:
        found = self.groups.get((platform, group_id))
        return found or GroupCoverage(platform, group_id, group_id, None, None, 0)


def load_coverage(engine: sa.Engine, as_of: datetime) -> Coverage:
    """Per group: first and last message ingested (sent up to ``as_of``), the sources that
    brought them (ingest runs by their ``source``, connectors by their watermark)."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    m = Message.__table__
    runs = IngestRun.__table__
    marks = ConnectorWatermark.__table__
    groups = Group.__table__
    assert isinstance(m, sa.Table) and isinstance(runs, sa.Table)
    assert isinstance(marks, sa.Table) and isinstance(groups, sa.Table)
    per_run = (
        sa.select(
            m.c.platform,
            m.c.group_id,
            m.c.ingest_run_id,
            sa.func.min(m.c.sent_at, type_=UTCDateTime()),
            sa.func.max(m.c.sent_at, type_=UTCDateTime()),
            sa.func.count(),
        )
        .where(m.c.sent_at <= as_of)
        .group_by(m.c.platform, m.c.group_id, m.c.ingest_run_id)
    )
    with engine.connect() as conn:
        rows = conn.execute(per_run).all()
        run_rows = conn.execute(
            sa.select(runs.c.id, runs.c.source, runs.c.finished_at, runs.c.started_at)
        ).all()
        mark_rows = conn.execute(
            sa.select(marks.c.platform, marks.c.group_id, marks.c.source, marks.c.at,
                      marks.c.pulled_at, marks.c.messages)
        ).all()  # fmt: skip
        names = {
            (str(p), str(g)): str(n or g)
            for p, g, n in conn.execute(
                sa.select(groups.c.platform, groups.c.group_id, groups.c.name)
            ).all()
        }
    run_info = {int(r[0]): (str(r[1]), r[2] or r[3]) for r in run_rows}
    spans: dict[tuple[str, str], list[tuple[datetime, datetime, int]]] = {}
    imports: dict[tuple[str, str], dict[str, SourceFreshness]] = {}
    for platform, group_id, run_id, first, last, count in rows:
        key = (str(platform), str(group_id))
        spans.setdefault(key, []).append((first, last, int(count)))
        source, ended = run_info.get(int(run_id), ("(unknown)", None)) if run_id else (
            "(unknown)", None)  # fmt: skip
        kept = imports.setdefault(key, {}).get(source)
        ingested = ended if ended is None or ended <= as_of else None
        imports[key][source] = SourceFreshness(
            source=source,
            kind="import",
            ingested_at=_latest(kept.ingested_at if kept else None, ingested),
            newest_at=_latest(kept.newest_at if kept else None, last),
            messages=(kept.messages if kept else 0) + int(count),
        )
    connectors: dict[tuple[str, str], list[SourceFreshness]] = {}
    for platform, group_id, source, at, pulled_at, count in mark_rows:
        if pulled_at is not None and pulled_at > as_of:
            continue  # judged at as_of: a later pull is not known yet
        connectors.setdefault((str(platform), str(group_id)), []).append(
            SourceFreshness(str(source), "connector", pulled_at, at, int(count or 0))
        )
    out: dict[tuple[str, str], GroupCoverage] = {}
    for key in sorted(set(names) | set(spans) | set(connectors)):
        parts = spans.get(key, [])
        # A connector's own ingest runs are told by the connector, not as an import.
        own = {s.source for s in connectors.get(key, [])}
        sources = [s for s in imports.get(key, {}).values() if s.source not in own]
        out[key] = GroupCoverage(
            platform=key[0],
            group_id=key[1],
            name=names.get(key, key[1]),
            first_at=min((p[0] for p in parts), default=None),
            last_at=max((p[1] for p in parts), default=None),
            messages=sum(p[2] for p in parts),
            sources=tuple(sorted([*sources, *connectors.get(key, [])], key=lambda s: s.source)),
        )
    return Coverage(as_of=as_of, groups=out)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def period_coverage(
    group: GroupCoverage, since: datetime, until: datetime, clock: WorkClock
) -> PeriodCoverage:
    """How ``group``'s data covers ``[since, until)`` (see the module doc for the rule)."""
    end = group.data_end
    if group.first_at is None or end is None or group.first_at >= until or end < since:
        return PeriodCoverage(group, since, until, "none")
    covered_since = max(group.first_at, since)
    covered_until = min(end, until)
    days = clock.working_days(since.astimezone(clock.tz).date(),
                              (until - timedelta(microseconds=1)).astimezone(clock.tz).date())  # fmt: skip
    if days:
        first_day_end = clock.end_of_day(days[0])
        last_day_start = datetime.combine(days[-1], clock.periods[0][0], tzinfo=clock.tz)
    else:  # a span without working days: whole days count
        first_day_end, last_day_start = since + timedelta(days=1), until - timedelta(days=1)
    full = group.first_at <= first_day_end and end >= last_day_start
    return PeriodCoverage(
        group, since, until, "full" if full else "partial", covered_since, covered_until
    )


def hold_reason(
    coverages: Sequence[PeriodCoverage], *, as_of: datetime | None = None
) -> str | None:
    """Why a report over these groups' period must be **held** (not sent), or ``None``.

    The one rule, used by the digests (``groupops.digest``) and meant for any other report or
    alarm that must not speak of a period it has no data for (the stale-data alarm calls it):
    a report is held when **none** of its groups has any ingested data in the period. The
    reason names the period, each group's newest data and its sources' freshness."""
    if not coverages or any(c.status != "none" for c in coverages):
        return None
    first = coverages[0]
    tz = first.since.tzinfo or UTC
    span = f"{_day(first.since, tz)} – {_day(first.until - timedelta(microseconds=1), tz)}"
    parts = []
    for c in coverages:
        g = c.group
        if g.last_at is None:
            parts.append(f"{g.name}: no message ingested at all")
            continue
        newest = f"newest message {_instant(g.last_at, tz)}"
        if g.first_at is not None and g.first_at >= c.until:
            newest = f"data starts {_instant(g.first_at, tz)}"
        fresh = "; ".join(_freshness(s, as_of, tz) for s in g.sources)
        parts.append(f"{g.name}: {newest}" + (f" ({fresh})" if fresh else ""))
    return f"no data ingested for {span}: " + "; ".join(parts)


def comparable(current: Iterable[PeriodCoverage], previous: Iterable[PeriodCoverage]) -> bool:
    """A change against the previous period means something only when both periods are fully
    covered for every group that has data in either."""
    pairs = list(zip(current, previous, strict=True))
    with_data = [(c, p) for c, p in pairs if c.status != "none" or p.status != "none"]
    return bool(with_data) and all(c.status == "full" and p.status == "full" for c, p in with_data)


def _freshness(source: SourceFreshness, as_of: datetime | None, tz: tzinfo) -> str:
    label = f"{source.kind} {source.source}"
    if source.ingested_at is None:
        return label
    when = f"last {'pulled' if source.kind == 'connector' else 'ingested'} "
    when += _instant(source.ingested_at, tz)
    if as_of is not None:
        when += f", {_age(as_of - source.ingested_at)} ago"
    return f"{label}, {when}"


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 48:
        return f"{max(hours, 0):.0f} h"
    return f"{hours / 24:.0f} days"


def _day(value: datetime, tz: tzinfo) -> str:
    return f"{value.astimezone(tz):%Y-%m-%d}"


def _instant(value: datetime, tz: tzinfo) -> str:
    return f"{value.astimezone(tz):%Y-%m-%d %H:%M}"
