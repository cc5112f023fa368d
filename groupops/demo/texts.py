"""How planted messages name people and deadlines: ``@显示名``, month-day dates, and deadline
expressions in Chinese together with the instant they mean (so a chapter knows exactly what the
rules must read from its text)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from groupops.demo import company
from groupops.demo.period import CLOCK, TZ
from groupops.demo.scenario import When

WEEKDAYS: Final = "一二三四五六日"
END_OF_DAY: Final = CLOCK.periods[-1][1]  # "本周五前" = that Friday at the end of working hours


def display(member: str) -> str:
    return company.PEOPLE_BY_ID[member].display_name


def at_names(members: Iterable[str]) -> str:
    return " ".join(f"@{display(m)}" for m in members)


def month_day(at: datetime) -> str:
    return f"{at.month}月{at.day}日"


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


DAY_PARTS: Final[dict[str, Callable[[date, Any], tuple[str, date]]]] = {
    "today": lambda d, _: ("今天", d),
    "tomorrow": lambda d, _: ("明天", d + timedelta(days=1)),
    "this_week": lambda d, n: (f"本周{WEEKDAYS[n - 1]}", _monday(d) + timedelta(days=n - 1)),
    "week": lambda d, n: (f"周{WEEKDAYS[n - 1]}", _monday(d) + timedelta(days=n - 1)),
    "next_week": lambda d, n: (f"下周{WEEKDAYS[n - 1]}", _monday(d) + timedelta(days=n + 6)),
    "md": lambda d, md: (f"{md[0]}月{md[1]}日", date(d.year, md[0], md[1])),
    "iso": lambda d, md: (f"{d.year}-{md[0]:02d}-{md[1]:02d} ", date(d.year, md[0], md[1])),
}
TIME_PARTS: Final[dict[str, Callable[[Any], tuple[str, time]]]] = {
    "end": lambda _: ("", END_OF_DAY),
    "eod": lambda _: ("下班", END_OF_DAY),
    "am": lambda h: (f"上午{h}点", time(h, 0)),
    "pm": lambda h: (f"下午{h}点", time(h + 12, 0)),
    "noon": lambda _: ("中午12点", time(12, 0)),
    "hm": lambda hm: (f"{hm[0]:02d}:{hm[1]:02d}", time(hm[0], hm[1])),
}


def render_when(when: When, said_at: datetime) -> tuple[str, datetime]:
    """The Chinese text of a deadline and the instant it means, relative to ``said_at``."""
    day_text, day = DAY_PARTS[when.day](said_at.date(), when.day_arg)
    time_text, at = TIME_PARTS[when.time](when.time_arg)
    text = f"截止{day_text}{time_text}" if when.cutoff else f"{day_text}{time_text}前"
    instant = datetime.combine(day, at, TZ)
    if instant <= said_at:
        raise ValueError(f"deadline {text!r} said at {said_at} is not in the future")
    return text, instant
