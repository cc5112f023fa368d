"""A whole moderation run against the store (SQLite and PostgreSQL): detect, decide on the
ladder, notify through the outbox, record actions (admin to-dos where no connector acts), lift
ended mutes, appeals with recounts — and re-runs that change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from groupops.db import session_scope
from groupops.db.models import Group, Member, Message, RosterEntry
from groupops.mail import pending_entries
from groupops.moderation import flagged_messages, load_violations
from groupops.moderation.actions import load_actions
from groupops.moderation.appeals import decide_appeal, file_appeal, load_appeals
from groupops.moderation.run import moderate
from groupops.moderation.store import record_admin_violation, violation_dicts
from groupops.policy import Policy

TZ = ZoneInfo("Asia/Shanghai")
POLICY = Policy()
NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


def at(d: int, h: int, mi: int = 0) -> datetime:
    return datetime(2026, 11, d, h, mi, tzinfo=TZ)


def seed(engine: sa.Engine, messages: list[tuple[str, str, datetime, str]]) -> None:
    """Group g (owner boss, admin adm); x of 市场部 (head: head@example.com), y, the admins."""
    with session_scope(engine) as s:
        s.add(Group(platform="wecom", group_id="g", name="市场运营群", owner_id="boss",
                    admin_ids=["adm"], content_hash=0, updated_at=NOW))  # fmt: skip
        for mid, name, mail in [
            ("x", "小许", "x@example.com"),
            ("y", "杨洋", "y@example.com"),
            ("adm", "管理员", "adm@example.com"),
            ("boss", "老板", "boss@example.com"),
        ]:
            s.add(Member(platform="wecom", member_id=mid, display_name=name, real_name=name,
                         department="市场部", email=mail, content_hash=0, updated_at=NOW))  # fmt: skip
        s.add(RosterEntry(employee_id="E1", real_name="小许", department="市场部", status="active",
                          email="x@example.com", department_head_email="head@example.com",
                          member_ids=[], content_hash=0, updated_at=NOW))  # fmt: skip
        s.flush()
        for mid, sender, sent_at, text in messages:
            s.add(Message(platform="wecom", group_id="g", message_id=mid, sender_id=sender,
                          sent_at=sent_at, kind="text", text=text, mentions=[], content_hash=0,
                          updated_at=NOW))  # fmt: skip


LADDER = [
    ("m1", "x", at(16, 10), "兼职刷单，日结，有意向加微信 abc123"),
    ("m2", "x", at(17, 10), "你是不是傻逼"),
    ("m3", "x", at(18, 10), "优惠券免费领取，名额有限"),
    ("m4", "y", at(16, 11), "下午三点评审，大家准时参加"),
]


def vid(engine: sa.Engine, message_id: str) -> int:
    """The id of the violation whose evidence starts with ``message_id`` (ids are not reset
    between tests on PostgreSQL)."""
    return next(v.id for v in load_violations(engine) if v.message_ids[0] == message_id)


def run(engine: sa.Engine, as_of: datetime, outbox: Path, **kw: object):
    return moderate(engine, POLICY, as_of, now=NOW, sender="groupops@example.com",
                    outbox_dir=outbox, **kw)  # fmt: skip


def test_the_ladder_decides_notifies_and_a_rerun_changes_nothing(
    engine: sa.Engine, tmp_path: Path
) -> None:
    seed(engine, LADDER)
    first = run(engine, at(18, 11), tmp_path)
    assert [(d["message_ids"], d["category"], d["penalty"]) for d in first.decisions] == [
        (["m1"], "ad", "warning"),
        (["m2"], "vulgar", "mute"),
        (["m3"], "ad", "removal"),
    ]
    assert first.decisions[1]["mute_until"] == (at(18, 11) + timedelta(days=1)).isoformat()
    keys = set(first.notices)
    v1, v3 = vid(engine, "m1"), vid(engine, "m3")
    assert {f"moderation:violation:{v1}:member", f"moderation:violation:{v1}:admins"} <= keys
    assert f"moderation:violation:{v3}:department" in keys  # removal: the department head
    assert [k for k in keys if k.endswith(":department")] == [
        f"moderation:violation:{v3}:department"
    ]
    department = [e for e in pending_entries(engine) if e.key.endswith(":department")]
    assert department[0].recipients == ["head@example.com"]
    # no connector for wecom: mute and removal become the admins' to-dos
    assert {(a["action"], a["status"]) for a in first.actions} == {
        ("notice", "skipped"), ("mute", "todo"), ("remove", "todo"),
    }  # fmt: skip

    again = run(engine, at(18, 11), tmp_path)
    assert (again.recorded, again.decisions, again.notices, again.actions) == (0, [], [], [])
    rows = violation_dicts(load_violations(engine), at(18, 12), POLICY)
    assert [(r["penalty"], r["state"], r["source"]) for r in rows] == [
        ("warning", "active", "detected"), ("mute", "active", "detected"),
        ("removal", "active", "detected"),
    ]  # fmt: skip
    assert rows[0]["decided_at"] == at(18, 11).isoformat()
    assert rows[0]["at"] == at(16, 10).isoformat()


def test_a_timed_mute_is_lifted_by_the_run_after_it_ends(engine: sa.Engine, tmp_path: Path) -> None:
    seed(engine, LADDER[:2])
    run(engine, at(18, 11), tmp_path)
    assert run(engine, at(19, 10), tmp_path).actions == []  # still muted
    later = run(engine, at(19, 11, 30), tmp_path)
    assert [(a["action"], a["status"]) for a in later.actions] == [("unmute", "todo")]
    assert run(engine, at(20, 11), tmp_path).actions == []


def test_an_upheld_appeal_revokes_and_recounts(engine: sa.Engine, tmp_path: Path) -> None:
    seed(engine, LADDER)
    run(engine, at(18, 11), tmp_path)
    v1, v2, v3 = (vid(engine, m) for m in ("m1", "m2", "m3"))
    filed = file_appeal(engine, v1, at=at(18, 14), policy=POLICY, now=NOW, reason="不是我发的")
    assert filed.created and filed.appeal.state == "pending"
    assert filed.appeal.appeal_deadline == at(23, 18)  # Thu, Fri, Mon
    assert filed.appeal.answer_due_at == at(23, 18)
    assert not file_appeal(engine, v1, at=at(18, 14), policy=POLICY, now=NOW).created

    decided = decide_appeal(engine, filed.appeal.id, uphold=True, at=at(19, 10), by="adm",
                            policy=POLICY, now=NOW)  # fmt: skip
    assert [(r.violation_id, r.previous, r.penalty) for r in decided.recounts] == [
        (v2, "mute", "warning"),
        (v3, "removal", "mute"),
    ]
    rows = violation_dicts(load_violations(engine), at(19, 11), POLICY)
    assert [(r["penalty"], r["state"]) for r in rows] == [
        ("warning", "revoked"), ("warning", "active"), ("mute", "active"),
    ]  # fmt: skip
    after = run(engine, at(19, 11), tmp_path)
    assert {(a["violation_id"], a["action"]) for a in after.actions} == {
        (v2, "unmute"), (v3, "mute"), (v3, "reinvite"),
    }  # fmt: skip
    assert flagged_messages(engine, ["ad"], at(19, 11))[0].message_id == "m3"  # m1 revoked
    # deciding again the same way changes nothing
    assert not decide_appeal(engine, filed.appeal.id, uphold=True, at=at(19, 10), by="adm",
                             policy=POLICY, now=NOW).changed  # fmt: skip


def test_a_late_appeal_is_recorded_as_late(engine: sa.Engine, tmp_path: Path) -> None:
    seed(engine, LADDER[:1])
    run(engine, at(18, 11), tmp_path)
    filed = file_appeal(engine, vid(engine, "m1"), at=at(23, 18, 1), policy=POLICY, now=NOW)
    assert (filed.appeal.state, filed.appeal.answer_due_at) == ("late", None)


def test_severe_violations_go_to_removal_and_the_owner(engine: sa.Engine, tmp_path: Path) -> None:
    seed(engine, [("s1", "y", at(16, 10), "这份是内部资料，别外传")])
    result = run(engine, at(16, 11), tmp_path)
    assert [(d["category"], d["penalty"], d["severe"]) for d in result.decisions] == [
        ("confidential", "removal", True)
    ]
    assert f"moderation:violation:{vid(engine, 's1')}:owner" in result.notices


def test_an_admins_violation_enters_the_same_ladder(engine: sa.Engine, tmp_path: Path) -> None:
    seed(engine, LADDER[:1])
    run(engine, at(16, 11), tmp_path)
    record_admin_violation(engine, platform="wecom", group_id="g", member_id="x",
                           category="rumour", message_ids=[], at=at(17, 9), recorded_by="adm",
                           note="散布不实消息", now=NOW)  # fmt: skip
    result = run(engine, at(17, 10), tmp_path)
    assert [(d["category"], d["penalty"]) for d in result.decisions] == [("rumour", "mute")]


def test_an_appeal_written_in_the_group_is_filed(engine: sa.Engine, tmp_path: Path) -> None:
    seed(engine, LADDER[:1])
    run(engine, at(16, 11), tmp_path)
    with session_scope(engine) as s:
        s.add(Message(platform="wecom", group_id="g", message_id="a1", sender_id="x",
                      sent_at=at(16, 15), kind="text", text="@管理员 申诉：那条不是广告",
                      mentions=["adm"], content_hash=0, updated_at=NOW))  # fmt: skip
        s.add(Message(platform="wecom", group_id="g", message_id="a2", sender_id="x",
                      sent_at=at(16, 16), kind="text", text="我要申诉", mentions=[],
                      content_hash=0, updated_at=NOW))  # neither a reply nor a mention  # fmt: skip
    result = run(engine, at(16, 17), tmp_path)
    (appeal,) = load_appeals(engine)
    assert result.appeals_filed == [appeal.id]
    assert (appeal.violation_id, appeal.message_id, appeal.source) == (
        vid(engine, "m1"),
        "a1",
        "message",
    )
    assert run(engine, at(16, 17), tmp_path).appeals_filed == []


def test_dry_run_writes_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    seed(engine, LADDER)
    result = run(engine, at(18, 11), tmp_path / "outbox", dry_run=True)
    assert [d["penalty"] for d in result.decisions] == ["warning", "mute", "removal"]
    assert load_violations(engine) == [] and load_actions(engine) == []
    assert pending_entries(engine) == [] and not (tmp_path / "outbox").exists()


def test_the_admins_digest_lists_decisions_todos_appeals_and_roster(
    engine: sa.Engine, tmp_path: Path
) -> None:
    from groupops.clock.periods import Period
    from groupops.digest.context import DigestScope
    from groupops.digest.moderation import moderation_provider
    from groupops.mail.render import TEMPLATES_DIR, _environment

    seed(engine, LADDER)
    run(engine, at(18, 11), tmp_path)
    file_appeal(engine, vid(engine, "m3"), at=at(18, 15), policy=POLICY, now=NOW)
    period = Period(at(16, 0), at(23, 0), TZ, "week")
    admin = DigestScope("admin", "wecom", "g", ("adm",), ("g",), period)
    owner = DigestScope("owner", "wecom", "boss", ("boss",), ("g",), period)
    provide = moderation_provider(engine, POLICY, at(20, 9))
    section = provide(admin, "zh-CN")
    assert section is not None and section.has_content
    data = section.data
    assert [v["penalty"] for v in data["violations"]] == ["警告", "禁言", "移出群聊"]
    assert [t["action"] for t in data["todos"]] == ["移出群聊"]  # the mute ended on the 19th
    assert [(a["member"], a["state"]) for a in data["appeals"]] == [("小许", "pending")]
    owner_section = provide(owner, "en")
    assert owner_section is not None and not owner_section.has_content  # nothing severe
    env = _environment(TEMPLATES_DIR)
    for suffix in ("html", "txt"):
        text = env.get_template(f"sections/moderation.{suffix}").render(
            section=section, language="zh-CN"
        )
        assert "小许" in text and "待管理员执行" in text and "待答复的申诉" in text


def test_todos_resolve_on_a_recorded_removal_or_a_revocation_and_leave_the_digest(
    engine: sa.Engine, tmp_path: Path
) -> None:
    from groupops.db.models import MembershipEvent
    from groupops.moderation.todos import load_todos, mark_done

    seed(engine, [*LADDER, ("n1", "y", at(16, 12), "加微信领优惠券"),
                  ("n2", "y", at(17, 12), "他妈的又不能用了"),
                  ("n3", "y", at(18, 9), "兼职刷单日结")])  # fmt: skip
    run(engine, at(18, 11), tmp_path)

    def states(as_of: datetime) -> dict[tuple[str, str], tuple[str, str | None]]:
        return {
            (t.action.member_id, t.action.action): (t.state, t.resolved_by)
            for t in load_todos(engine, as_of)
        }

    assert states(at(18, 12)) == {
        ("x", "mute"): ("open", None), ("x", "remove"): ("open", None),
        ("y", "mute"): ("open", None), ("y", "remove"): ("open", None),
    }  # fmt: skip
    # x is removed by hand (the membership event comes in with the next ingest) …
    with session_scope(engine) as s:
        s.add(MembershipEvent(platform="wecom", group_id="g", member_id="x", event="removed",
                              at=at(18, 14), content_hash=0, updated_at=NOW))  # fmt: skip
    # … y's removal is revoked on appeal (a re-invite is not needed: y was never removed)
    filed = file_appeal(engine, vid(engine, "n3"), at=at(18, 15), policy=POLICY, now=NOW)
    decide_appeal(engine, filed.appeal.id, uphold=True, at=at(18, 16), by="adm", policy=POLICY,
                  now=NOW)  # fmt: skip
    assert states(at(18, 13))[("x", "remove")] == ("open", None)  # as it stood then
    got = states(at(18, 17))
    assert got[("x", "remove")] == ("resolved", "removal_recorded")
    assert got[("y", "remove")] == ("resolved", "revoked")
    assert got[("y", "mute")] == ("open", None)  # recounted: still y's second violation
    x_mute = next(t for t in load_todos(engine, at(18, 17)) if t.action.member_id == "x"
                  and t.action.action == "mute")  # fmt: skip
    mark_done(engine, x_mute.action.id, at=at(18, 17), by="adm", now=NOW)
    assert states(at(18, 18))[("x", "mute")] == ("done", None)

    from groupops.clock.periods import Period
    from groupops.digest.context import DigestScope
    from groupops.digest.moderation import moderation_provider

    period = Period(at(16, 0), at(23, 0), TZ, "week")
    admin = DigestScope("admin", "wecom", "g", ("adm",), ("g",), period)
    section = moderation_provider(engine, POLICY, at(18, 18))(admin, "en")
    assert section is not None
    assert [(t["member"], t["action"]) for t in section.data["todos"]] == [("杨洋", "mute")]


def _say(engine: sa.Engine, mid: str, sender: str, sent_at: datetime, text: str,
         mentions: list[str] | None = None, reply_to: str | None = None) -> None:  # fmt: skip
    with session_scope(engine) as s:
        s.add(Message(platform="wecom", group_id="g", message_id=mid, sender_id=sender,
                      sent_at=sent_at, kind="text", text=text, mentions=mentions or [],
                      reply_to=reply_to, content_hash=0, updated_at=NOW))  # fmt: skip


def test_an_admins_reply_to_an_appeal_decides_it(engine: sa.Engine, tmp_path: Path) -> None:
    seed(engine, LADDER)
    run(engine, at(18, 11), tmp_path)
    # x appeals the removal (m3), y (no violation) and x answer nothing; the admin's holding
    # reply decides nothing, then a reply with both markers nothing; then the upholding one
    _say(engine, "ap", "x", at(18, 12), "@管理员 申诉：那条是公司活动的券", ["adm"])
    _say(engine, "r0", "adm", at(18, 12, 10), "我先核实一下", reply_to="ap")
    _say(engine, "r1", "y", at(18, 12, 20), "申诉成立吧", reply_to="ap")
    _say(engine, "r2", "x", at(18, 12, 30), "申诉成立！", reply_to="ap")
    _say(engine, "r3", "adm", at(18, 12, 40), "申诉成立还是维持原处理？再看看", reply_to="ap")
    filed = run(engine, at(18, 13), tmp_path)
    assert len(filed.appeals_filed) == 1 and filed.appeals_answered == []
    assert filed.decisions == []  # the appeal's "券" is not an ad: appeals are never evidence
    _say(engine, "r4", "adm", at(18, 14), "申诉成立，撤销这次移出", reply_to="ap")
    _say(engine, "r5", "boss", at(18, 14, 30), "维持原处理", reply_to="ap")  # too late: decided
    answered = run(engine, at(18, 15), tmp_path)
    (a,) = load_appeals(engine)
    assert answered.appeals_answered == [
        {"appeal_id": a.id, "state": "upheld", "by": "adm", "message_id": "r4", "recounted": []}
    ]
    assert (a.state, a.decided_at, a.decided_by) == ("upheld", at(18, 14), "adm")
    v3 = next(v for v in load_violations(engine) if v.id == vid(engine, "m3"))
    assert v3.revoked_at == at(18, 14)
    keys = {e.key for e in pending_entries(engine)}
    assert f"moderation:appeal:{a.id}:decision" in keys  # the member is told
    again = run(engine, at(18, 16), tmp_path)
    assert (again.appeals_filed, again.appeals_answered) == ([], [])


def test_a_rejecting_reply_by_the_owner(engine: sa.Engine, tmp_path: Path) -> None:
    seed(engine, LADDER[:1])
    run(engine, at(16, 11), tmp_path)
    _say(engine, "ap", "x", at(16, 12), "@老板 申诉：我只是转发", ["boss"])
    _say(engine, "rj", "boss", at(16, 15), "申诉驳回，维持原处理", reply_to="ap")
    result = run(engine, at(16, 16), tmp_path)  # filed and answered in one run
    (a,) = load_appeals(engine)
    assert [x["state"] for x in result.appeals_answered] == ["rejected"]
    assert (a.state, a.decided_by, a.decided_at) == ("rejected", "boss", at(16, 15))
    assert load_violations(engine)[0].revoked_at is None


def test_catch_up_runs_at_the_end_of_every_working_day() -> None:
    from groupops.moderation.run import catch_up_instants

    def d(month: int, day: int, hour: int = 18) -> datetime:
        return datetime(2026, month, day, hour, tzinfo=TZ)

    # National Day 2026: 10-01..10-07 off, Saturday 10-10 a make-up working day
    got = catch_up_instants(POLICY, d(9, 29, 10), d(10, 12, 11))
    assert got == [d(9, 29), d(9, 30), d(10, 8), d(10, 9), d(10, 10), d(10, 12, 11)]
    assert catch_up_instants(POLICY, d(9, 29, 19), d(9, 30, 9)) == [d(9, 30, 9)]
    assert catch_up_instants(POLICY, d(9, 30), d(9, 30)) == [d(9, 30)]
