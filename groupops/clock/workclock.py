"""The company's working clock: Chinese official working days (holidays and 调休 make-up
working days, from ``chinese_calendar``), the policy's working periods, and company overrides.

Working time is a timeline of intervals; ``F(t)`` is the working time elapsed from the start of
the timeline up to ``t``. Everything reduces to ``F`` and its inverse on sorted integer arrays
(microseconds since the epoch), so a whole column of instants costs one ``searchsorted``. The
scalar methods (one instant at a time: ``working_minutes_between``, ``add_working_minutes``,
``next_working_instant``) read the same timeline with :mod:`bisect` and never import numpy, so
a command that judges a few rows starts without it (``tests/test_workclock.py`` proves both
paths equal); the arrays are made from the timeline on the first vectorised call.

Years the calendar package does not know (before 2004, after its last release year) fall back
to Monday–Friday working days plus the company overrides, with one :class:`CalendarFallbackWarning`
per year and process.
"""

from __future__ import annotations

import threading
import warnings
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import chinese_calendar

from groupops.policy import Policy, WorkingTime

if TYPE_CHECKING:  # numpy on the first vectorised call, pandas on use
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    I64Array = npt.NDArray[np.int64]

_US = 1_000_000
_US_PER_MINUTE = 60 * _US
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FALLBACK_WARNED: set[int] = set()
_FALLBACK_LOCK = threading.Lock()
#: Timelines already built in this process (see :meth:`WorkClock._build`).
_TIMELINES: dict[tuple[object, ...], _Timeline] = {}
_TIMELINES_LOCK = threading.Lock()


class CalendarFallbackWarning(UserWarning):
    """A year outside the official calendar's range: Monday–Friday are assumed working days."""


def _warn_fallback(year: int) -> None:
    with _FALLBACK_LOCK:
        if year in _FALLBACK_WARNED:
            return
        _FALLBACK_WARNED.add(year)
    message = (
        f"chinese_calendar {getattr(chinese_calendar, '__version__', '?')} has no official "
        f"holidays for {year}: the working clock assumes Monday–Friday working days (plus the "
        f"policy's overrides) for {year}. Upgrade chinesecalendar once the State Council "
        f"publishes {year}'s holiday arrangement, or add the days to working_time overrides."
    )
    warnings.warn(message, CalendarFallbackWarning, stacklevel=3)


def read_ical_overrides(path: Path) -> tuple[set[date], set[date]]:
    """Company days off and extra working days from an iCalendar file of all-day events.

    An event is an extra *working* day when its SUMMARY contains 上班, 补班 or "workday"
    (case-insensitive) or its CATEGORIES include WORKDAY; any other all-day event is a day off.
    Multi-day events cover DTSTART up to (excluding) DTEND. Timed events are ignored."""
    import icalendar

    try:
        cal = icalendar.Calendar.from_ical(path.read_bytes())
    except FileNotFoundError as exc:
        raise ValueError(f"{path}: working_time.overrides_ical file not found") from exc
    except ValueError as exc:
        raise ValueError(f"{path}: not a valid iCalendar file: {exc}") from exc
    off: set[date] = set()
    on: set[date] = set()
    for event in cal.walk("VEVENT"):
        start = event.decoded("DTSTART")
        if isinstance(start, datetime) or not isinstance(start, date):
            continue
        end = event.decoded("DTEND") if "DTEND" in event else start + timedelta(days=1)
        summary = str(event.get("SUMMARY", "")).lower()
        categories = _categories(event.get("CATEGORIES"))
        is_work = any(w in summary for w in ("上班", "补班", "workday")) or "WORKDAY" in categories
        day = start
        while day < end:
            (on if is_work else off).add(day)
            day += timedelta(days=1)
    return off, on


def _categories(value: Any) -> set[str]:
    if value is None:
        return set()
    items = value if isinstance(value, list) else [value]
    out: set[str] = set()
    for item in items:
        cats = getattr(item, "cats", None)
        if cats is None:
            out.update(s.strip().upper() for s in str(item).split(","))
        else:
            out.update(str(c).strip().upper() for c in cats)
    return out


@dataclass(frozen=True, slots=True)
class _Arrays:
    """A timeline's lists as read-only int64 arrays (the vectorised methods')."""

    starts: I64Array
    ends: I64Array
    cum_start: I64Array
    cum_end: I64Array


@dataclass(slots=True)
class _Timeline:
    first_year: int
    last_year: int
    starts: tuple[int, ...]  # interval starts, µs since epoch, sorted
    ends: tuple[int, ...]
    cum_start: tuple[int, ...]  # working µs before each interval
    cum_end: tuple[int, ...]  # working µs up to each interval's end
    _arrays: _Arrays | None = field(default=None, repr=False)

    def arrays(self) -> _Arrays:
        """The same intervals as numpy arrays, made on first use (two threads may both make
        them: equal, read-only, either kept)."""
        if self._arrays is None:
            import numpy as np

            made = _Arrays(
                *(
                    np.asarray(values, dtype=np.int64)
                    for values in (self.starts, self.ends, self.cum_start, self.cum_end)
                )
            )
            for array in (made.starts, made.ends, made.cum_start, made.cum_end):
                array.flags.writeable = False  # shared between clocks: nobody may write to it
            self._arrays = made
        return self._arrays


class WorkClock:
    """Working days and hours for one policy; thread-safe, caches its timeline by year."""

    def __init__(
        self,
        working_time: WorkingTime | None = None,
        tz: ZoneInfo | str = "Asia/Shanghai",
        *,
        extra_days_off: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
    ) -> None:
        wt = working_time or WorkingTime()
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self.periods: tuple[tuple[time, time], ...] = tuple(wt.periods)
        off = set(wt.extra_days_off) | set(extra_days_off)
        on = set(wt.extra_workdays) | set(extra_workdays)
        if wt.overrides_ical is not None:
            ical_off, ical_on = read_ical_overrides(Path(wt.overrides_ical))
            off |= ical_off - set(wt.extra_workdays)
            on |= ical_on - set(wt.extra_days_off)
        self.extra_days_off = frozenset(off - on)
        self.extra_workdays = frozenset(on - off)
        self.minutes_per_day = sum(
            (datetime.combine(date.min, e) - datetime.combine(date.min, s)).total_seconds() / 60
            for s, e in self.periods
        )
        self._lock = threading.Lock()
        self._timeline: _Timeline | None = None

    @classmethod
    def from_policy(cls, policy: Policy) -> WorkClock:
        return cls(policy.working_time, policy.tz)

    # -- days -------------------------------------------------------------------------------

    def is_working_day(self, day: date, *, warn: bool = True) -> bool:
        """Official working day (holidays off, 调休 weekends on), then company overrides."""
        if day in self.extra_workdays:
            return True
        if day in self.extra_days_off:
            return False
        official = _official_workday(day)
        if official is None:
            if warn:
                _warn_fallback(day.year)
            return day.weekday() < 5
        return official

    def day_schedule(self, day: date, *, warn: bool = True) -> list[tuple[datetime, datetime]]:
        """The working intervals of ``day`` as aware local datetimes (empty on a day off)."""
        if not self.is_working_day(day, warn=warn):
            return []
        return [
            (
                datetime.combine(day, s, tzinfo=self.tz),
                datetime.combine(day, e, tzinfo=self.tz),
            )
            for s, e in self.periods
        ]

    def end_of_day(self, day: date) -> datetime:
        """The end of the last working period on ``day`` (18:00 by default), working day or not."""
        return datetime.combine(day, self.periods[-1][1], tzinfo=self.tz)

    def within_working_days(self, instant: datetime, days: int) -> datetime:
        """The deadline "within ``days`` working days of ``instant``": the end of working hours
        of the ``days``-th working day after the day of ``instant`` (that day itself does not
        count), holidays off and 调休 make-up days on."""
        if days < 1:
            raise ValueError("days must be at least 1")
        day = _aware(instant).astimezone(self.tz).date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return self.end_of_day(day)

    def working_days(self, start: date, end: date) -> list[date]:
        """Working days in ``[start, end]``."""
        out = []
        day = start
        while day <= end:
            if self.is_working_day(day):
                out.append(day)
            day += timedelta(days=1)
        return out

    # -- timeline ---------------------------------------------------------------------------

    def _build(self, first_year: int, last_year: int) -> _Timeline:
        """The timeline of ``first_year`` .. ``last_year``; built once per process for the same
        working time, zone, overrides and years (every clock of one policy shares it: the
        arrays are never written to)."""
        key = (
            self.periods, str(self.tz), self.extra_days_off, self.extra_workdays,
            first_year, last_year,
        )  # fmt: skip
        with _TIMELINES_LOCK:
            cached = _TIMELINES.get(key)
        if cached is None:
            cached = self._build_uncached(first_year, last_year)
            with _TIMELINES_LOCK:
                _TIMELINES[key] = cached
        return cached

    def _build_uncached(self, first_year: int, last_year: int) -> _Timeline:
        starts: list[int] = []
        ends: list[int] = []
        day = date(first_year, 1, 1)
        stop = date(last_year, 12, 31)
        while day <= stop:
            for s, e in self.day_schedule(day, warn=False):
                starts.append(_to_us(s))
                ends.append(_to_us(e))
            day += timedelta(days=1)
        cum_end = tuple(accumulate(e - s for s, e in zip(starts, ends, strict=True)))
        cum_start = tuple(c - (e - s) for c, s, e in zip(cum_end, starts, ends, strict=True))
        return _Timeline(first_year, last_year, tuple(starts), tuple(ends), cum_start, cum_end)

    def _warn_if_fallback(self, *arrays: I64Array) -> None:
        """Warn (once per year) when the instants touch years the official calendar lacks."""
        lo = min(int(a.min()) for a in arrays if a.size)
        hi = max(int(a.max()) for a in arrays if a.size)
        self._warn_years(lo, hi)

    def _warn_years(self, lo: int, hi: int) -> None:
        for year in range(self._local(lo).year, self._local(hi).year + 1):
            if _official_workday(date(year, 7, 1)) is None:
                _warn_fallback(year)

    def _cover(self, lo_us: int, hi_us: int) -> _Timeline:
        """A timeline covering the local years of ``lo_us`` .. ``hi_us`` with a year's margin."""
        lo_year = _from_us(lo_us).astimezone(self.tz).year - 1
        hi_year = _from_us(hi_us).astimezone(self.tz).year + 1
        with self._lock:
            tl = self._timeline
            if tl is None or lo_year < tl.first_year or hi_year > tl.last_year:
                first = lo_year if tl is None else min(lo_year, tl.first_year)
                last = hi_year if tl is None else max(hi_year, tl.last_year)
                tl = self._build(first, last)
                if not tl.starts:
                    raise ValueError("the working clock has no working time at all")
                self._timeline = tl
            return tl

    def _elapsed(self, tl: _Arrays, t: I64Array) -> I64Array:
        """F(t): working µs from the timeline's start up to each ``t``."""
        import numpy as np

        i = np.searchsorted(tl.starts, t, side="right") - 1
        j = np.clip(i, 0, None)
        inside = np.minimum(t - tl.starts[j], tl.ends[j] - tl.starts[j])
        return np.where(i < 0, 0, tl.cum_start[j] + inside)

    @staticmethod
    def _elapsed_one(tl: _Timeline, t: int) -> int:
        """:meth:`_elapsed` of one instant, by bisection (no numpy)."""
        i = bisect_right(tl.starts, t) - 1
        if i < 0:
            return 0
        return tl.cum_start[i] + min(t - tl.starts[i], tl.ends[i] - tl.starts[i])

    # -- vectorised API ---------------------------------------------------------------------

    def elapsed_minutes_many(self, a: Sequence[int] | I64Array, b: Sequence[int] | I64Array) -> Any:
        """Working minutes from ``a`` to ``b`` for arrays of µs-since-epoch (negative if b < a)."""
        import numpy as np

        a_arr = np.asarray(a, dtype=np.int64)
        b_arr = np.asarray(b, dtype=np.int64)
        if a_arr.size == 0:
            return np.zeros(0, dtype=np.float64)
        tl = self._cover(int(min(a_arr.min(), b_arr.min())), int(max(a_arr.max(), b_arr.max())))
        arrays = tl.arrays()
        diff = self._elapsed(arrays, b_arr) - self._elapsed(arrays, a_arr)
        self._warn_if_fallback(a_arr, b_arr)
        return diff / _US_PER_MINUTE

    def add_minutes_many(self, t: Sequence[int] | I64Array, minutes: Any) -> I64Array:
        """``add_working_minutes`` for arrays of µs-since-epoch and minutes (scalar or array)."""
        import numpy as np

        t_arr = np.asarray(t, dtype=np.int64)
        delta = np.rint(np.broadcast_to(np.asarray(minutes, dtype=np.float64), t_arr.shape) * 60e6)
        delta = delta.astype(np.int64)
        if t_arr.size == 0:
            return t_arr.copy()
        lo, hi = int(t_arr.min()), int(t_arr.max())
        span_days = int(np.abs(delta).max() // _US_PER_MINUTE // max(self.minutes_per_day, 1)) + 1
        # Calendar days grow faster than working days (weekends, holidays): cover generously.
        margin = span_days * 3 * 86_400 * _US
        tl = self._cover(lo - (margin if (delta < 0).any() else 0), hi + margin)
        while True:
            target = self._elapsed(tl.arrays(), t_arr) + delta
            if (target <= tl.cum_end[-1]).all() and (target >= 0).all():
                break
            grow = 366 * 86_400 * _US
            tl = self._cover(_to_us_int(tl.first_year, grow, -1), _to_us_int(tl.last_year, grow, 1))
        arrays = tl.arrays()
        last = arrays.starts.size - 1
        fwd = np.searchsorted(arrays.cum_end, target, side="left")
        fwd = np.clip(fwd, 0, last)
        out_fwd = arrays.starts[fwd] + (target - arrays.cum_start[fwd])
        back = np.searchsorted(arrays.cum_start, target, side="right") - 1
        back = np.clip(back, 0, last)
        out_back = arrays.starts[back] + (target - arrays.cum_start[back])
        out = np.where(delta > 0, out_fwd, out_back)
        zero = delta == 0
        if zero.any():
            out = np.where(zero, self.next_working_many(t_arr), out)
        out = out.astype(np.int64)
        self._warn_if_fallback(t_arr, out)
        return out

    def next_working_many(self, t: Sequence[int] | I64Array) -> I64Array:
        """``next_working_instant`` for an array of µs-since-epoch."""
        import numpy as np

        t_arr = np.asarray(t, dtype=np.int64)
        if t_arr.size == 0:
            return t_arr.copy()
        arrays = self._cover(int(t_arr.min()), int(t_arr.max()) + 60 * 86_400 * _US).arrays()
        i = np.searchsorted(arrays.ends, t_arr, side="right")  # first interval ending after t
        i = np.clip(i, 0, arrays.starts.size - 1)
        out = np.maximum(t_arr, arrays.starts[i]).astype(np.int64)
        self._warn_if_fallback(t_arr, out)
        return out

    # -- scalar API (pure Python: the same timeline, bisect for searchsorted) -----------------

    def add_working_minutes(self, instant: datetime, minutes: float) -> datetime:
        """The instant ``minutes`` of working time after ``instant`` (before it if negative).

        A positive amount ends inside working time (possibly exactly at a period's end, e.g.
        18:00); zero gives :meth:`next_working_instant`."""
        return self._local(self._add_one(_to_us(instant), minutes))

    def working_minutes_between(self, a: datetime, b: datetime) -> float:
        """Working minutes from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
        a_us, b_us = _to_us(a), _to_us(b)
        tl = self._cover(min(a_us, b_us), max(a_us, b_us))
        diff = self._elapsed_one(tl, b_us) - self._elapsed_one(tl, a_us)
        self._warn_years(min(a_us, b_us), max(a_us, b_us))
        return diff / _US_PER_MINUTE

    def next_working_instant(self, instant: datetime) -> datetime:
        """``instant`` itself if it is inside working time, else the start of the next period."""
        return self._local(self._next_one(_to_us(instant)))

    def _next_one(self, t: int) -> int:
        """:meth:`next_working_many` of one instant."""
        tl = self._cover(t, t + 60 * 86_400 * _US)
        i = min(bisect_right(tl.ends, t), len(tl.starts) - 1)  # first interval ending after t
        out = max(t, tl.starts[i])
        self._warn_years(min(t, out), max(t, out))
        return out

    def _add_one(self, t: int, minutes: float) -> int:
        """:meth:`add_minutes_many` of one instant (the same steps, one value at a time)."""
        delta = round(float(minutes) * 60e6)  # half to even, as numpy's rint
        span_days = int(abs(delta) // _US_PER_MINUTE // max(self.minutes_per_day, 1)) + 1
        margin = span_days * 3 * 86_400 * _US
        tl = self._cover(t - (margin if delta < 0 else 0), t + margin)
        while True:
            target = self._elapsed_one(tl, t) + delta
            if 0 <= target <= tl.cum_end[-1]:
                break
            grow = 366 * 86_400 * _US
            tl = self._cover(_to_us_int(tl.first_year, grow, -1), _to_us_int(tl.last_year, grow, 1))
        last = len(tl.starts) - 1
        if delta > 0:
            i = min(max(bisect_left(tl.cum_end, target), 0), last)
            out = tl.starts[i] + (target - tl.cum_start[i])
        elif delta < 0:
            i = min(max(bisect_right(tl.cum_start, target) - 1, 0), last)
            out = tl.starts[i] + (target - tl.cum_start[i])
        else:
            out = self._next_one(t)
        self._warn_years(min(t, out), max(t, out))
        return out

    def is_working_instant(self, instant: datetime) -> bool:
        """Inside a working period (start inclusive, end exclusive)."""
        local = _aware(instant).astimezone(self.tz)
        return any(s <= local < e for s, e in self.day_schedule(local.date()))

    # -- pandas helpers ---------------------------------------------------------------------

    def add_working_minutes_series(self, instants: pd.Series, minutes: Any) -> pd.Series:
        """Vectorised :meth:`add_working_minutes` for an aware datetime column; UTC out."""
        out = self.add_minutes_many(series_to_us(instants), minutes)
        return us_to_series(out, instants.index)

    def working_minutes_between_series(self, a: pd.Series, b: pd.Series) -> pd.Series:
        """Vectorised :meth:`working_minutes_between` for two aligned aware datetime columns."""
        import pandas as pd

        res = self.elapsed_minutes_many(series_to_us(a), series_to_us(b))
        return pd.Series(res, index=a.index, dtype="float64")

    def _local(self, us: int) -> datetime:
        return _from_us(us).astimezone(self.tz)


def _official_workday(day: date) -> bool | None:
    """The official verdict, or ``None`` for a year ``chinese_calendar`` does not know.

    ``chinese_calendar.is_workday`` itself, for a plain date read straight from the package's
    ``holidays`` / ``workdays`` tables: the package recomputes its year range from every
    holiday on each call (~25 µs, most of a three-year timeline's build).
    ``tests/test_workclock.py`` checks every day of the package's years and one beyond."""
    if type(day) is not date:  # a datetime (or subclass): the package's own conversion
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return None
    first, last = _calendar_years()
    if not first <= day.year <= last:
        return None
    return day in chinese_calendar.workdays or (
        day.weekday() <= 4 and day not in chinese_calendar.holidays
    )


@cache
def _calendar_years() -> tuple[int, int]:
    """The years ``chinese_calendar`` knows (its first and last holiday's), as it checks them."""
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant!r}: the working clock needs aware instants")
    return instant


def _to_us(instant: datetime) -> int:
    delta = _aware(instant) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _to_us_int(year: int, grow: int, sign: int) -> int:
    edge = datetime(year, 1 if sign < 0 else 12, 1 if sign < 0 else 31, tzinfo=UTC)
    return _to_us(edge) + sign * grow


def series_to_us(values: pd.Series) -> I64Array:
    """An aware datetime column as int64 µs since the epoch."""
    import numpy as np
    import pandas as pd

    if not isinstance(values.dtype, pd.DatetimeTZDtype):
        raise ValueError("the working clock needs a tz-aware datetime column")
    utc = values.dt.tz_convert("UTC").dt.as_unit("us")
    if utc.isna().any():
        raise ValueError("the working clock got a missing instant")
    out: I64Array = utc.astype("int64").to_numpy(dtype=np.int64)
    return out


def us_to_series(values: I64Array, index: pd.Index | None = None) -> pd.Series:
    """int64 µs since the epoch as an aware UTC datetime column."""
    import pandas as pd

    return pd.Series(pd.to_datetime(values, unit="us", utc=True), index=index)
