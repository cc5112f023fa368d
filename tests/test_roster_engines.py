"""``groupops roster check`` reads the store as rows and finds exactly what the frame engine
finds.

``check_roster`` (rows, no pandas) and ``check_roster_frames`` (the pipelines' frame readers)
share the rules (``_findings``) and differ only in how they read memberships, senders and the
directory; generated stores (hypothesis) on SQLite and PostgreSQL with every kind of finding's
ingredients: departed, active and external roster entries, bare and ``platform:id`` member
ids, e-mails that match or not, joins with and without approval, leaves and removals before
and after a departure, members known only from their messages, the system sender. One member's
events are at distinct instants (at one instant pandas' default sort may read a join and a leave
in either order; the row engine keeps the store's order)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from groupops.db.models import Group, Member, MembershipEvent, Message, RosterEntry
from groupops.db.queries import load_members
from groupops.policy import Policy
from groupops.roster.compliance import check_roster, check_roster_frames
from groupops.roster.hr import Roster

POLICY = Policy()
DAY0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai
AS_OF = [DAY0 + timedelta(days=d, hours=h) for d, h in ((0, 0), (3, 5), (9, 8), (20, 0))]
MEMBERS = ["u1", "u2", "u3", "u4", "system"]
GROUPS = ["g1", "g2"]

instants = st.integers(0, 20 * 24).map(lambda h: DAY0 + timedelta(hours=h))
members = st.lists(
    st.fixed_dictionaries(
        {
            "member_id": st.sampled_from(MEMBERS),
            "display_name": st.sampled_from(["", "张三", "张三-产品", "李四", "Ann"]),
            "real_name": st.one_of(st.none(), st.sampled_from(["", "张三", "李四"])),
            "department": st.one_of(st.none(), st.sampled_from(["", "产品"])),
            "email": st.one_of(
                st.none(), st.sampled_from(["", "a@corp.cn", "b@partner.example", "C@Corp.cn"])
            ),
        }
    ),
    max_size=5,
    unique_by=lambda m: m["member_id"],
)
events = st.lists(
    st.fixed_dictionaries(
        {
            "group_id": st.sampled_from(GROUPS),
            "member_id": st.sampled_from(MEMBERS),
            "event": st.sampled_from(["join", "leave", "removed"]),
            "at": instants,
            "approved_by": st.one_of(st.none(), st.just("admin")),
        }
    ),
    max_size=10,
    unique_by=lambda e: (e["group_id"], e["member_id"], e["at"]),
)
messages = st.lists(
    st.fixed_dictionaries(
        {"group_id": st.sampled_from(GROUPS), "sender_id": st.sampled_from(MEMBERS), "at": instants}
    ),
    max_size=8,
)
roster = st.lists(
    st.fixed_dictionaries(
        {
            "employee_id": st.sampled_from(["e1", "e2", "e3"]),
            "real_name": st.sampled_from(["张三", "李四"]),
            "department": st.one_of(st.none(), st.just("产品")),
            "status": st.sampled_from(["active", "departed", "external"]),
            "email": st.one_of(st.none(), st.sampled_from(["a@corp.cn", "c@corp.cn"])),
            "member_ids": st.lists(
                st.sampled_from(["u1", "wecom:u2", "feishu:u3", "u4"]), max_size=2
            ),
            "departed_at": st.one_of(st.none(), instants),
        }
    ),
    max_size=3,
    unique_by=lambda r: r["employee_id"],
)


def _store(engine: sa.Engine, data: dict[str, list[dict[str, Any]]]) -> None:
    meta = {"content_hash": 0, "updated_at": DAY0}
    with engine.begin() as conn:
        for model in (Message, MembershipEvent, Member, RosterEntry, Group):
            conn.execute(sa.delete(model.__table__))
        conn.execute(
            sa.insert(Group.__table__),
            [
                {"platform": "wecom", "group_id": g, "name": g, "admin_ids": [], **meta}
                for g in GROUPS
            ],
        )
        rows = {
            Member: [{"platform": "wecom", **m, **meta} for m in data["members"]],
            MembershipEvent: [{"platform": "wecom", **e, **meta} for e in data["events"]],
            Message: [
                {
                    "platform": "wecom", "group_id": m["group_id"], "message_id": f"m{i}",
                    "sender_id": m["sender_id"], "sent_at": m["at"], "kind": "text", "text": "",
                    "mentions": [], **meta,
                }
                for i, m in enumerate(data["messages"])
            ],
            RosterEntry: [{**r, **meta} for r in data["roster"]],
        }  # fmt: skip
        for model, values in rows.items():
            if values:
                conn.execute(sa.insert(model.__table__), values)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.fixed_dictionaries(
    {"members": members, "events": events, "messages": messages, "roster": roster}
))  # fmt: skip
@example(  # a removal after as_of does not count: the deadline is missed at as_of
    data={
        "members": [],
        "events": [
            {"group_id": "g1", "member_id": "u1", "event": "join", "at": DAY0, "approved_by": None},
            {"group_id": "g1", "member_id": "u1", "event": "removed",
             "at": AS_OF[2] + timedelta(hours=1), "approved_by": None},
        ],
        "messages": [],
        "roster": [
            {"employee_id": "e1", "real_name": "张三", "department": None, "status": "departed",
             "email": None, "member_ids": ["u1"], "departed_at": DAY0 + timedelta(hours=1)},
        ],
    }
)  # fmt: skip
def test_rows_and_frames_find_the_same(
    engine: sa.Engine, data: dict[str, list[dict[str, Any]]]
) -> None:
    _store(engine, data)
    for as_of in AS_OF:
        rows = check_roster(engine, POLICY, as_of)
        frames = check_roster_frames(engine, POLICY, as_of)
        assert rows == frames, as_of
        assert [f.as_dict(POLICY.tz) for f in rows] == [f.as_dict(POLICY.tz) for f in frames]
    members_frame = load_members(engine)
    framed = {
        (str(p), str(m)): str(e)
        for p, m, e in zip(
            members_frame["platform"], members_frame["member_id"], members_frame["email"],
            strict=True,
        )
        if isinstance(e, str) and e
    }  # fmt: skip
    assert Roster.load(engine)._member_emails == {k: v.strip().lower() for k, v in framed.items()}
