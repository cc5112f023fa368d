"""A source that does not know a field never erases it (data loss found by the 1M bench):
an export or a platform pull states only the fields it carries, so the roster's emails and a
group's owner and admins survive a later Telegram export or API pull; a canonical bundle states
every field, so its ``null`` clears one. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from groupops.canonical import RawRecord, unstated_fields
from groupops.connectors.base import Pull, Watermark
from groupops.db.models import Group, Member
from groupops.importers import open_source
from groupops.ingest import run_ingest
from groupops.ingest.bundle import open_bundle
from groupops.policy import Policy
from tests.bundles import jsonl

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
CHAT = "1700000001"

GROUP = {"platform": "telegram", "group_id": CHAT, "name": "产品运营群", "category": "product",
         "owner_id": "user1001", "admin_ids": ["user1001", "user1002"]}  # fmt: skip
MEMBERS = [
    {"platform": "telegram", "member_id": "user1001", "display_name": "张三",
     "real_name": "张三", "department": "产品部", "email": "zhangsan@example.com"},
    {"platform": "telegram", "member_id": "user1002", "display_name": "李四",
     "real_name": "李四", "department": "市场部", "email": "lisi@example.com"},
]  # fmt: skip


def _bundle(folder: Path, group: dict[str, Any], members: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "groups.jsonl").write_text(jsonl([group]), encoding="utf-8")
    (folder / "members.jsonl").write_text(jsonl(members), encoding="utf-8")
    return folder


def _export(folder: Path) -> Path:
    """A Telegram Desktop export of the same chat: names and messages, no email, no owner."""
    folder.mkdir(parents=True, exist_ok=True)
    messages = [
        {"id": 1, "type": "message", "date": "2026-11-02T09:01:00", "from": "张三",
         "from_id": "user1001", "text": "大家好，本周例会改到周三"},
        {"id": 2, "type": "message", "date": "2026-11-02T09:02:00", "from": "李四",
         "from_id": "user1002", "reply_to_message_id": 1, "text": "收到"},
    ]  # fmt: skip
    path = folder / "result.json"
    document = {"name": "产品运营群", "type": "private_supergroup", "id": int(CHAT)}
    path.write_text(json.dumps(document | {"messages": messages}, ensure_ascii=False), "utf-8")
    return path


def _stored(engine: sa.Engine) -> tuple[tuple[Any, ...], dict[str, tuple[Any, ...]]]:
    with engine.connect() as conn:
        group = conn.execute(
            sa.select(Group.name, Group.category, Group.owner_id, Group.admin_ids)
        ).one()
        rows = conn.execute(
            sa.select(Member.member_id, Member.display_name, Member.real_name,
                      Member.department, Member.email)
        ).all()  # fmt: skip
    members = {r[0]: tuple(r[1:]) for r in rows}
    return tuple(group), members


ROSTER_GROUP = ("产品运营群", "product", "user1001", ["user1001", "user1002"])
ROSTER_MEMBERS = {
    "user1001": ("张三", "张三", "产品部", "zhangsan@example.com"),
    "user1002": ("李四", "李四", "市场部", "lisi@example.com"),
}


def test_an_export_after_the_roster_keeps_emails_owner_and_admins(
    engine: sa.Engine, tmp_path: Path
) -> None:
    run_ingest(open_bundle(_bundle(tmp_path / "roster", GROUP, MEMBERS)), engine, Policy(), now=NOW)
    assert _stored(engine) == (ROSTER_GROUP, ROSTER_MEMBERS)

    export, fmt = open_source(_export(tmp_path / "export"))
    assert fmt == "telegram"
    first = run_ingest(export, engine, Policy(), now=NOW)
    assert first.total("loaded") == 2  # the two messages; group and members only updated
    assert _stored(engine) == (ROSTER_GROUP, ROSTER_MEMBERS)

    again, _ = open_source(_export(tmp_path / "export"))
    second = run_ingest(again, engine, Policy(), now=NOW)
    assert (second.total("loaded"), second.total("updated")) == (0, 0)
    assert _stored(engine) == (ROSTER_GROUP, ROSTER_MEMBERS)


def test_what_an_export_states_still_updates(engine: sa.Engine, tmp_path: Path) -> None:
    """The export renamed the group: the name changes, the owner and admins stay."""
    run_ingest(open_bundle(_bundle(tmp_path / "roster", GROUP, MEMBERS)), engine, Policy(), now=NOW)
    path = _export(tmp_path / "export")
    document = json.loads(path.read_text("utf-8")) | {"name": "产品运营群（新）"}
    path.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    run_ingest(open_source(path)[0], engine, Policy(), now=NOW)
    assert _stored(engine)[0] == ("产品运营群（新）", *ROSTER_GROUP[1:])


def test_a_pull_without_emails_keeps_them(engine: sa.Engine, tmp_path: Path) -> None:
    run_ingest(open_bundle(_bundle(tmp_path / "roster", GROUP, MEMBERS)), engine, Policy(), now=NOW)
    pull = Pull("telegram", CHAT, Watermark())
    for m in MEMBERS:
        pull.add("members", "api", m, {"platform": "telegram", "member_id": m["member_id"],
                                       "display_name": m["display_name"], "email": None})  # fmt: skip
    run_ingest(pull, engine, Policy(), now=NOW)
    assert _stored(engine)[1] == ROSTER_MEMBERS


def test_a_canonical_bundle_states_every_field_so_null_clears(
    engine: sa.Engine, tmp_path: Path
) -> None:
    run_ingest(open_bundle(_bundle(tmp_path / "a", GROUP, MEMBERS)), engine, Policy(), now=NOW)
    cleared = [MEMBERS[0] | {"email": None}, {k: v for k, v in MEMBERS[1].items() if k != "email"}]
    run_ingest(open_bundle(_bundle(tmp_path / "b", GROUP, cleared)), engine, Policy(), now=NOW)
    members = _stored(engine)[1]
    assert members["user1001"][3] is None
    assert members["user1002"][3] is None


@pytest.mark.parametrize(
    ("partial", "data", "unstated"),
    [
        (False, {"platform": "p", "member_id": "m", "display_name": "d"}, ()),
        (True, {"platform": "p", "member_id": "m", "display_name": "d"},
         ("real_name", "department", "email")),
        (True, {"platform": "p", "member_id": "m", "display_name": "d", "email": None,
                "department": "产品部"}, ("real_name", "email")),
        (True, {"platform": "p", "member_id": "m", "display_name": "d", "real_name": "张三",
                "department": "产品部", "email": "a@b.cn"}, ()),
    ],
)  # fmt: skip
def test_unstated_fields(partial: bool, data: dict[str, Any], unstated: tuple[str, ...]) -> None:
    record = RawRecord("members", "src", 1, "{}", data=data, partial=partial)
    assert unstated_fields("members", record) == unstated
