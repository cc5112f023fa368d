"""How late something is, in words: the one lateness formatter.

Lateness is measured in **working minutes** on the working clock (holidays off, 调休 make-up
days on, the policy's working periods). It is told in the unit a reader expects:

* under one working day: **working hours** ("3.5 工作小时" / "3.5 working hours");
* one working day or more: **working days**, counted with the policy's working-day length
  (the sum of ``working_time.periods``: 7.5 h by default), never 24 h or 1440 minutes
  ("12.9 个工作日" / "12.9 working days").

One decimal, trailing ``.0`` dropped; a positive amount never rounds to 0 (0.1 at least).
A negative amount (time left, not lateness) keeps its minus sign.

Every place that tells lateness calls :func:`format_lateness`: the digest's sections (overdue,
moderation appeals), the deadline reminders, appeal notices and the ``groupops overdue``
command. JSON keeps the minutes and may add the text.

Reply times (the digest's median reply, ``groupops stats``) are working time too and are told
by :func:`format_duration`: whole minutes under an hour ("37 分钟" / "37 min"), above it the
same working hours / working days as lateness.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from groupops.policy import WorkingTime

Unit = Literal["hours", "days"]

_WORDS: dict[str, dict[Unit, str]] = {
    "zh-CN": {"hours": "{n} 工作小时", "days": "{n} 个工作日"},
    "en": {"hours": "{n} working hours", "days": "{n} working days"},
}
_MINUTES: dict[str, str] = {"zh-CN": "{n} 分钟", "en": "{n} min"}
_ONE: dict[str, dict[Unit, str]] = {
    "zh-CN": {"hours": "{n} 工作小时", "days": "{n} 个工作日"},
    "en": {"hours": "{n} working hour", "days": "{n} working day"},
}


def working_day_minutes(working_time: WorkingTime) -> float:
    """The length of one working day in minutes: the sum of the policy's working periods."""
    return sum(
        (datetime.combine(date.min, end) - datetime.combine(date.min, start)).total_seconds() / 60
        for start, end in working_time.periods
    )


@dataclass(frozen=True, slots=True)
class Lateness:
    """An amount of working time in the unit it is told in (``amount`` rounded to 0.1)."""

    minutes: float
    amount: float
    unit: Unit

    @property
    def number(self) -> str:
        """``12.9``, ``3``, ``-0.5``."""
        return f"{self.amount:.1f}".removesuffix(".0")


def lateness(minutes: float, day_minutes: float) -> Lateness:
    """``minutes`` of working time as working hours (under one working day of ``day_minutes``)
    or working days (from one working day up)."""
    if day_minutes <= 0:
        raise ValueError(f"a working day must be longer than 0 minutes (got {day_minutes})")
    if math.isnan(minutes):
        raise ValueError("lateness of NaN minutes")
    size = abs(minutes)
    unit: Unit = "hours" if size < day_minutes else "days"
    value = size / 60 if unit == "hours" else size / day_minutes
    amount = round(value, 1)
    if amount == 0 and size > 0:
        amount = 0.1
    if unit == "hours" and amount * 60 >= day_minutes:
        # 449.9 of 450 minutes reads "7.5 working hours", not "1 working day": keep the hour.
        amount = math.floor(value * 10) / 10
    return Lateness(minutes, -amount if minutes < 0 else amount, unit)


def format_lateness(minutes: float | None, day_minutes: float, language: str) -> str:
    """``minutes`` of working time in words (``zh-CN`` or ``en``); ``None``/NaN → an en dash."""
    if minutes is None or (isinstance(minutes, float) and math.isnan(minutes)):
        return "–"
    late = lateness(float(minutes), day_minutes)
    words = _ONE if abs(late.amount) == 1 else _WORDS
    if language not in words:
        raise ValueError(f"unknown language {language!r} (zh-CN or en)")
    return words[language][late.unit].format(n=late.number)


def format_duration(minutes: float | None, day_minutes: float, language: str) -> str:
    """A span of working time (a reply time) in words: whole minutes under an hour, else as
    :func:`format_lateness` tells it (working hours, then working days of ``day_minutes``);
    ``None``/NaN → an en dash."""
    if minutes is None or (isinstance(minutes, float) and math.isnan(minutes)):
        return "–"
    if language not in _MINUTES:
        raise ValueError(f"unknown language {language!r} (zh-CN or en)")
    if abs(minutes) < 60:
        return _MINUTES[language].format(n=f"{minutes:.0f}")
    return format_lateness(minutes, day_minutes, language)
