"""Every third-party sample export in ``../shared/samples/`` (written by other people, never
copied into this repository) opens with ``format="auto"``, is detected as what it is, reads
without a crash, yields one message record per message the file holds (counted here in the
plainest way), and gives a reason for every record it cannot understand."""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path

import pytest

from groupops.canonical import ENTITIES
from groupops.importers import open_source

# The repository's sibling ``shared/``; GROUPOPS_SAMPLES points elsewhere (e.g. from a
# worktree that is not next to it).
SAMPLES = Path(
    os.environ.get(
        "GROUPOPS_SAMPLES", Path(__file__).resolve().parents[1].parent / "shared" / "samples"
    )
)
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"no third-party samples at {SAMPLES}")

_DAY = re.compile(r"(?:^|/)[^/]+/\d{4}-\d{2}-\d{2}\.json$")
# A WhatsApp message starts a line with its date and time: "[date time] " on iOS,
# "date time - " on Android (after optional direction marks).
_WA_HEADER = re.compile(r"^[\u200e\u200f]*(?:\[[^\]\n]*\d[^\]\n]*\] |[\d٠-٩][^\n]{4,30}? - )")


def _files(folder: str, *patterns: str) -> list[Path]:
    root = SAMPLES / folder
    return sorted({p for pattern in patterns for p in root.rglob(pattern) if p.is_file()})


def _slack_exports() -> list[Path]:
    roots = [p.parent for p in _files("slack-export", "channels.json")]
    return sorted(roots) + _files("slack-export", "*.zip")


def _slack_count(path: Path) -> int:
    if path.is_dir():
        days = [(p.relative_to(path).as_posix(), p.read_bytes()) for p in path.rglob("*.json")]
    else:
        with zipfile.ZipFile(path) as zf:
            days = [(n, zf.read(n)) for n in zf.namelist()]
    return sum(len(json.loads(data)) for name, data in days if _DAY.search(name))


def _telegram_exports() -> list[Path]:
    found = []
    for p in _files("telegram-export", "*.json"):
        doc = json.loads(p.read_bytes())
        if isinstance(doc, dict) and ("messages" in doc or "chats" in doc):
            found.append(p)
    return found


def _telegram_count(path: Path) -> int:
    doc = json.loads(path.read_bytes())
    if "chats" in doc:
        chats = doc["chats"]["list"] + doc.get("left_chats", {}).get("list", [])
        # One-to-one chats of a whole-account export stay out by default (privacy).
        groups = [
            c for c in chats if c.get("type") not in {"personal_chat", "bot_chat", "saved_messages"}
        ]
        return sum(len(c["messages"]) for c in groups)
    return len(doc["messages"])


def _discord_exports() -> list[Path]:
    return _files("discord-chatexporter", "*.json")


def _discord_count(path: Path) -> int:
    return len(json.loads(path.read_bytes())["messages"])


def _whatsapp_exports() -> list[Path]:
    return _files("whatsapp-txt", "*.txt", "*.zip")


def _whatsapp_count(path: Path) -> int:
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            name = next(n for n in zf.namelist() if n.endswith(".txt"))
            text = zf.read(name).decode("utf-8-sig")
    else:
        text = path.read_text(encoding="utf-8-sig")
    return sum(1 for line in text.splitlines() if _WA_HEADER.match(line))


CASES = [
    *[pytest.param(p, "slack", _slack_count, id=f"slack:{p.name}") for p in _slack_exports()],
    *[
        pytest.param(p, "telegram", _telegram_count, id=f"telegram:{p.parent.name}/{p.name}")
        for p in _telegram_exports()
    ],
    *[
        pytest.param(p, "discord", _discord_count, id=f"discord:{p.name[:40]}")
        for p in _discord_exports()
    ],
    *[
        pytest.param(p, "whatsapp", _whatsapp_count, id=f"whatsapp:{p.parent.name}/{p.name}")
        for p in _whatsapp_exports()
    ],
]


@pytest.mark.parametrize(("path", "fmt", "count"), CASES)
def test_sample_export(path: Path, fmt: str, count: object) -> None:
    source, chosen = open_source(path, "auto")
    assert chosen == fmt
    records = {entity: list(source.records(entity)) for entity in ENTITIES}
    messages = records["messages"]
    assert len(messages) == count(path)
    for entity in ENTITIES:
        for record in records[entity]:
            assert (record.data is None) == (record.error is not None)
            if record.error is not None:
                assert record.error.reason and record.error.field
    # Whatever the importer understood names the fields ingest needs.
    for record in messages:
        if record.data is not None:
            assert {"group_id", "message_id", "sender_id", "sent_at", "kind"} <= set(record.data)


def test_there_are_samples_of_four_export_formats() -> None:
    kinds = {str(c.values[1]) for c in CASES}
    assert kinds == {"slack", "telegram", "discord", "whatsapp"}
    assert len(CASES) > 80


def test_no_wechat_csv_sample_exists_yet() -> None:
    """The MemoTrace CSV importer is covered by tests/test_importers.py; should a sample
    appear under shared/samples, this test asks for it to be added above."""
    assert not list(SAMPLES.rglob("*_utf8.csv"))
