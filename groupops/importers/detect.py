"""Choose an importer for a path: :func:`detect_format` looks at file names and the first
bytes or keys only; :func:`open_source` opens the chosen reader."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any, Final

from groupops.canonical import ALL_ENTITIES, Source

FORMATS: Final[tuple[str, ...]] = (
    "canonical",
    "roster",
    "slack",
    "telegram",
    "whatsapp",
    "discord",
    "wechat-csv",
)
#: The options each format's importer takes (all strings, so they can come from a command line).
OPTIONS: Final[dict[str, tuple[str, ...]]] = {
    "canonical": (),
    "roster": (),
    "slack": (),
    "telegram": ("include_personal",),
    "whatsapp": ("date_order", "group_id", "group_name", "self_name"),
    "discord": (),
    "wechat-csv": ("encoding", "group_id", "group_name", "self_id", "self_name"),
}
_HEAD_BYTES = 64 * 1024
_SLACK_MARKERS = ("channels.json", "users.json")
_CANONICAL_STEMS = set(ALL_ENTITIES)
_TELEGRAM_DATE = re.compile(r'"date"\s*:\s*"\d{4}-\d{2}-\d{2}T')
_WECHAT_COLUMNS = ("localid", "strcontent", "issender")


class UnknownFormatError(ValueError):
    """The path is not an export any importer reads."""


def detect_format(path: str | Path) -> str:
    """One of :data:`FORMATS` for ``path`` (a file, folder or ``.zip``), or
    :class:`UnknownFormatError` saying what was looked at."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file or folder")
    if p.is_dir():
        return _detect_names(p, [c.name for c in p.iterdir() if c.is_file()])
    suffix = p.suffix.lower()
    if suffix == ".zip" or zipfile.is_zipfile(p):
        with zipfile.ZipFile(p) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
        return _detect_names(p, names)
    head = _head(p)
    if suffix in (".csv", ".jsonl") and _looks_like_roster(head):
        return "roster"
    if suffix == ".json" or head.lstrip().startswith("{"):
        return _detect_json(p, head)
    if suffix == ".csv":
        first_line = head.lstrip("\ufeff").split("\n", 1)[0].lower()
        if all(c in first_line for c in _WECHAT_COLUMNS):
            return "wechat-csv"
        raise UnknownFormatError(f"{p}: a CSV file without the MemoTrace columns {_WECHAT_COLUMNS}")
    if _looks_like_whatsapp(head):
        return "whatsapp"
    raise UnknownFormatError(f"{p}: not an export this version reads")


def _looks_like_roster(head: str) -> bool:
    """An HR roster (docs/roster.md): its first line names ``employee_id`` and ``real_name``."""
    first_line = head.lstrip("\ufeff").split("\n", 1)[0].lower()
    return "employee_id" in first_line and "real_name" in first_line


def _looks_like_whatsapp(head: str) -> bool:
    """One of the first five non-empty lines is a WhatsApp message header (the importer's own
    header grammar)."""
    from groupops.importers.whatsapp import match_header

    lines = [line for line in head.splitlines()[:50] if line.strip()][:5]
    return any(match_header(line) is not None for line in lines)


def _head(path: Path) -> str:
    with path.open("rb") as handle:
        data = handle.read(_HEAD_BYTES)
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            if exc.start > len(data) - 4:  # cut in the middle of a character
                return data[: exc.start].decode(encoding, errors="replace")
    return data.decode("utf-8", errors="replace")


def _detect_json(path: Path, head: str) -> str:
    keys = set(re.findall(r'"(\w+)"\s*:', head))
    if {"guild", "channel", "messages"} <= keys:
        return "discord"
    if "chats" in keys or "left_chats" in keys:
        return "telegram"
    if "messages" in keys and ("date_unixtime" in keys or _TELEGRAM_DATE.search(head)):
        return "telegram"
    raise UnknownFormatError(
        f"{path}: a JSON file that is neither a Telegram Desktop export (chats, or messages "
        "with dates) nor a DiscordChatExporter export (guild, channel, messages)"
    )


def _detect_names(path: Path, names: list[str]) -> str:
    """From the names of the files directly in a folder or zip (one wrapping folder in a zip
    is looked through)."""
    if _single_root(names):
        names = [n.split("/", 1)[1] for n in names]
    top = {n for n in names if "/" not in n}
    if any(m in top for m in _SLACK_MARKERS):
        return "slack"
    stems = {Path(n).stem for n in top if Path(n).suffix in (".jsonl", ".csv")}
    if {"groups", "messages"} & stems and stems <= _CANONICAL_STEMS | {"README"}:
        return "canonical"
    if "result.json" in top:
        return "telegram"
    texts = sorted(n for n in top if n.lower().endswith(".txt"))
    if "_chat.txt" in top or (len(texts) == 1 and not path.is_dir()):
        return "whatsapp"
    if path.is_dir():
        if len(texts) == 1 and detect_format(path / texts[0]) == "whatsapp":
            return "whatsapp"
        jsons = sorted(path.glob("*.json"))
        if jsons and all(_detect_json_or_none(j) == "discord" for j in jsons):
            return "discord"
        csvs = sorted(path.glob("*.csv"))
        if len(csvs) == 1 and detect_format(csvs[0]) == "wechat-csv":
            return "wechat-csv"
    raise UnknownFormatError(
        f"{path}: no file that marks a known export among {sorted(top)[:8] or 'no files'}"
    )


def _detect_json_or_none(path: Path) -> str | None:
    try:
        return _detect_json(path, _head(path))
    except UnknownFormatError:
        return None


def _single_root(names: list[str]) -> bool:
    return (
        bool(names)
        and len({n.split("/", 1)[0] for n in names}) == 1
        and all("/" in n for n in names)
    )


def open_source(path: str | Path, format: str = "auto", **options: Any) -> tuple[Source, str]:
    """The reader for ``path`` and the format it reads (``auto`` detects it). ``options`` go
    to the importer (e.g. ``date_order="dmy"`` for WhatsApp, ``encoding="gbk"`` for WeChat)."""
    chosen = detect_format(path) if format == "auto" else format
    if chosen not in FORMATS:
        raise ValueError(f"unknown format {format!r}; choose auto or one of {', '.join(FORMATS)}")
    unknown = sorted(set(options) - set(OPTIONS[chosen]))
    if unknown:
        accepted = ", ".join(OPTIONS[chosen]) or "none"
        raise ValueError(
            f"format {chosen!r} takes no option {', '.join(unknown)} (it takes: {accepted})"
        )
    source: Source
    if chosen == "canonical":
        from groupops.ingest.bundle import open_bundle  # the lead's bundle reader

        source = open_bundle(path, **options)
    elif chosen == "roster":
        from groupops.ingest.bundle import open_roster

        source = open_roster(path)
    elif chosen == "slack":
        from groupops.importers.slack import SlackExport

        source = SlackExport(path, **options)
    elif chosen == "telegram":
        from groupops.importers.telegram import TelegramExport

        source = TelegramExport(path, **options)
    elif chosen == "whatsapp":
        from groupops.importers.whatsapp import WhatsAppExport

        source = WhatsAppExport(path, **options)
    elif chosen == "discord":
        from groupops.importers.discord import DiscordExport

        source = DiscordExport(path, **options)
    else:
        from groupops.importers.wechat import WeChatCsvExport

        source = WeChatCsvExport(path, **options)
    return source, chosen
