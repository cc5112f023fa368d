"""The penalty ladder as a table: the step of each violation from the record alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from groupops.moderation.ladder import Rung, penalties, state_at, step_for

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def rung(i: int, days: float, category: str = "ad", *, member: str = "x", group: str = "g",
         revoked: bool = False) -> Rung:  # fmt: skip
    return Rung(i, "wecom", group, member, category, T0 + timedelta(days=days), revoked)


@pytest.mark.parametrize(
    ("count", "penalty"), [(1, "warning"), (2, "mute"), (3, "removal"), (7, "removal")]
)
def test_step_for(count: int, penalty: str) -> None:
    assert step_for(count) == penalty


CASES = [
    # (rungs, expected penalties by id)
    ([rung(1, 0)], {1: "warning"}),
    ([rung(1, 0), rung(2, 1), rung(3, 2), rung(4, 3)],
     {1: "warning", 2: "mute", 3: "removal", 4: "removal"}),
    # per member and per group
    ([rung(1, 0), rung(2, 1, member="y"), rung(3, 2, group="h")],
     {1: "warning", 2: "warning", 3: "warning"}),
    # older than the 90-day window: no longer counted
    ([rung(1, 0), rung(2, 91)], {1: "warning", 2: "warning"}),
    ([rung(1, 0), rung(2, 89), rung(3, 95)], {1: "warning", 2: "mute", 3: "mute"}),
    # severe categories go straight to removal, and still count for later ones
    ([rung(1, 0, "confidential")], {1: "removal"}),
    ([rung(1, 0, "illegal"), rung(2, 1, "ad")], {1: "removal", 2: "mute"}),
    # a revoked violation does not count: the later mute becomes a warning
    ([rung(1, 0, revoked=True), rung(2, 1), rung(3, 2)], {2: "warning", 3: "mute"}),
    # same instant: by id
    ([rung(2, 0), rung(1, 0)], {1: "warning", 2: "mute"}),
]  # fmt: skip


@pytest.mark.parametrize(("rungs", "expected"), CASES)
def test_ladder_table(rungs: list[Rung], expected: dict[int, str]) -> None:
    assert penalties(rungs, window_days=90, severe=["illegal", "confidential"]) == expected


@pytest.mark.parametrize(
    ("days_before", "revoked", "state"),
    [(1, False, "active"), (89.9, False, "active"), (90, False, "expired"), (1, True, "revoked")],
)
def test_state(days_before: float, revoked: bool, state: str) -> None:
    as_of = T0 + timedelta(days=200)
    at = as_of - timedelta(days=days_before)
    assert state_at(at, revoked, as_of, window_days=90) == state
