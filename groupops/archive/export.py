"""The archive register as records, and exported for a group and a month
(``groupops archive list`` / ``groupops archive export``): Markdown a person reads (date,
sender's real name, text, why archived), JSON Lines, or Parquet."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from groupops.archive.store import ArchivedMessage, load_register
from groupops.policy import Policy
from groupops.roster import Directory

FORMATS = ("md", "jsonl", "parquet")

#: How the register's rules read in the Markdown export.
RULE_LABELS = {
    "pinned": "pinned (置顶)",
    "mention_all_by_admin": "@all by the owner or an admin",
    "importance_marker": "importance marker (【重要】/【决议】…)",
    "meeting_minutes": "meeting minutes (会议纪要)",
    "task": "task (任务)",
    "task_completion": "task completion report",
    "violation_evidence": "violation evidence",
}


def month_range(month: str, policy: Policy) -> tuple[datetime, datetime]:
    """``YYYY-MM`` → [first instant, first instant of the next month) in the policy zone."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", month.strip())
    if m is None or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"month {month!r}: expected YYYY-MM")
    first = date(int(m.group(1)), int(m.group(2)), 1)
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    tz = policy.tz
    return (
        datetime(first.year, first.month, 1, tzinfo=tz),
        datetime(nxt.year, nxt.month, 1, tzinfo=tz),
    )


def register_records(
    entries: Sequence[ArchivedMessage], directory: Directory, policy: Policy
) -> list[dict[str, Any]]:
    """The register as ``groupops archive list --json`` prints it (local ISO times)."""
    tz = policy.tz
    return [
        {
            "platform": e.platform, "group_id": e.group_id, "message_id": e.message_id,
            "sender_id": e.sender_id, "sender": directory.name(e.platform, e.sender_id),
            "sent_at": e.sent_at.astimezone(tz).isoformat(), "text": e.text,
            "rules": list(e.rules), "archived_by": e.archived_by,
            "archived_at": e.archived_at.astimezone(tz).isoformat(), "run_id": e.run_id,
        }
        for e in entries
    ]  # fmt: skip


def load_records(
    engine: sa.Engine,
    policy: Policy,
    *,
    groups: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    entries = load_register(engine, groups=groups, since=since, until=until)
    return register_records(entries, Directory.load(engine), policy)


def markdown(records: Sequence[dict[str, Any]], *, title: str) -> str:
    lines = [f"# {title}", ""]
    if not records:
        return "\n".join([*lines, "Nothing archived.", ""])
    day = None
    for r in records:
        sent = datetime.fromisoformat(r["sent_at"])
        if sent.date() != day:
            day = sent.date()
            lines += [f"## {day.isoformat()}", ""]
        why = "; ".join(RULE_LABELS.get(rule, rule) for rule in r["rules"])
        text = str(r["text"]).replace("\n", "\n  ")
        lines += [f"- **{sent:%H:%M}** {r['sender']}: {text}", f"  _archived: {why}_", ""]
    return "\n".join(lines)


def export(
    engine: sa.Engine,
    policy: Policy,
    *,
    group: str,
    month: str,
    fmt: str,
    out: Path | None = None,
) -> tuple[str | None, int]:
    """Export the register of ``group`` for ``month``: (the text for md/jsonl when ``out`` is
    None, else None; how many messages). Parquet always writes ``out``."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: one of {', '.join(FORMATS)}")
    since, until = month_range(month, policy)
    records = load_records(engine, policy, groups=[group], since=since, until=until)
    if fmt == "parquet":
        if out is None:
            raise ValueError("parquet needs a file (--out)")
        import pandas as pd  # here: `archive list` reads the register without pandas

        frame = pd.DataFrame.from_records(
            records,
            columns=["platform", "group_id", "message_id", "sender_id", "sender", "sent_at",
                     "text", "rules", "archived_by", "archived_at", "run_id"],
        )  # fmt: skip
        frame["sent_at"] = pd.to_datetime(frame["sent_at"], format="ISO8601")
        frame["archived_at"] = pd.to_datetime(frame["archived_at"], format="ISO8601")
        frame.to_parquet(out, index=False)
        return None, len(records)
    if fmt == "jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    else:
        from groupops.db.queries import load_groups  # pandas and pyarrow: only for the title

        groups = load_groups(engine)
        named = groups[groups["group_id"] == group]["name"].tolist()
        text = markdown(records, title=f"{named[0] if named else group} — {month}")
    if out is not None:
        out.write_text(text, encoding="utf-8")
        return None, len(records)
    return text, len(records)
