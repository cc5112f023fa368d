"""Importer throughput and peak memory on generated exports of each format.

    python -m bench.importers [--messages N] [--formats whatsapp,telegram,...]

Each format's export is generated once per size under ``bench/out/exports/`` (gitignored),
then read in its own process through every entity, as ingest reads it (no store involved:
this measures the importer alone; ``bench.run`` measures ingest).
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

OUT = Path("bench/out/exports")
FORMATS = ("whatsapp", "telegram", "slack", "discord", "wechat-csv")
START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
NAMES = [f"成员{i:03d}" if i % 2 else f"Member {i:03d}" for i in range(60)]


def _when(i: int) -> datetime:
    return START + timedelta(seconds=37 * i)


def generate(fmt: str, n: int) -> Path:
    """A synthetic export of ``n`` messages (cached by format and size)."""
    folder = OUT / f"{fmt}-{n}"
    done = folder / ".done"
    if done.exists():
        return _entry(fmt, folder)
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "whatsapp":
        with (folder / "WhatsApp Chat with 运营群.txt").open("w", encoding="utf-8") as f:
            for i in range(n):
                t = _when(i).astimezone()
                f.write(
                    f"{t:%d/%m/%Y}, {t:%H:%M} - {NAMES[i % 60]}: 第{i}条消息 @{NAMES[(i + 1) % 60]}\n"
                )
                if i % 10 == 0:
                    f.write("第二行\n")
    elif fmt == "telegram":
        messages = [
            {
                "id": i + 1,
                "type": "message",
                "date": _when(i).strftime("%Y-%m-%dT%H:%M:%S"),
                "date_unixtime": str(int(_when(i).timestamp())),
                "from": NAMES[i % 60],
                "from_id": f"user{1000 + i % 60}",
                "text": [
                    f"第{i}条 ",
                    {"type": "mention_name", "text": "x", "user_id": 1000 + (i + 1) % 60},
                ],
                **({"reply_to_message_id": i} if i % 7 == 0 and i else {}),
            }
            for i in range(n)
        ]
        doc = {"name": "运营群", "type": "private_supergroup", "id": 1, "messages": messages}
        (folder / "result.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    elif fmt == "slack":
        users = [
            {"id": f"U{i:04d}", "name": NAMES[i], "profile": {"display_name": NAMES[i]}}
            for i in range(60)
        ]
        (folder / "users.json").write_text(json.dumps(users, ensure_ascii=False), encoding="utf-8")
        channels = [{"id": "C0001", "name": "ops", "creator": "U0000"}]
        (folder / "channels.json").write_text(json.dumps(channels), encoding="utf-8")
        (folder / "ops").mkdir(exist_ok=True)
        per_day = 2000
        for day in range(0, n, per_day):
            items = [
                {
                    "type": "message",
                    "user": f"U{i % 60:04d}",
                    "text": f"第{i}条 <@U{(i + 1) % 60:04d}>",
                    "ts": f"{_when(i).timestamp():.6f}",
                }
                for i in range(day, min(n, day + per_day))
            ]
            name = (START + timedelta(days=day // per_day)).strftime("%Y-%m-%d")
            (folder / "ops" / f"{name}.json").write_text(json.dumps(items, ensure_ascii=False))
    elif fmt == "discord":
        messages = [
            {
                "id": str(10**17 + i),
                "type": "Default",
                "timestamp": _when(i).isoformat(),
                "isPinned": False,
                "content": f"第{i}条",
                "author": {"id": str(9 * 10**17 + i % 60), "name": NAMES[i % 60]},
                "attachments": [],
                "mentions": [{"id": str(9 * 10**17 + (i + 1) % 60), "name": "x"}],
            }
            for i in range(n)
        ]
        doc = {
            "guild": {"id": "1", "name": "运营"},
            "channel": {"id": "2", "type": "GuildTextChat", "name": "ops"},
            "messages": messages,
        }
        (folder / "ops.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    else:
        with (folder / "运营群_utf8.csv").open("w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow(
                [
                    "localId",
                    "TalkerId",
                    "Type",
                    "SubType",
                    "IsSender",
                    "CreateTime",
                    "Status",
                    "StrContent",
                    "StrTime",
                    "Remark",
                    "NickName",
                    "Sender",
                ]
            )
            for i in range(n):
                t = _when(i)
                w.writerow(
                    [
                        i + 1,
                        7,
                        1,
                        0,
                        0,
                        int(t.timestamp()),
                        2,
                        f"@{NAMES[(i + 1) % 60]}\u2005第{i}条",
                        f"{t:%Y-%m-%d %H:%M:%S}",
                        "",
                        NAMES[i % 60],
                        f"wxid_{i % 60}",
                    ]
                )
    done.touch()
    return _entry(fmt, folder)


def _entry(fmt: str, folder: Path) -> Path:
    if fmt in ("slack", "discord"):
        return folder / "ops.json" if fmt == "discord" else folder
    return next(p for p in sorted(folder.iterdir()) if not p.name.startswith("."))


def read_all(path: Path) -> dict[str, Any]:
    """(In a child process) every entity's records; time, counts and peak memory."""
    from groupops.canonical import ENTITIES
    from groupops.importers import open_source

    began = time.perf_counter()
    source, fmt = open_source(path)
    counts = {e: sum(1 for _ in source.records(e)) for e in ENTITIES}
    seconds = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"format": fmt, "seconds": round(seconds, 2), "peak_mb": round(peak_mb), **counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(read_all(Path(args.child))))
        return
    table = Table(title=f"importers: {args.messages:,} messages each", title_justify="left")
    for col in ("format", "seconds", "messages/s", "peak MB", "records"):
        table.add_column(col, justify="left" if col == "format" else "right")
    for fmt in args.formats.split(","):
        path = generate(fmt, args.messages)
        done = subprocess.run(
            [sys.executable, "-m", "bench.importers", "--child", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        res = json.loads(done.stdout.strip().splitlines()[-1])
        records = sum(res[e] for e in ("groups", "members", "memberships", "messages"))
        rate = res["messages"] / res["seconds"] if res["seconds"] else 0
        table.add_row(
            fmt, f"{res['seconds']:.1f}", f"{rate:,.0f}", str(res["peak_mb"]), f"{records:,}"
        )
    Console().print(table)


if __name__ == "__main__":
    main()
