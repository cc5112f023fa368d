"""The working clock: real 2025/2026 Chinese calendar cases (holidays, 调休 make-up weekends),
lunch breaks, evenings, company overrides, the fallback beyond the calendar's range, and
properties of adding and measuring working time."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from groupops.clock import workclock
from groupops.clock.workclock import CalendarFallbackWarning, WorkClock
from groupops.policy import Policy, WorkingTime

TZ = ZoneInfo("Asia/Shanghai")
CLOCK = WorkClock()


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=TZ)


# The make-up working weekends of 2025 and 2026, as the calendar package itself knows them.
MAKEUP_2025 = [
    date(2025, 1, 26),
    date(2025, 2, 8),
    date(2025, 4, 27),
    date(2025, 9, 28),
    date(2025, 10, 11),
]
MAKEUP_2026 = [
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
]


@pytest.mark.parametrize("day", MAKEUP_2025 + MAKEUP_2026)
def test_makeup_weekend_days_are_working_days(day: date) -> None:
    assert day.weekday() >= 5
    assert chinese_calendar.is_workday(day)
    assert CLOCK.is_working_day(day)


def test_makeup_weekends_are_exactly_the_calendars() -> None:
    for year, expected in ((2025, MAKEUP_2025), (2026, MAKEUP_2026)):
        days = CLOCK.working_days(date(year, 1, 1), date(year, 12, 31))
        assert [d for d in days if d.weekday() >= 5] == expected


ADD_CASES = [
    # (start, working minutes, expected, why)
    (at(2026, 11, 24, 10), 60, at(2026, 11, 24, 11), "plain morning"),
    (at(2026, 11, 24, 11, 30), 60, at(2026, 11, 24, 14), "across the lunch break"),
    (at(2026, 11, 24, 12, 30), 30, at(2026, 11, 24, 14), "starting in the lunch break"),
    (at(2026, 11, 24, 17), 60, at(2026, 11, 24, 18), "exactly to the end of the day"),
    (at(2026, 11, 24, 17), 90, at(2026, 11, 25, 9, 30), "across the evening"),
    (at(2026, 11, 24, 20), 30, at(2026, 11, 25, 9, 30), "starting in the evening"),
    (at(2026, 11, 24, 17), 240, at(2026, 11, 25, 12), "four hours, ends before lunch"),
    (at(2026, 11, 27, 17), 120, at(2026, 11, 30, 10), "Friday evening to Monday"),
    (at(2026, 11, 24, 9), 3 * 450, at(2026, 11, 26, 18), "three working days end at 18:00"),
    # 2026 National Day: Oct 1-7 off; Sun 9/20 and Sat 10/10 are make-up working days.
    (at(2026, 9, 30, 17), 90, at(2026, 10, 8, 9, 30), "2026 National Day holiday skipped"),
    (at(2026, 9, 19, 10), 30, at(2026, 9, 20, 9, 30), "Sat 9/19 off, Sun 9/20 make-up day"),
    (at(2026, 9, 18, 17, 30), 60, at(2026, 9, 20, 9, 30), "Fri to make-up Sunday 9/20"),
    (at(2026, 10, 9, 17), 120, at(2026, 10, 10, 10), "Fri to make-up Saturday 10/10"),
    (at(2026, 10, 10, 17), 120, at(2026, 10, 12, 10), "make-up Saturday, Sunday off"),
    # 2026 Spring Festival: Feb 15-23 off; Sat 2/14 and Sat 2/28 are make-up days.
    (at(2026, 2, 13, 17, 30), 60, at(2026, 2, 14, 9, 30), "Fri to make-up Saturday 2/14"),
    (at(2026, 2, 14, 17), 120, at(2026, 2, 24, 10), "2026 Spring Festival skipped"),
    (at(2026, 2, 27, 18), 30, at(2026, 2, 28, 9, 30), "Fri to make-up Saturday 2/28"),
    (at(2026, 1, 3, 12), 30, at(2026, 1, 4, 9, 30), "Sun 1/4 make-up after New Year"),
    (at(2026, 5, 8, 17), 120, at(2026, 5, 9, 10), "Sat 5/9 make-up after Labour Day"),
    # 2025 Spring Festival: Jan 28 - Feb 4 off; Sun 1/26 and Sat 2/8 make-up.
    (at(2025, 1, 25, 12), 60, at(2025, 1, 26, 10), "Sat 1/25 off, Sun 1/26 make-up"),
    (at(2025, 1, 27, 17), 120, at(2025, 2, 5, 10), "2025 Spring Festival skipped"),
    (at(2025, 2, 7, 17), 120, at(2025, 2, 8, 10), "Fri to make-up Saturday 2/8"),
    # 2025 National Day + Mid-Autumn: Oct 1-8 off; Sun 9/28 and Sat 10/11 make-up.
    (at(2025, 9, 27, 10), 60, at(2025, 9, 28, 10), "Sat 9/27 off, Sun 9/28 make-up"),
    (at(2025, 9, 30, 17), 240, at(2025, 10, 9, 12), "2025 National Day (8 days) skipped"),
    (at(2025, 10, 10, 17), 120, at(2025, 10, 11, 10), "Fri to make-up Saturday 10/11"),
    # Backwards.
    (at(2026, 11, 24, 14), -60, at(2026, 11, 24, 11, 30), "back across lunch"),
    (at(2026, 10, 8, 9, 30), -90, at(2026, 9, 30, 17), "back across National Day"),
    # Zero: the next working instant.
    (at(2026, 10, 3, 15), 0, at(2026, 10, 8, 9), "zero during the holiday"),
    (at(2026, 11, 24, 10, 15), 0, at(2026, 11, 24, 10, 15), "zero inside working time"),
]


@pytest.mark.parametrize(
    ("start", "minutes", "expected", "why"), ADD_CASES, ids=[c[3] for c in ADD_CASES]
)
def test_add_working_minutes(start: datetime, minutes: float, expected: datetime, why: str) -> None:
    got = CLOCK.add_working_minutes(start, minutes)
    assert got == expected
    assert got.tzinfo == TZ
    if minutes:
        assert CLOCK.working_minutes_between(start, got) == minutes


BETWEEN_CASES = [
    (at(2026, 11, 24, 11), at(2026, 11, 24, 14), 90),
    (at(2026, 11, 24, 12), at(2026, 11, 24, 13, 30), 0),
    (at(2026, 11, 24, 18), at(2026, 11, 25, 9), 0),
    (at(2026, 11, 24, 9), at(2026, 11, 25, 9), 450),
    (at(2026, 9, 30, 9), at(2026, 10, 9, 9), 2 * 450),  # 9/30 and 10/8
    (at(2026, 2, 13, 9), at(2026, 3, 2, 9), 7 * 450),  # 2/13, 2/14, 2/24 .. 2/28
    (at(2026, 11, 25, 9), at(2026, 11, 24, 9), -450),
    (datetime(2026, 11, 24, 3, tzinfo=UTC), at(2026, 11, 24, 12), 60),  # 03:00 UTC = 11:00 local
]


@pytest.mark.parametrize(("a", "b", "minutes"), BETWEEN_CASES)
def test_working_minutes_between(a: datetime, b: datetime, minutes: float) -> None:
    assert CLOCK.working_minutes_between(a, b) == minutes


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (at(2026, 11, 24, 8), at(2026, 11, 24, 9)),
        (at(2026, 11, 24, 12), at(2026, 11, 24, 13, 30)),
        (at(2026, 11, 24, 18), at(2026, 11, 25, 9)),
        (at(2026, 11, 28, 10), at(2026, 11, 30, 9)),
        (at(2026, 2, 15, 10), at(2026, 2, 24, 9)),
        (at(2026, 2, 13, 19), at(2026, 2, 14, 9)),
        (at(2026, 11, 24, 9), at(2026, 11, 24, 9)),
    ],
)
def test_next_working_instant(instant: datetime, expected: datetime) -> None:
    assert CLOCK.next_working_instant(instant) == expected


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        CLOCK.add_working_minutes(datetime(2026, 11, 24, 10), 10)  # noqa: DTZ001 - naive on purpose: the test checks it is refused


def test_company_overrides_from_the_policy() -> None:
    wt = WorkingTime(extra_days_off=[date(2026, 11, 27)], extra_workdays=[date(2026, 11, 28)])
    clock = WorkClock(wt, TZ)
    assert clock.add_working_minutes(at(2026, 11, 26, 17), 120) == at(2026, 11, 28, 10)
    assert not clock.is_working_day(date(2026, 11, 27))
    assert clock.is_working_day(date(2026, 11, 28))


def test_policy_periods_shape_the_day() -> None:
    policy = Policy.model_validate(
        {"working_time": {"periods": [["08:30", "12:00"], ["13:00", "17:30"]]}}
    )
    clock = WorkClock.from_policy(policy)
    assert clock.minutes_per_day == 480
    assert clock.add_working_minutes(at(2026, 11, 24, 11, 30), 60) == at(2026, 11, 24, 13, 30)
    assert clock.end_of_day(date(2026, 11, 24)) == at(2026, 11, 24, 17, 30)


ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//groupops tests//EN
BEGIN:VEVENT
UID:1@test
DTSTART;VALUE=DATE:20261126
DTEND;VALUE=DATE:20261128
SUMMARY:公司年会 (company offsite)
END:VEVENT
BEGIN:VEVENT
UID:2@test
DTSTART;VALUE=DATE:20261129
SUMMARY:补班
END:VEVENT
BEGIN:VEVENT
UID:3@test
DTSTART:20261130T100000
DTEND:20261130T110000
SUMMARY:a timed meeting, ignored
END:VEVENT
END:VCALENDAR
"""


def test_company_overrides_from_an_icalendar_file(tmp_path: Path) -> None:
    ics = tmp_path / "company.ics"
    ics.write_text(ICS, encoding="utf-8")
    clock = WorkClock(WorkingTime(overrides_ical=ics), TZ)
    assert not clock.is_working_day(date(2026, 11, 26))
    assert not clock.is_working_day(date(2026, 11, 27))
    assert clock.is_working_day(date(2026, 11, 29))  # a Sunday, made a working day
    assert clock.is_working_day(date(2026, 11, 30))
    assert clock.add_working_minutes(at(2026, 11, 25, 17), 120) == at(2026, 11, 29, 10)


def test_missing_icalendar_file_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="overrides_ical"):
        WorkClock(WorkingTime(overrides_ical=tmp_path / "nope.ics"), TZ)


def _calendar_ending_with(last_year: int) -> Callable[[date], bool]:
    """``chinese_calendar.is_workday`` as if its data ended with ``last_year``: the installed
    version's real range does not matter (an upgrade that adds 2027 must not break the test)."""
    real = workclock.chinese_calendar.is_workday

    def is_workday(day: date) -> bool:
        if day.year > last_year:
            raise NotImplementedError(f"no data for {day.year}")
        return bool(real(day))

    return is_workday


def test_beyond_the_calendar_falls_back_to_weekdays_and_warns_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(workclock, "_FALLBACK_WARNED", set())
    monkeypatch.setattr(workclock.chinese_calendar, "is_workday", _calendar_ending_with(2026))
    clock = WorkClock()
    with pytest.warns(CalendarFallbackWarning, match="2027.*Monday–Friday"):
        # Fri 2027-01-01 would be New Year's Day; the fallback cannot know that.
        assert clock.add_working_minutes(at(2026, 12, 31, 17), 120) == at(2027, 1, 1, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert clock.add_working_minutes(at(2027, 1, 8, 17), 120) == at(2027, 1, 11, 10)


def test_the_installed_calendar_knows_the_years_the_demo_and_tests_use() -> None:
    """The tables above rely on real 2025–2026 data (holidays and 调休): a downgrade that loses
    them must fail here, not silently fall back to Monday–Friday."""
    for year in (2025, 2026):
        assert workclock._official_workday(date(year, 7, 1)) is not None


def test_inside_the_calendar_there_is_no_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workclock, "_FALLBACK_WARNED", set())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        WorkClock().add_working_minutes(at(2026, 12, 30, 17), 60)


def test_vectorised_helpers_match_the_scalar_api() -> None:
    starts = [c[0] for c in ADD_CASES]
    minutes = [c[1] for c in ADD_CASES]
    col = pd.Series(pd.to_datetime(starts, utc=True))
    got = CLOCK.add_working_minutes_series(col, minutes)
    expected = [CLOCK.add_working_minutes(s, m) for s, m in zip(starts, minutes, strict=True)]
    assert list(got) == [pd.Timestamp(e) for e in expected]
    back = CLOCK.working_minutes_between_series(col, got)
    nonzero = [m != 0 for m in minutes]
    assert list(back[nonzero]) == [m for m in minutes if m != 0]


# -- properties -------------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001  (hypothesis bounds are naive)
    max_value=datetime(2026, 10, 31),  # noqa: DTZ001  (hypothesis bounds are naive)
    timezones=st.just(TZ),
)
amounts = st.integers(min_value=1, max_value=30 * 450 * 60).map(lambda s: s / 60)  # to the second


def _inside_or_at_period_end(clock: WorkClock, instant: datetime) -> bool:
    if clock.is_working_instant(instant):
        return True
    local = instant.astimezone(clock.tz)
    return any(e == local for _, e in clock.day_schedule(local.date()))


@settings(max_examples=300, deadline=None)
@given(start=instants, minutes=amounts)
def test_adding_then_measuring_gives_back_the_minutes(start: datetime, minutes: float) -> None:
    end = CLOCK.add_working_minutes(start, minutes)
    assert end > start
    assert CLOCK.working_minutes_between(start, end) == pytest.approx(minutes, abs=1e-6)
    assert CLOCK.working_minutes_between(end, start) == pytest.approx(-minutes, abs=1e-6)
    assert CLOCK.add_working_minutes(end, -minutes) >= start


@settings(max_examples=300, deadline=None)
@given(start=instants, minutes=amounts)
def test_never_lands_outside_working_time(start: datetime, minutes: float) -> None:
    assert _inside_or_at_period_end(CLOCK, CLOCK.add_working_minutes(start, minutes))
    assert CLOCK.is_working_instant(CLOCK.next_working_instant(start))


@settings(max_examples=200, deadline=None)
@given(a=instants, b=instants, m1=amounts, m2=amounts)
def test_monotonic(a: datetime, b: datetime, m1: float, m2: float) -> None:
    a, b = min(a, b), max(a, b)
    m1, m2 = min(m1, m2), max(m1, m2)
    assert CLOCK.add_working_minutes(a, m1) <= CLOCK.add_working_minutes(a, m2)
    assert CLOCK.add_working_minutes(a, m1) <= CLOCK.add_working_minutes(b, m1)
    assert CLOCK.working_minutes_between(a, b) >= 0
    assert CLOCK.next_working_instant(a) <= CLOCK.next_working_instant(b)


@settings(max_examples=200, deadline=None)
@given(a=instants, b=instants, c=instants)
def test_measuring_is_additive(a: datetime, b: datetime, c: datetime) -> None:
    ab = CLOCK.working_minutes_between(a, b)
    bc = CLOCK.working_minutes_between(b, c)
    assert ab + bc == pytest.approx(CLOCK.working_minutes_between(a, c), abs=1e-6)
    assert abs(ab) <= abs((b - a) / timedelta(minutes=1)) + 1e-6


# -- the scalar path (pure Python) against the vectorised one (numpy) --------------------------

wide_instants = st.datetimes(
    min_value=datetime(2024, 6, 1),  # noqa: DTZ001  (hypothesis bounds are naive)
    max_value=datetime(2027, 6, 30),  # noqa: DTZ001  (hypothesis bounds are naive)
    timezones=st.just(TZ),
)
#: Any amount to the microsecond and beyond: negative, zero, fractions, several months.
signed_amounts = st.one_of(
    st.just(0.0),
    st.integers(min_value=-120 * 480 * 60, max_value=120 * 480 * 60).map(lambda s: s / 60),
    st.floats(min_value=-200_000, max_value=200_000, allow_nan=False, allow_infinity=False),
)
clocks = st.sampled_from(
    [
        CLOCK,
        WorkClock(WorkingTime(periods=[(time(10), time(12)), (time(13), time(19, 30))])),
        WorkClock(extra_days_off=[date(2026, 3, 2)], extra_workdays=[date(2026, 3, 7)]),
        WorkClock(tz="Europe/Berlin"),  # daylight-saving changes inside the span
    ]
)


def _us(instant: datetime) -> int:
    return workclock._to_us(instant)


@settings(max_examples=400, deadline=None)
@given(clock=clocks, a=wide_instants, b=wide_instants, minutes=signed_amounts)
def test_the_scalar_path_equals_the_vectorised_one(
    clock: WorkClock, a: datetime, b: datetime, minutes: float
) -> None:
    """``working_minutes_between`` / ``add_working_minutes`` / ``next_working_instant`` read the
    timeline by bisection without numpy: the same value as the numpy arrays', to the µs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalendarFallbackWarning)  # 2027 may be beyond the calendar
        between = clock.elapsed_minutes_many([_us(a)], [_us(b)])
        assert clock.working_minutes_between(a, b) == float(between[0])
        added = clock.add_minutes_many([_us(a)], minutes)
        assert _us(clock.add_working_minutes(a, minutes)) == int(added[0])
        nxt = clock.next_working_many([_us(a)])
        assert _us(clock.next_working_instant(a)) == int(nxt[0])


def test_the_scalar_path_equals_the_vectorised_one_on_a_fresh_timeline() -> None:
    """A clock whose first call is scalar builds the same timeline (then arrays) as one whose
    first call is vectorised, including the growth loop for amounts beyond the margin."""
    a, big = at(2026, 2, 13, 17, 30), 400 * 480.0
    fresh_scalar, fresh_vector = WorkClock(tz="Asia/Tokyo"), WorkClock(tz="Asia/Tokyo")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalendarFallbackWarning)
        for minutes in (big, -big, 0.0, 1e-6, -1e-6):
            got = _us(fresh_scalar.add_working_minutes(a, minutes))
            assert got == int(fresh_vector.add_minutes_many([_us(a)], minutes)[0])


def test_the_clock_imports_numpy_only_for_the_vectorised_api() -> None:
    code = (
        "import sys\n"
        "from datetime import datetime\n"
        "from zoneinfo import ZoneInfo\n"
        "from groupops.clock.workclock import WorkClock\n"
        "c, tz = WorkClock(), ZoneInfo('Asia/Shanghai')\n"
        "a, b = datetime(2026, 11, 2, 9, tzinfo=tz), datetime(2026, 11, 20, 18, tzinfo=tz)\n"
        "c.working_minutes_between(a, b); c.add_working_minutes(a, 90); c.next_working_instant(b)\n"
        "assert 'numpy' not in sys.modules, 'scalar API imported numpy'\n"
        "c.elapsed_minutes_many([0], [1])\n"
        "assert 'numpy' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_the_official_verdict_is_the_calendar_packages_for_every_day() -> None:
    """``_official_workday`` reads the package's tables directly: the same verdict as
    ``chinese_calendar.is_workday`` (``None`` where it refuses the year) on every day of the
    years it knows and the years either side, for dates and datetimes."""
    first = min(chinese_calendar.holidays).year - 1
    last = max(chinese_calendar.holidays).year + 1
    day = date(first, 1, 1)
    while day <= date(last, 12, 31):
        try:
            expected: bool | None = bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            expected = None
        assert workclock._official_workday(day) is expected, day
        day += timedelta(days=1)
    noon = datetime(2026, 10, 2, 12, tzinfo=TZ)  # National Day, given as a datetime
    assert workclock._official_workday(noon) is False
