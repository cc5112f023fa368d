"""The demo bundle from its seed: the chapters plant, the chatter fills in around them, ids are
given, the plan is checked, and the records are written (``python -m groupops.demo``).

``groups.jsonl``, ``members.jsonl``, ``memberships.jsonl``, ``messages.jsonl`` (canonical
format), ``roster.jsonl`` (the HR roster), ``meetings/*.md`` (regular meetings declared as files,
``GROUPOPS_MEETINGS_DIR``) and ``planted.json`` (what the rules must find). The output depends only on the seed:
same seed, same bytes. How a chapter adds plants and verdicts: docs/demo.md.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from groupops.canonical import FIELDS, Entity
from groupops.demo import chatter, company
from groupops.demo.builder import Builder, Msg
from groupops.demo.chapter import Chapter
from groupops.demo.chapters import CHAPTERS
from groupops.demo.check import check
from groupops.demo.expected import planted_record
from groupops.demo.period import DEFAULT_SEED, local
from groupops.demo.plants.meetings import declared_files


def assign_ids(b: Builder) -> None:
    """Message ids, in time order: ``{group}-00001`` … for the shared sequence (chatter and the
    founding plants), ``{group}-{chapter}-0001`` … for each chapter's own series."""
    b.messages.sort(key=lambda m: (m.at, m.seq))
    numbers: Counter[tuple[str | None, str]] = Counter()
    for msg in b.messages:
        numbers[(msg.series, msg.group_id)] += 1
        n = numbers[(msg.series, msg.group_id)]
        msg.message_id = (
            f"{msg.group_id}-{n:05d}"
            if msg.series is None
            else f"{msg.group_id}-{msg.series}-{n:04d}"
        )


def drop_contradicted_chatter(b: Builder) -> None:
    """Drop, whole, every chatter conversation a new plant's fact forbids (a member silenced,
    gone or not yet there); the ids it had stay unused, so no other id moves."""
    may = b.presence.can_post
    dropped = {
        m.conversation
        for m in b.messages
        if m.conversation is not None and not may(m.sender_id, m.group_id, m.at)
    }
    b.messages = [m for m in b.messages if m.conversation is None or m.conversation not in dropped]


def canonical(entity: Entity, values: Mapping[str, Any]) -> dict[str, Any]:
    """One record with the canonical columns in file order, on the company's platform."""
    full = {"platform": company.PLATFORM, **values}
    return {f.name: full[f.name] for f in FIELDS[entity]}


def message_values(msg: Msg, by_seq: dict[int, Msg]) -> dict[str, Any]:
    return {
        "group_id": msg.group_id,
        "message_id": msg.message_id,
        "sender_id": msg.sender_id,
        "sent_at": msg.at.isoformat(),
        "kind": msg.kind,
        "text": msg.text,
        "reply_to": by_seq[msg.reply_to].message_id if msg.reply_to is not None else None,
        "mentions": list(msg.mentions),
        "mention_all": msg.mention_all,
        "pinned": msg.pinned,
    }


def generate(
    seed: int = DEFAULT_SEED, chapters: Sequence[Chapter[Any]] = CHAPTERS
) -> dict[str, Any]:
    """The whole bundle, as records per file stem plus ``planted``."""
    b = Builder(seed)
    planted = [(chapter, chapter.plant(b.planter(chapter.name))) for chapter in chapters]
    chatter.chat(b)
    chatter.top_up_quiet_members(b)
    assign_ids(b)
    chatter.vary_repeats(b)
    drop_contradicted_chatter(b)
    check(b, chapters)
    by_seq = {m.seq: m for m in b.messages}
    memberships = sorted(b.memberships, key=lambda r: (r.group_id, r.at, r.member_id))
    return {
        "groups": [canonical("groups", dataclasses.asdict(g)) for g in company.GROUPS],
        "members": [canonical("members", dataclasses.asdict(p)) for p in company.PEOPLE],
        "memberships": [
            canonical("memberships", {**dataclasses.asdict(r), "at": r.at.isoformat()})
            for r in memberships
        ],
        "messages": [canonical("messages", message_values(m, by_seq)) for m in b.messages],
        "roster": roster_records(),
        "planted": planted_record(b, planted, seed),
    }


def roster_records() -> list[dict[str, Any]]:
    """The HR roster: every employee (partners are not on it), see ``scenario/roster.py``."""
    from groupops.demo.scenario import roster

    people = company.PEOPLE_BY_ID
    out = []
    employees = [p for p in company.PEOPLE if p.department not in roster.PARTNER_DEPARTMENTS]
    for n, person in enumerate(employees, start=1):
        department, departed = person.department, None
        if person.member_id in roster.DEPARTED:
            department, day = roster.DEPARTED[person.member_id]
            departed = local(day + " 00:00").date().isoformat()
        head = people[roster.DEPARTMENT_HEADS[department]].email
        by_id = person.member_id in roster.BY_PLATFORM_ID
        out.append(
            canonical(
                "roster",
                {
                    "employee_id": f"E{n:04d}",
                    "real_name": person.real_name or roster.HR_REAL_NAMES[person.member_id],
                    "department": department,
                    "status": "departed" if departed else "active",
                    "email": None if by_id else person.email,
                    "department_head_email": head,
                    "member_ids": [f"{company.PLATFORM}:{person.member_id}"] if by_id else [],
                    "departed_at": departed,
                },
            )
        )
    return out


def write_bundle(out: Path, seed: int = DEFAULT_SEED) -> dict[str, int]:
    """Write the bundle into ``out``; returns the number of records per file."""
    out.mkdir(parents=True, exist_ok=True)
    data = generate(seed)
    counts = {}
    for stem, records in data.items():
        if stem == "planted":
            text = json.dumps(records, ensure_ascii=False, indent=2) + "\n"
            (out / "planted.json").write_text(text, encoding="utf-8")
            continue
        lines = (json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        (out / f"{stem}.jsonl").write_text("".join(lines), encoding="utf-8")
        counts[stem] = len(records)
    declared = out / "meetings"
    declared.mkdir(exist_ok=True)
    for name, text in declared_files().items():
        (declared / name).write_text(text, encoding="utf-8")
    counts["meetings"] = len(declared_files())
    return counts
