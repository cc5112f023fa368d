"""Reporting periods in the policy's zone: the last complete week or month before an instant,
or any ``[since, until)`` span, with the previous period of the same length."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

PeriodKind = Literal["week", "month", "custom"]


@dataclass(frozen=True)
class Period:
    """``since <= t < until``, both aware and expressed in ``tz``."""

    since: datetime
    until: datetime
    tz: ZoneInfo
    kind: PeriodKind = "custom"

    def __post_init__(self) -> None:
        if self.since.tzinfo is None or self.until.tzinfo is None:
            raise ValueError("period bounds must be timezone-aware")
        if self.until <= self.since:
            raise ValueError(f"empty period: {self.since.isoformat()} .. {self.until.isoformat()}")
        object.__setattr__(self, "since", self.since.astimezone(self.tz))
        object.__setattr__(self, "until", self.until.astimezone(self.tz))

    @property
    def length(self) -> timedelta:
        return self.until - self.since

    @property
    def label(self) -> str:
        """``2026-W47`` for a week, ``2026-11`` for a month, else ``2026-11-01..2026-11-07``
        (the last day included)."""
        if self.kind == "week":
            year, week, _ = self.since.date().isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "month":
            return f"{self.since:%Y-%m}"
        return f"{self.since.date().isoformat()}..{self.last_day.isoformat()}"

    @property
    def last_day(self) -> date:
        """The last local day the period touches."""
        return (self.until - timedelta(microseconds=1)).date()

    def previous(self) -> Period:
        """The period of the same length that ends where this one starts."""
        return Period(self.since - self.length, self.since, self.tz, "custom")

    def days(self) -> list[date]:
        """Every local day the period touches, in order."""
        first, last = self.since.date(), self.last_day
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def last_complete(kind: Literal["week", "month"], as_of: datetime, tz: ZoneInfo) -> Period:
    """The last whole ISO week (Monday 00:00 to Monday 00:00) or calendar month that ended at
    or before ``as_of``, in ``tz``."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    today = as_of.astimezone(tz).date()
    if kind == "week":
        this_monday = today - timedelta(days=today.weekday())
        return Period(
            _midnight(this_monday - timedelta(days=7), tz), _midnight(this_monday, tz), tz, "week"
        )
    first = today.replace(day=1)
    previous_first = (first - timedelta(days=1)).replace(day=1)
    return Period(_midnight(previous_first, tz), _midnight(first, tz), tz, "month")
