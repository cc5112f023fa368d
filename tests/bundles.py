"""Small canonical bundles written by the tests themselves (see docs/formats.md)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

GROUPS = [
    {
        "platform": "wecom",
        "group_id": "proj",
        "name": "项目运营群",
        "category": "project",
        "owner_id": "u1",
        "admin_ids": ["u2"],
    },
    {
        "platform": "wecom",
        "group_id": "mkt",
        "name": "市场运营群",
        "category": "marketing",
        "owner_id": "u1",
        "admin_ids": [],
    },
]
MEMBERS = [
    {
        "platform": "wecom",
        "member_id": "u1",
        "display_name": "老王",
        "real_name": "王强",
        "department": "运营部",
        "email": "wang@example.com",
    },
    {
        "platform": "wecom",
        "member_id": "u2",
        "display_name": "李娜",
        "real_name": "李娜",
        "department": "项目部",
        "email": "li@example.com",
    },
    {
        "platform": "wecom",
        "member_id": "u3",
        "display_name": "小张",
        "real_name": None,
        "department": "市场部",
        "email": None,
    },
]
MEMBERSHIPS = [
    {
        "platform": "wecom",
        "group_id": "proj",
        "member_id": "u2",
        "event": "join",
        "at": "2026-10-01T10:00:00+08:00",
        "approved_by": "u1",
        "reason": None,
    },
    {
        "platform": "wecom",
        "group_id": "proj",
        "member_id": "u3",
        "event": "join",
        "at": "2026-10-02T10:00:00+08:00",
        "approved_by": None,
        "reason": None,
    },
]


def message(n: int, group: str = "proj", sender: str = "u1", **extra: Any) -> dict[str, Any]:
    return {
        "platform": "wecom",
        "group_id": group,
        "message_id": f"m{n}",
        "sender_id": sender,
        "sent_at": f"2026-11-02T09:{n % 60:02d}:00+08:00",
        "kind": "text",
        "text": f"第{n}条消息",
        "reply_to": None,
        "mentions": [],
        "mention_all": False,
        "pinned": False,
        **extra,
    }


MESSAGES = [
    message(1, text="【任务】@李娜 周五前提交活动方案", mentions=["u2"]),
    message(2, sender="u2", text="收到", reply_to="m1"),
    message(3, group="mkt", sender="u3", kind="image", text=""),
    message(4, text="【通知】下周一例会", mention_all=True, pinned=True),
]


def jsonl(rows: Iterable[Mapping[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def write_bundle(
    folder: Path,
    *,
    messages: Iterable[Mapping[str, Any]] = MESSAGES,
    extra_message_lines: Iterable[str] = (),
    encoding: str = "utf-8",
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "groups.jsonl").write_text(jsonl(GROUPS), encoding=encoding)
    (folder / "members.jsonl").write_text(jsonl(MEMBERS), encoding=encoding)
    (folder / "memberships.jsonl").write_text(jsonl(MEMBERSHIPS), encoding=encoding)
    text = jsonl(messages) + "".join(line + "\n" for line in extra_message_lines)
    (folder / "messages.jsonl").write_text(text, encoding=encoding)
    return folder


def write_csv(
    path: Path,
    rows: Iterable[Mapping[str, Any]],
    *,
    encoding: str = "utf-8",
    drop: Iterable[str] = (),
) -> Path:
    rows = list(rows)
    columns = [c for c in rows[0] if c not in set(drop)]
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for r in rows:
            cells = []
            for c in columns:
                v = r.get(c)
                if isinstance(v, list):
                    v = ";".join(v)
                elif isinstance(v, bool):
                    v = "true" if v else "false"
                cells.append("" if v is None else v)
            writer.writerow(cells)
    return path


def dated_message(
    mid: str, day: str, text: str, *, group: str = "proj", sender: str = "u2", **extra: Any
) -> dict[str, Any]:
    """A canonical wecom message of November 2026 (``day``: ``"11-02 10:00"``, Shanghai time)
    in one of :data:`GROUPS`; ``extra`` overrides any field (``pinned=True``, ``kind=...``)."""
    return {
        "platform": "wecom", "group_id": group, "message_id": mid, "sender_id": sender,
        "sent_at": f"2026-{day.replace(' ', 'T')}:00+08:00", "kind": "text", "text": text,
        "reply_to": None, "mentions": [], "mention_all": False, "pinned": False, **extra,
    }  # fmt: skip
