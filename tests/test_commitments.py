"""A task's deadline as asked and as committed: the reminder names the deadline the requester
asked for (in their words) beside the assignee's own commitment, and a commitment later than
the asked deadline is told to the requester, once."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.policy import default as default_policy
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from groupops.db import session_scope
from groupops.db.models import Group, Member, Message
from groupops.deadlines.reminders import load_obligations, load_reminders, send_reminders
from groupops.mail import pending_entries
from groupops.policy import Policy

TZ = ZoneInfo("Asia/Shanghai")
POLICY = Policy()
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def at(d: int, h: int, mi: int = 0) -> datetime:
    return datetime(2026, 11, d, h, mi, tzinfo=TZ)


def seed(engine: sa.Engine, commitment: str) -> None:
    """王磊 asks 李浩 on Tue 11-10 for a task 下周一前 (11-16); 李浩 answers ``commitment``."""
    with session_scope(engine) as s:
        s.add(Group(platform="wecom", group_id="g1", name="项目运营群", owner_id="boss",
                    admin_ids=["adm"], content_hash=0, updated_at=NOW))  # fmt: skip
        for mid, real in [("wl", "王磊"), ("lh", "李浩"), ("adm", "管理员"), ("boss", "老板")]:
            s.add(Member(platform="wecom", member_id=mid, display_name=mid, real_name=real,
                         email=f"{mid}@example.com", content_hash=0, updated_at=NOW))  # fmt: skip
        s.flush()
        s.add(Message(platform="wecom", group_id="g1", message_id="t1", sender_id="wl",
                      sent_at=at(10, 10), kind="text", text="【任务】@李浩 整理报价单，下周一前给我",
                      mentions=["lh"], content_hash=0, updated_at=NOW))  # fmt: skip
        s.add(Message(platform="wecom", group_id="g1", message_id="a1", sender_id="lh",
                      sent_at=at(10, 11), kind="text", text=commitment, reply_to="t1",
                      mentions=[], content_hash=0, updated_at=NOW))  # fmt: skip


def _texts(engine: sa.Engine) -> dict[str, tuple[list[str], str, str]]:
    out = {}
    for e in pending_entries(engine):
        msg = email.message_from_bytes(e.eml_path.read_bytes(), policy=default_policy)
        body = msg.get_body(("plain",))
        assert body is not None
        out[e.key] = (e.recipients, str(msg["Subject"]), body.get_content())
    return out


def test_a_later_commitment_is_told_to_the_requester_and_named_in_the_reminder(
    engine: sa.Engine, tmp_path: Path
) -> None:
    seed(engine, "收到，11月24日前完成")
    outbox = tmp_path / "outbox"
    ob = load_obligations(engine, POLICY, at(11, 10))
    [done] = ob.items[ob.items["kind"] == "task_done"].to_dict(orient="records")
    assert done["asked_due_at"] == at(16, 18) and done["committed_due_at"] == at(24, 18)
    assert done["due_at"] == at(24, 18) and done["deadline_words"] == "下周一前"

    sent = send_reminders(engine, ob, POLICY, sender="g@example.com", outbox_dir=outbox,
                          now=at(11, 10))  # fmt: skip
    assert [(s.key.split(":")[0], s.recipients) for s in sent] == [("commitment", ["wl"])]
    [(to, subject, text)] = _texts(engine).values()
    assert to == ["wl@example.com"]
    assert "李浩" in subject and "11月24日 18:00" in subject and "11月16日 18:00" in subject
    # 11-17 … 11-24: six working days later than asked.
    assert "晚 6 个工作日" in text and "“下周一前”" in text
    # Told once.
    again = load_obligations(engine, POLICY, at(12, 10))
    assert send_reminders(engine, again, POLICY, sender="g@example.com", outbox_dir=outbox,
                          now=at(12, 10)) == []  # fmt: skip
    assert list(load_reminders(engine)["kind"]) == ["commitment"]

    # The reminder to 李浩 names 王磊's deadline as asked and his own commitment as his.
    late = load_obligations(engine, POLICY, at(23, 17))
    sent = send_reminders(engine, late, POLICY, sender="g@example.com", outbox_dir=outbox,
                          now=at(23, 17))  # fmt: skip
    assert [(s.step, s.recipients) for s in sent] == [(0, ["lh"])]
    reminder = next(v for k, v in _texts(engine).items() if k.startswith("deadline:task_done"))
    text = reminder[2]
    assert "王磊在群“项目运营群”中请您于 11月16日 18:00 前完成任务并回报" in text
    assert "您承诺的时间是 11月24日 18:00" in text
    assert "要求时间: 11月16日 18:00" in text and "承诺时间: 11月24日 18:00" in text

    # Past the commitment, the admins hear whose deadline was missed.
    overdue = load_obligations(engine, POLICY, at(25, 10))
    send_reminders(engine, overdue, POLICY, sender="g@example.com", outbox_dir=outbox,
                   now=at(25, 10))  # fmt: skip
    notice = next(v for k, v in _texts(engine).items() if k.endswith(":step1"))
    assert notice[0] == ["adm@example.com"]
    assert (
        "李浩未在自己承诺的 11月24日 18:00 前完成任务并回报（王磊要求的是 11月16日 18:00）"
        in notice[2]
    )
    assert "已逾期 1 工作小时" in notice[2]


def test_a_commitment_within_the_asked_deadline_tells_nobody(
    engine: sa.Engine, tmp_path: Path
) -> None:
    seed(engine, "收到，周五前完成")
    ob = load_obligations(engine, POLICY, at(11, 10))
    [done] = ob.items[ob.items["kind"] == "task_done"].to_dict(orient="records")
    assert done["committed_due_at"] == at(13, 18) and done["asked_due_at"] == at(16, 18)
    sent = send_reminders(engine, ob, POLICY, sender="g@example.com",
                          outbox_dir=tmp_path / "outbox", now=at(11, 10))  # fmt: skip
    assert sent == []
