"""The HR roster through the validated ingest (bad rows quarantined), and roster compliance:
departed people still in groups, unknown people, real names, unapproved joins."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from groupops.db import session_scope
from groupops.db.models import Group, Member, MembershipEvent, Message, QuarantineRecord
from groupops.importers import open_source
from groupops.ingest import run_ingest
from groupops.policy import Policy
from groupops.roster.compliance import check_roster, name_ok
from groupops.roster.hr import Roster

TZ = ZoneInfo("Asia/Shanghai")
POLICY = Policy()
NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)

ROSTER_CSV = """employee_id,real_name,department,status,email,department_head_email,member_ids,departed_at
E001,王强,运营部,active,wang@example.com,boss@example.com,,
E002,李娜,项目部,active,li@example.com,boss@example.com,wecom:u2,
E003,罗小雨,市场部,departed,luo@example.com,boss@example.com,,2026-11-02
E004,张伟,市场部,active,zw@example.com,boss@example.com,u4,
E005,周鹏,,external,zp@partner.example,,u5,
,无工号,市场部,active,a@example.com,,,
E006,赵六,市场部,retired,z@example.com,,,
E007,钱七,市场部,active,not-an-email,,,
"""


def t(d: int, h: int = 10) -> datetime:
    return datetime(2026, 11, d, h, tzinfo=TZ)


def test_roster_ingest_validates_and_quarantines(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "hr-export.csv"
    path.write_text(ROSTER_CSV, encoding="utf-8")
    summary = run_ingest(open_source(path, "roster")[0], engine, POLICY, now=NOW)
    (entity,) = summary.entities
    assert (entity.entity, entity.loaded, entity.quarantined) == ("roster", 5, 3)
    with engine.connect() as conn:
        bad = conn.execute(
            sa.select(QuarantineRecord.line, QuarantineRecord.field).order_by(QuarantineRecord.line)
        ).all()
    assert [tuple(b) for b in bad] == [(7, "employee_id"), (8, "status"), (9, "email")]
    again = run_ingest(open_source(path, "roster")[0], engine, POLICY, now=NOW)
    assert (again.entities[0].loaded, again.entities[0].unchanged) == (0, 5)
    roster = Roster.load(engine)
    assert roster.employees["E003"].departed_at == t(2, 0)


def test_a_roster_in_a_bundle_is_ingested_with_it(engine: sa.Engine, tmp_path: Path) -> None:
    (tmp_path / "groups.jsonl").write_text(
        '{"platform": "wecom", "group_id": "g", "name": "G"}\n', encoding="utf-8"
    )
    (tmp_path / "roster.csv").write_text(ROSTER_CSV.split("\n,")[0] + "\n", encoding="utf-8")
    summary = run_ingest(open_source(tmp_path, "canonical")[0], engine, POLICY, now=NOW)
    assert [e.entity for e in summary.entities][-1] == "roster"
    assert len(Roster.load(engine)) == 5


@pytest.mark.parametrize(
    ("display", "real", "ok"),
    [
        ("王强", "王强", True),
        ("陈杰-云帆", "陈杰", True),
        ("赵磊（前端）", "赵磊", True),
        ("赵磊(前端)", "赵磊", True),
        ("Kevin", "陈凯文", False),
        ("多多", "钱多多", False),
        ("王强强", "王强", False),
        (None, "王强", False),
    ],
)
def test_name_convention(display: str | None, real: str, ok: bool) -> None:
    assert name_ok(display, real, POLICY.roster.name_patterns) is ok


def seed(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER_CSV, encoding="utf-8")
    run_ingest(open_source(path, "roster")[0], engine, POLICY, now=NOW)
    with session_scope(engine) as s:
        s.add(Group(platform="wecom", group_id="g", name="G", owner_id="u1", admin_ids=["u2"],
                    content_hash=0, updated_at=NOW))  # fmt: skip
        people = [
            ("u1", "王强", "wang@example.com"),  # by email
            ("u2", "李娜", None),  # by platform id
            ("u3", "小雨", "luo@example.com"),  # departed, and the display name is not hers
            ("u4", "张伟（设计）", None),  # by bare id, the convention
            ("u5", "Peter", None),  # external on the roster
            ("u6", "路人甲", None),  # nobody knows them
            ("u7", "Mike", "mike@yunfan-tech.com"),  # an external partner by e-mail domain
        ]
        for mid, name, mail in people:
            s.add(Member(platform="wecom", member_id=mid, display_name=name, email=mail,
                         content_hash=0, updated_at=NOW))  # fmt: skip
        s.flush()
        for mid, approved in [("u1", "u1"), ("u2", "u1"), ("u3", "u1"), ("u4", "u1"),
                              ("u5", "u1"), ("u7", "u2")]:  # fmt: skip
            s.add(MembershipEvent(platform="wecom", group_id="g", member_id=mid, event="join",
                                  at=t(1), approved_by=approved, content_hash=0, updated_at=NOW))  # fmt: skip
        s.add(MembershipEvent(platform="wecom", group_id="g", member_id="u6", event="join",
                              at=t(10, 20), approved_by=None, content_hash=0, updated_at=NOW))  # fmt: skip
        s.add(Message(platform="wecom", group_id="g", message_id="m1", sender_id="system",
                      sent_at=t(10), kind="system", text="u6 加入了群聊", mentions=[],
                      content_hash=0, updated_at=NOW))  # fmt: skip


def test_roster_check_findings(engine: sa.Engine, tmp_path: Path) -> None:
    seed(engine, tmp_path)
    findings = check_roster(engine, POLICY, t(20, 18))
    got = [(f.kind, f.member_id) for f in findings]
    assert got == [
        ("departed_still_member", "u3"),
        ("left_without_removal", "u3"),
        ("unknown_person", "u6"),
        ("name_mismatch", "u3"),
        ("name_mismatch", "u5"),
        ("name_mismatch", "u7"),
        ("unapproved_join", "u6"),
    ]
    late = findings[1]
    assert late.due_at == t(3, 18)  # one working day after Mon Nov 2
    u5 = next(f for f in findings if f.member_id == "u5")
    assert u5.real_name == "周鹏" and u5.employee_id == "E005"


def test_within_the_removal_deadline_only_the_state_is_reported(
    engine: sa.Engine, tmp_path: Path
) -> None:
    seed(engine, tmp_path)
    kinds = [f.kind for f in check_roster(engine, POLICY, t(3, 17)) if f.member_id == "u3"]
    assert kinds == ["departed_still_member", "name_mismatch"]


def test_a_recorded_removal_ends_the_findings(engine: sa.Engine, tmp_path: Path) -> None:
    seed(engine, tmp_path)
    with session_scope(engine) as s:
        s.add(MembershipEvent(platform="wecom", group_id="g", member_id="u3", event="removed",
                              at=t(5), approved_by=None, content_hash=0, updated_at=NOW))  # fmt: skip
    assert not [f for f in check_roster(engine, POLICY, t(20)) if f.member_id == "u3"]
