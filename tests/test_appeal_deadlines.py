"""Appeal deadlines on the working clock, across National Day 2025 and Spring Festival 2026
with their 调休 make-up days: "within N working days of T" ends at 18:00 of the N-th working day
after T's day (T's own day does not count)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from groupops.clock.workclock import WorkClock
from groupops.moderation.appeals import AppealRecord, appeal_rows

TZ = ZoneInfo("Asia/Shanghai")
CLOCK = WorkClock()


def t(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=TZ)


CASES = [
    # National Day 2025: Oct 1-8 off; Sun Sep 28 and Sat Oct 11 are make-up working days.
    (t(2025, 9, 30, 10), 3, t(2025, 10, 11, 18)),  # Oct 9, Oct 10, Sat Oct 11 (make-up)
    (t(2025, 9, 27, 20), 3, t(2025, 9, 30, 18)),  # Sat off; Sun Sep 28 (make-up), 29, 30
    (t(2025, 9, 26, 17), 1, t(2025, 9, 28, 18)),  # Fri → Sun Sep 28 (make-up)
    (t(2025, 10, 1, 9), 1, t(2025, 10, 9, 18)),  # during the holiday
    (t(2025, 10, 9, 9), 3, t(2025, 10, 13, 18)),  # Oct 10, Sat Oct 11, (Sun off) Mon Oct 13
    (t(2025, 9, 29, 23, 59), 3, t(2025, 10, 10, 18)),  # late at night still counts as that day
    # Spring Festival 2026: Feb 15-23 off; Sat Feb 14 and Sat Feb 28 are make-up working days.
    (t(2026, 2, 13, 15), 3, t(2026, 2, 25, 18)),  # Sat Feb 14 (make-up), Feb 24, Feb 25
    (t(2026, 2, 14, 11), 3, t(2026, 2, 26, 18)),  # from the make-up Saturday itself
    (t(2026, 2, 26, 10), 3, t(2026, 3, 2, 18)),  # Feb 27, Sat Feb 28 (make-up), Mon Mar 2
    (t(2026, 2, 22, 12), 1, t(2026, 2, 24, 18)),  # Sun in the holiday → Tue Feb 24
    # An ordinary week.
    (t(2026, 11, 20, 18), 3, t(2026, 11, 25, 18)),  # Fri → Mon, Tue, Wed
]


@pytest.mark.parametrize(("instant", "days", "deadline"), CASES)
def test_within_working_days(instant: datetime, days: int, deadline: datetime) -> None:
    assert CLOCK.within_working_days(instant, days) == deadline


def appeal(filed: datetime, due: datetime | None, state: str = "pending",
           decided: datetime | None = None) -> AppealRecord:  # fmt: skip
    return AppealRecord(
        1, 7, "wecom", "g", "x", filed, "command", None, None, t(2026, 2, 25, 18), due, state,
        decided, None, None, None, None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("record", "as_of", "state", "overdue"),
    [
        (appeal(t(2026, 2, 26, 10), t(2026, 3, 2, 18)), t(2026, 3, 2, 17), "pending", 0),
        # due 18:00 Mon Mar 2; at 10:00 Tue one working hour (09:00-10:00) is overdue
        (appeal(t(2026, 2, 26, 10), t(2026, 3, 2, 18)), t(2026, 3, 3, 10), "answer_overdue", 60),
        # across the lunch break: 09:00-12:00 and 13:30-14:00
        (appeal(t(2026, 2, 26, 10), t(2026, 3, 2, 18)), t(2026, 3, 3, 14), "answer_overdue", 210),
        # decided after as_of: still pending then
        (appeal(t(2026, 2, 26, 10), t(2026, 3, 2, 18), "upheld", t(2026, 3, 2, 9)),
         t(2026, 3, 1, 9), "pending", 0),
        (appeal(t(2026, 2, 26, 10), t(2026, 3, 2, 18), "rejected", t(2026, 3, 2, 9)),
         t(2026, 3, 3, 9), "rejected", 0),
        (appeal(t(2026, 2, 26, 10), None, "late", t(2026, 2, 26, 10)),
         t(2026, 3, 9, 9), "late", 0),
    ],
)  # fmt: skip
def test_appeal_state_at(record: AppealRecord, as_of: datetime, state: str, overdue: float) -> None:
    (row,) = appeal_rows([record], as_of, CLOCK)
    assert (row.state, row.overdue_working_minutes) == (state, overdue)
