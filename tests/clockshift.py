"""Run the test suite (and the servers it starts) with the clock moved ahead.

``GROUPOPS_TEST_CLOCK_SHIFT_DAYS=365 make test-shifted`` (``.ci/run`` does it) moves the wall
clock of the test process a year ahead with ``time-machine`` (ticking), and the servers the tests
start in subprocesses (Synapse) through ``python -m tests.clockshift MODULE ARGS...``. A test that
compares a constant instant with a real timestamp (the server's, or ``datetime.now()``) then
fails today instead of on the day the calendar catches up with the constant.
"""

from __future__ import annotations

import os
import runpy
import sys
from datetime import UTC, datetime, timedelta

ENV = "GROUPOPS_TEST_CLOCK_SHIFT_DAYS"


def shift() -> timedelta:
    return timedelta(days=int(os.environ.get(ENV, "0") or "0"))


def start() -> None:
    """Move this process's clock by :func:`shift` (nothing when it is zero)."""
    offset = shift()
    if not offset:
        return
    import time_machine

    time_machine.travel(datetime.now(UTC) + offset, tick=True).start()


def command(module: str, *args: str) -> list[str]:
    """``python -m MODULE ARGS`` under the same shifted clock as the tests."""
    return [sys.executable, "-m", "tests.clockshift", module, *args]


if __name__ == "__main__":
    start()
    target, sys.argv = sys.argv[1], sys.argv[1:]
    runpy.run_module(target, run_name="__main__", alter_sys=True)
