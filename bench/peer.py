"""groupops against chat-analytics, each as a whole process, on one generated Telegram Desktop
export (``make bench`` runs it; ``python -m bench.peer --messages 200000`` alone).

* **The export**: ``result.json`` in Telegram Desktop's single-chat shape (what ``Export chat
  history`` writes, as in chat-analytics' own test samples): a supergroup, ``--members``
  people, text (plain, or entity lists with mentions), replies, photos, files and stickers,
  over ``--days`` days ending well in the past (groupops quarantines instants in the future).
  Seeded: the same bytes every run.
* **groupops**, as a manager uses it, one command (one process) per step, on a fresh SQLite
  store: ``ingest`` the group's roster (owner, admins, emails: a small canonical bundle, so
  digests have recipients), ``ingest`` the export, ``stats`` for the export's last complete
  week, ``digest --period week`` (rendered into the outbox with its charts).
* **chat-analytics** (npm, installed under ``bench/out/peer`` on first use): its CLI builds
  its HTML report from the same file. Without npm the comparison is skipped, and says so.

Each command runs under :mod:`bench.measure` (wall time, CPU time, peak memory including
child processes); the ratio compares groupops' summed wall time with chat-analytics'.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import orjson

from bench.measure import measure

OUT = Path("bench/out")
PEER_DIR = OUT / "peer"
CHAT_ANALYTICS = "chat-analytics@1.1.2"  # the version NOTES.md measured
#: The export's last day: fixed (reproducible bytes) and in the past.
END = datetime(2026, 10, 31, 18, 0, tzinfo=UTC)
GROUP_ID = 1447892104
WORDS = ["活动方案", "数据日报", "需求评审", "版本发布", "渠道投放", "用户反馈", "周报", "排期",
         "预算", "复盘", "请确认", "已更新", "需要跟进", "明天同步", "今天完成", "收到"]  # fmt: skip


def generate_export(out: Path, *, messages: int, members: int, days: int, seed: int = 11) -> Path:
    """``out/result.json`` (cached: regenerated only when missing)."""
    path = out / "result.json"
    if path.exists():
        return path
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    start = END - timedelta(days=days)
    # Working-hours-ish instants, increasing (Telegram exports are in order).
    offsets = np.sort(rng.integers(0, days * 86_400, messages))
    senders = rng.zipf(1.3, messages) % members
    kinds = rng.choice(["text", "text", "text", "text", "entities", "photo", "file", "sticker"],
                       messages)  # fmt: skip
    words = rng.integers(0, len(WORDS), (messages, 3))
    reply = rng.random(messages) < 0.15
    mention = rng.integers(0, members, messages)
    items: list[dict[str, Any]] = []
    for i in range(messages):
        when = start + timedelta(seconds=int(offsets[i]))
        sender = int(senders[i])
        text = "".join(WORDS[w] for w in words[i])
        item: dict[str, Any] = {
            "id": i + 1,
            "type": "message",
            "date": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "date_unixtime": str(int(when.timestamp())),
            "from": f"成员{sender:03d}",
            "from_id": f"user{100_000 + sender}",
        }
        if reply[i] and i > 10:
            item["reply_to_message_id"] = int(i - rng.integers(1, 10))
        kind = kinds[i]
        if kind == "entities":
            target = int(mention[i])
            item["text"] = [{"type": "mention_name", "text": f"成员{target:03d}",
                             "user_id": 100_000 + target}, f" {text}"]  # fmt: skip
            item["text_entities"] = [{"type": "mention_name", "text": f"成员{target:03d}",
                                      "user_id": 100_000 + target},
                                     {"type": "plain", "text": f" {text}"}]  # fmt: skip
        else:
            item["text"] = "" if kind in ("photo", "sticker") else text
            item["text_entities"] = (
                [{"type": "plain", "text": item["text"]}] if item["text"] else []
            )
        if kind == "photo":
            item.update(photo="photos/photo@01-01-2026.jpg", width=1280, height=720)
        elif kind == "file":
            item.update(file="files/周报.xlsx", mime_type="application/vnd.ms-excel")
        elif kind == "sticker":
            item.update(file="stickers/sticker.webp", media_type="sticker", sticker_emoji="👍")
        items.append(item)
    doc = {"name": "运营群", "type": "private_supergroup", "id": GROUP_ID, "messages": items}
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    return path


def write_roster(out: Path, *, members: int) -> Path:
    """The group's owner and admins and every member's email, as a canonical bundle."""
    roster = out / "roster"
    roster.mkdir(parents=True, exist_ok=True)
    group = {"platform": "telegram", "group_id": str(GROUP_ID), "name": "运营群",
             "category": "project", "owner_id": "user100000",
             "admin_ids": ["user100001", "user100002"]}  # fmt: skip
    (roster / "groups.jsonl").write_bytes(orjson.dumps(group) + b"\n")
    lines = [
        orjson.dumps({"platform": "telegram", "member_id": f"user{100_000 + m}",
                      "display_name": f"成员{m:03d}", "email": f"m{m:03d}@example.com"})
        for m in range(members)
    ]  # fmt: skip
    (roster / "members.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    return roster


def last_week(end: datetime = END) -> tuple[str, str, str]:
    """(since, until, as_of) of the export's last complete ISO week in the policy's zone."""
    local = end.astimezone(ZoneInfo("Asia/Shanghai")).date()
    monday = local - timedelta(days=local.weekday())  # the week holding the end: incomplete
    since = monday - timedelta(days=7)
    return since.isoformat(), monday.isoformat(), f"{monday.isoformat()}T09:00"


def run_groupops(export: Path, roster: Path, work: Path, expected_messages: int) -> dict[str, Any]:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    env = {**os.environ, "GROUPOPS_DATABASE_URL": f"sqlite:///{work / 'store.db'}",
           "GROUPOPS_OUTBOX_DIR": str(work / "outbox"),
           # A 200k-message result.json is ~77 MB; groupops reads a whole document only up to
           # 64 MiB unless told (its refusal names this setting).
           "GROUPOPS_MAX_DOCUMENT_BYTES": str(max(64 << 20, 2 * export.stat().st_size))}  # fmt: skip
    env.pop("PREFECT_API_URL", None)  # in process, as a manager runs it
    groupops = str(Path(sys.executable).with_name("groupops"))
    since, until, as_of = last_week()
    # The export first, then the roster: an export names no owner, admins or emails, and
    # ingesting it after the roster replaces what the roster stored (a known gap), which
    # would leave the digest without recipients.
    steps = {
        "ingest": [groupops, "ingest", str(export), "--json"],
        "roster": [groupops, "ingest", str(roster), "--json"],
        "stats": [groupops, "stats", "--since", since, "--until", until, "--json"],
        "digest": [groupops, "digest", "--period", "week", "--as-of", as_of],
    }
    result: dict[str, Any] = {}
    for name, command in steps.items():
        result[name] = measure(command, env=env, stdout=work / f"{name}.out")
    ingest = json.loads((work / "ingest.out").read_text(encoding="utf-8"))
    stats = json.loads((work / "stats.out").read_text(encoding="utf-8"))
    result["loaded"] = ingest["loaded"]
    result["quarantined"] = ingest["quarantined"]
    result["document_limit_bytes"] = int(env["GROUPOPS_MAX_DOCUMENT_BYTES"])
    stored = ingest["entities"]["messages"]["loaded"] + ingest["entities"]["messages"]["unchanged"]
    if stored < expected_messages:  # a refused or half-read export is no comparison
        raise RuntimeError(
            f"groupops stored {stored:,} of the export's {expected_messages:,} messages: "
            f"{work / 'ingest.out'}"
        )
    result["week_messages"] = sum(g["messages"] for g in stats["groups"])
    result["digests"] = len(list((work / "outbox").glob("*.eml")))
    if not result["digests"]:  # a digest step that rendered nothing is no comparison
        raise RuntimeError(f"groupops digest rendered no email: {work / 'digest.out'}")
    return result


def install_chat_analytics() -> Path | None:
    """The chat-analytics CLI (npm install on first use); ``None`` without npm."""
    binary = PEER_DIR / "node_modules" / ".bin" / "chat-analytics"
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        return None
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(PEER_DIR),
                    CHAT_ANALYTICS], check=True, capture_output=True)  # fmt: skip
    return binary


def run_chat_analytics(binary: Path, export: Path, work: Path) -> dict[str, Any]:
    report = work / "chat-analytics.html"
    out = measure([str(binary), "-p", "telegram", "-i", str(export), "-o", str(report)])
    out["report_bytes"] = report.stat().st_size
    return out


def compare(messages: int, members: int = 120, days: int = 120) -> dict[str, Any]:
    """Generate (cached), run both, and the verdict."""
    folder = OUT / f"telegram-{messages}"
    export = generate_export(folder, messages=messages, members=members, days=days)
    roster = write_roster(folder, members=members)
    result: dict[str, Any] = {"messages": messages, "members": members, "days": days,
                              "export_mb": round(export.stat().st_size / 2**20, 1)}  # fmt: skip
    result["groupops"] = run_groupops(export, roster, folder / "groupops", messages)
    steps = ("roster", "ingest", "stats", "digest")
    ours = sum(result["groupops"][s]["seconds"] for s in steps)
    ours_peak = max(result["groupops"][s]["peak_mb"] for s in steps)
    result["groupops_seconds"] = ours
    result["groupops_peak_mb"] = ours_peak
    binary = install_chat_analytics()
    if binary is None:
        result["chat_analytics"] = None
        result["skipped"] = "npm is not installed: chat-analytics was not run"
        return result
    peer = run_chat_analytics(binary, export, folder)
    result["chat_analytics"] = peer
    result["ratio"] = peer["seconds"] / ours
    result["faster"] = ours < peer["seconds"]
    result["less_memory"] = ours_peak < peer["peak_mb"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    args = parser.parse_args()
    print(json.dumps(compare(args.messages), indent=2))


if __name__ == "__main__":
    main()
