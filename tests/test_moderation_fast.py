"""Moderation's faster paths find exactly what the plain ones find.

- :func:`groupops.moderation.appeals.detect_appeals` builds records only for the messages of
  members with a decided violation (the catch-up runs it over the whole ladder window, once
  per working day): the same appeals, in the same order, as building every row (the plain
  loop, ``senders_first=False``, is the reference).
- Duplicate detection folds each distinct text once per process
  (``groupops.moderation.detect._normalised``): the same text as :func:`normalise`."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groupops.moderation.appeals import _detect_appeals, detect_appeals
from groupops.moderation.detect import _normalised
from groupops.moderation.store import ViolationRecord
from groupops.moderation.text import normalise

MARKERS = ["申诉", "appeal"]
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
GROUPS = ["g1", "g2"]
MEMBERS = ["m1", "m2", "m3", "admin"]
APPELLANTS = ["m1", "m2", "m3"]


def reference_detect_appeals(
    messages: pd.DataFrame,
    violations: Sequence[ViolationRecord],
    staff: dict[tuple[str, str], set[str]],
    markers: Sequence[str],
) -> list[tuple[int, str, datetime, str]]:
    """``detect_appeals`` as it was: one record per message."""
    return _detect_appeals(messages, violations, staff, markers, senders_first=False)


def _violation(i: int, group: str, member: str, decided: int | None, revoked: bool,
               notice: bool) -> ViolationRecord:  # fmt: skip
    at = T0 + timedelta(hours=i)
    return ViolationRecord(
        id=i + 1, platform="wecom", group_id=group, member_id=member, category="ad", rule="ad",
        evidence_key=f"e{i}", message_ids=(f"x{i}",), matched=(), snippet="", at=at,
        source="detected", recorded_by=None, note=None, penalty="warning",
        decided_at=None if decided is None else T0 + timedelta(hours=decided),
        mute_until=None, revoked_at=at if revoked else None, created_at=at,
        notice_message_id=f"n{i}" if notice else None,
    )  # fmt: skip


TEXTS = ["", "我要申诉", "Appeal please", "hello", "ＡＰＰＥＡＬ", "申 诉", "申诉", None]


def _case(seed: int) -> tuple[list[ViolationRecord], list[tuple[Any, ...]]]:
    """Violations (some undecided or revoked, some notified) and messages by the sanctioned,
    others and nobody, replying to notices or not, mentioning the staff or not."""
    rnd = random.Random(seed)
    found = [
        _violation(i, rnd.choice(GROUPS), rnd.choice(APPELLANTS),
                   rnd.choice([None, *range(25)]), rnd.random() < 0.2, rnd.random() < 0.6)
        for i in range(rnd.randint(0, 8))
    ]  # fmt: skip
    rows = [
        (rnd.choice(GROUPS), rnd.choice([*MEMBERS, None]), rnd.randint(0, 48), rnd.choice(TEXTS),
         rnd.choice([None, None, "n0", "n1", "n2", "n3", "n4", "msg1"]),
         rnd.sample(["admin", "m1", "m9"], rnd.randint(0, 2)))
        for _ in range(rnd.randint(0, 40))
    ]  # fmt: skip
    return found, rows


def _frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "platform": ["wecom"] * len(rows),
            "group_id": [r[0] for r in rows],
            "message_id": [f"msg{i}" for i in range(len(rows))],
            "sender_id": [r[1] for r in rows],
            "sent_at": pd.to_datetime([T0 + timedelta(hours=r[2]) for r in rows], utc=True),
            "text": [r[3] for r in rows],
            "reply_to": [r[4] for r in rows],
            "mentions": [list(r[5]) for r in rows],
        }
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.booleans())
def test_appeals_found_from_the_appellants_rows_equal_those_from_every_row(
    seed: int, admins_staff: bool
) -> None:
    found, rows = _case(seed)
    messages = _frame(rows)
    staff = {("wecom", g): {"admin"} if admins_staff else {"m1"} for g in GROUPS}
    assert detect_appeals(messages, found, staff, MARKERS) == reference_detect_appeals(
        messages, found, staff, MARKERS
    )


def test_the_reference_is_not_vacuous() -> None:
    """A sanctioned member's appeal, by reply and by mention, is found by both."""
    found = [_violation(0, "g1", "m1", 0, False, True)]
    messages = _frame([("g1", "m1", 2, "我要申诉", "n0", []), ("g1", "m2", 3, "申诉", None, []),
                       ("g1", "m1", 4, "appeal", None, ["admin"])])  # fmt: skip
    staff = {("wecom", "g1"): {"admin"}}
    expected = reference_detect_appeals(messages, found, staff, MARKERS)
    assert [m for _v, m, _at, _t in expected] == ["msg0", "msg2"]
    assert detect_appeals(messages, found, staff, MARKERS) == expected


@given(st.lists(st.text(max_size=12), max_size=20))
def test_remembered_folding_is_normalise(texts: list[str]) -> None:
    for text in [*texts, *texts]:
        assert _normalised(text) == normalise(text)
