"""When the demo happens and the clock it is read with.

Four weeks of activity (``SINCE`` … ``UNTIL``) judged at ``AS_OF``, a Friday at the end of the
working day, under the policy's defaults (which ``data/policy.toml`` repeats). Working time is
the rulebook's one working clock, :class:`groupops.clock.WorkClock`: the demo keeps no clock of
its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from groupops.clock.workclock import WorkClock
from groupops.demo import company
from groupops.policy import Policy

DEFAULT_SEED: Final = 20261120
POLICY: Final = Policy()
TZ: Final = ZoneInfo(company.TIMEZONE)
CLOCK: Final = WorkClock(POLICY.working_time, TZ)
YEAR: Final = 2026
SINCE: Final = datetime(2026, 10, 24, tzinfo=TZ)
UNTIL: Final = datetime(2026, 11, 21, tzinfo=TZ)
AS_OF: Final = datetime(2026, 11, 20, 18, 0, tzinfo=TZ)


def local(stamp: str) -> datetime:
    """``"MM-DD HH:MM[:SS]"`` in the demo's year, in the company's zone."""
    fmt = "%Y-%m-%d %H:%M:%S" if stamp.count(":") == 2 else "%Y-%m-%d %H:%M"
    return datetime.strptime(f"{YEAR}-{stamp}", fmt).replace(tzinfo=TZ)
