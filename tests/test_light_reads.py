"""Read paths without pandas answer exactly as the frame paths they stand beside.

Commands that only list (``archive list``/``search``, ``todos``, names in tables) read the
store as rows, so they import no pandas; the frame readers stay for the pipelines that
compute. One rule, two readers: generated stores (hypothesis) on SQLite and PostgreSQL, with
the values the frame path treats specially (missing, empty and blank names, every membership
event, several events per member, instants with microseconds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groupops.db.models import Group, Member, MembershipEvent
from groupops.db.queries import load_members, load_memberships
from groupops.moderation.todos import departures, load_departures
from groupops.roster import Directory

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ids = st.sampled_from(["u1", "u2", "u3", "名"])
names = st.one_of(st.none(), st.sampled_from(["", " ", "  Ann ", "李雷", "x"]))
members = st.lists(
    st.fixed_dictionaries(
        {
            "platform": st.sampled_from(["wecom", "feishu"]),
            "member_id": ids,
            "display_name": st.sampled_from(["", " ", "Ann", "韩梅梅"]),
            "real_name": names,
            "department": names,
            "email": st.one_of(st.none(), st.sampled_from(["", "a@b.co", "not-an-email"])),
        }
    ),
    max_size=8,
    unique_by=lambda m: (m["platform"], m["member_id"]),
)
events = st.lists(
    st.fixed_dictionaries(
        {
            "group_id": st.sampled_from(["g1", "g2"]),
            "member_id": ids,
            "event": st.sampled_from(["join", "leave", "removed"]),
            "at": st.integers(0, 10_000_000).map(lambda us: NOW + timedelta(microseconds=us)),
        }
    ),
    max_size=10,
    unique_by=lambda e: (e["group_id"], e["member_id"], e["event"], e["at"]),
)


def _store(engine: sa.Engine, people: list[dict[str, Any]], moves: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        for model in (MembershipEvent, Member, Group):
            conn.execute(sa.delete(model.__table__))
        for gid in ("g1", "g2"):
            conn.execute(
                sa.insert(Group.__table__).values(
                    platform="wecom",
                    group_id=gid,
                    name=gid,
                    admin_ids=[],
                    content_hash=0,
                    updated_at=NOW,
                )
            )
        if people:
            conn.execute(
                sa.insert(Member.__table__),
                [{**p, "content_hash": 0, "updated_at": NOW} for p in people],
            )
        if moves:
            conn.execute(
                sa.insert(MembershipEvent.__table__),
                [{**m, "platform": "wecom", "content_hash": 0, "updated_at": NOW} for m in moves],
            )


@EXAMPLES
@given(people=members)
def test_the_directory_read_as_rows_is_the_frame_directory(
    engine: sa.Engine, people: list[dict[str, Any]]
) -> None:
    _store(engine, people, [])
    light = Directory.load(engine)
    framed = Directory.from_frame(load_members(engine))
    assert light._people == framed._people
    assert list(light._people) == list(framed._people)


@EXAMPLES
@given(moves=events)
def test_departures_read_as_rows_are_the_frame_departures(
    engine: sa.Engine, moves: list[dict[str, Any]]
) -> None:
    _store(engine, [], moves)
    light = load_departures(engine)
    framed = departures(load_memberships(engine))
    assert light == framed
    for instants in light.values():
        assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in instants)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("  ", None), (" 李雷 ", "李雷"), (float("nan"), None), (3, "3")],
)
def test_a_missing_name_is_none_whatever_its_spelling(value: object, expected: str | None) -> None:
    import pandas as pd

    from groupops.roster.directory import _text

    assert _text(value) == expected
    assert _text(pd.NA) is None
