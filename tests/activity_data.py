"""A seeded, small canonical bundle of three groups for the statistics CLI and digest tests:
owner u01 has two groups (proj, mkt), owner u05 one (prod). Messages run from 2026-10-19 to
2026-11-22 (local, Asia/Shanghai); in the week 2026-11-16..23 u11 joins proj and u12 leaves mkt.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")

GROUPS = [
    {"platform": "wecom", "group_id": "proj", "name": "项目运营群", "category": "project",
     "owner_id": "u01", "admin_ids": ["u02"]},
    {"platform": "wecom", "group_id": "mkt", "name": "市场运营群", "category": "marketing",
     "owner_id": "u01", "admin_ids": ["u03", "u04"]},
    {"platform": "wecom", "group_id": "prod", "name": "产品运营群", "category": "product",
     "owner_id": "u05", "admin_ids": ["u06"]},
]  # fmt: skip
NAMES = [
    "王强",
    "李娜",
    "张伟",
    "刘洋",
    "陈静",
    "杨帆",
    "赵磊",
    "黄敏",
    "周杰",
    "吴婷",
    "徐斌",
    "孙悦",
]
MEMBERS = [
    {"platform": "wecom", "member_id": f"u{i:02d}", "display_name": name, "real_name": name,
     "department": ["运营部", "市场部", "产品部"][i % 3],
     "email": None if i == 9 else f"u{i:02d}@example.com"}
    for i, name in enumerate(NAMES, start=1)
]  # fmt: skip
ROSTER = {
    "proj": ["u01", "u02", "u07", "u08", "u09", "u10"],
    "mkt": ["u01", "u03", "u04", "u08", "u12"],
    "prod": ["u05", "u06", "u07", "u10"],
}


def _at(text: str) -> str:
    return datetime.fromisoformat(text).replace(tzinfo=TZ).isoformat()


def memberships() -> list[dict[str, Any]]:
    rows = [
        {"platform": "wecom", "group_id": g, "member_id": m, "event": "join",
         "at": _at("2026-10-01T09:00:00"), "approved_by": None, "reason": None}
        for g, members in ROSTER.items() for m in members
    ]  # fmt: skip
    rows.append({"platform": "wecom", "group_id": "proj", "member_id": "u11", "event": "join",
                 "at": _at("2026-11-17T10:00:00"), "approved_by": "u02", "reason": None})  # fmt: skip
    rows.append({"platform": "wecom", "group_id": "mkt", "member_id": "u12", "event": "leave",
                 "at": _at("2026-11-19T18:00:00"), "approved_by": None, "reason": "调岗"})  # fmt: skip
    return rows


def messages(seed: int = 7, count: int = 900) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(2026, 10, 19, tzinfo=TZ)
    out: list[dict[str, Any]] = []
    talkers = {g: [m for m in ms if m not in ("u09",)] for g, ms in ROSTER.items()}  # u09 silent
    for n in range(count):
        group = rng.choice(list(ROSTER))
        sender = rng.choice(talkers[group])
        when = start + timedelta(
            days=rng.randrange(35), hours=rng.choice([9, 10, 11, 14, 15, 16, 17, 20]),
            minutes=rng.randrange(60), seconds=rng.randrange(60),
        )  # fmt: skip
        others = [m for m in ROSTER[group] if m != sender]
        mentions = [rng.choice(others)] if rng.random() < 0.2 else []
        reply_to = out[-1]["message_id"] if out and rng.random() < 0.1 else None
        out.append({
            "platform": "wecom", "group_id": group, "message_id": f"m{n:05d}",
            "sender_id": sender, "sent_at": when.isoformat(), "kind": "text",
            "text": f"第{n}条工作消息", "reply_to": reply_to, "mentions": mentions,
            "mention_all": False, "pinned": False,
        })  # fmt: skip
    if any(m["sender_id"] == "u11" for m in out):
        raise AssertionError("u11 only joins; it must not write")
    return out


def write_bundle(folder: Path, *, seed: int = 7, count: int = 900) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("groups", GROUPS), ("members", MEMBERS), ("memberships", memberships()),
                       ("messages", messages(seed, count))):  # fmt: skip
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        (folder / f"{name}.jsonl").write_text(text, encoding="utf-8")
    return folder


def load_into(engine: Any, folder: Path) -> None:
    from groupops.ingest.bundle import open_bundle
    from groupops.ingest.pipeline import run_ingest
    from groupops.policy import Policy

    summary = run_ingest(
        open_bundle(folder), engine, Policy(), now=datetime(2026, 11, 24, tzinfo=TZ)
    )
    assert summary.exit_code == 0, summary
