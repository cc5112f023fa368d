"""WeChat chats exported as CSV by MemoTrace (留痕, the WeChatMsg project): one file per chat,
``<备注>_utf8.csv``, with the header row

``localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime[,Remark,NickName,Sender]``

(the last three only for group chats). See docs/importers.md for what each column becomes."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from groupops.canonical import Entity, RawRecord
from groupops.importers._common import (
    SYSTEM_MEMBER_ID,
    ExportSource,
    bad,
    dumps,
    is_link_only,
    slug,
    unique,
)
from groupops.ingest.limits import (
    CsvRow,
    FileTooLarge,
    InputRefused,
    Limits,
    bounded_lines,
    check_file,
    csv_rows,
)

#: Columns a file must have (compared case-insensitively).
REQUIRED_COLUMNS = ("localId", "Type", "IsSender", "StrContent")
#: Columns read when present.
OPTIONAL_COLUMNS = (
    "TalkerId",
    "SubType",
    "CreateTime",
    "Status",
    "StrTime",
    "Remark",
    "NickName",
    "Sender",
)

#: ``Type`` codes and their kind; ``49`` (app messages) depends on ``SubType``.
TYPE_KINDS: dict[int, str] = {
    1: "text",
    3: "image",
    34: "voice",
    42: "link",  # contact card
    43: "video",
    47: "image",  # emoji / sticker
    48: "link",  # location
    50: "system",  # voice / video call
    10000: "system",
    10002: "system",  # recall and other notices
}
#: ``Type 49`` sub-types: 6 is a file, 57 a quoted reply (text); the rest are links, mini
#: programs, chat records, transfers ... (kind ``link``).
APP_SUBTYPE_KINDS: dict[int, str] = {6: "file", 57: "text"}

# A party in a notice: a quoted name (ASCII, Chinese or corner quotes) or 你 (the exporter).
_PARTY = r"(?:[\"“「][^\"“”「」]+[\"”」]|你)"
_PARTIES = rf"{_PARTY}(?:[、,，]{_PARTY})*"
_INVITE = re.compile(rf"^(?P<actor>{_PARTY})邀请(?P<who>{_PARTIES})加入了群聊")
_QR_JOIN = re.compile(rf"^(?P<who>{_PARTY})通过扫描(?P<actor>{_PARTY})分享的二维码加入群聊")
_REMOVE = re.compile(rf"^(?P<actor>{_PARTY})将(?P<who>{_PARTIES})移出了群聊")
_LEAVE = re.compile(rf"^(?P<who>{_PARTY})退出了群聊")
_NAME_SPLIT = re.compile(r"[、,，]\s*")
_MENTION = re.compile(r"@([^\s@\u2005]{1,40})[\u2005 ]")
_SELF_WORDS = frozenset({"你", "您"})


def _unquote(party: str) -> str:
    return party.strip('"“”「」').strip()


def _split(parties: str) -> list[str]:
    """``"乙、丙"`` or ``"乙"、"丙"`` → the names."""
    return [name for p in _NAME_SPLIT.split(parties) if (name := _unquote(p))]


def detect_encoding(path: Path, chunk_size: int = 1 << 20, limit: int | None = None) -> str:
    """``utf-8-sig`` when the whole file (its first ``limit`` bytes) is valid UTF-8,
    otherwise ``gb18030`` (a superset of GBK, what Chinese Windows tools write)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    read = 0
    with path.open("rb") as handle:
        try:
            while (limit is None or read < limit) and (chunk := handle.read(chunk_size)):
                read += len(chunk)
                decoder.decode(chunk)
            decoder.decode(b"", final=limit is None or read < limit)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8-sig"


def chat_name(path: Path) -> str:
    """``张三_utf8.csv`` → ``张三``."""
    return re.sub(r"_utf-?8$", "", path.stem, flags=re.IGNORECASE)


class WeChatCsvExport(ExportSource):
    """A MemoTrace CSV chat export. Options: ``encoding`` (default: detected), ``group_id``
    and ``group_name`` (default: from the file name), ``self_id`` / ``self_name`` (who
    ``IsSender = 1`` is when the file has no ``Sender`` column; default ``self`` / ``我``)."""

    format = "wechat-csv"
    platform = "wechat"

    def __init__(
        self,
        path: str | Path,
        *,
        encoding: str | None = None,
        group_id: str | None = None,
        group_name: str | None = None,
        self_id: str = "self",
        self_name: str = "我",
    ) -> None:
        super().__init__(path)
        self.encoding = encoding
        self.group_name = group_name or chat_name(self.path)
        self.group_id = group_id or slug(self.group_name)
        self.self_id = self_id
        self.self_name = self_name
        self.limits = Limits.from_settings()
        self._encoding: str | None = None

    def _rows(self) -> Iterator[tuple[int, dict[str, str]] | RawRecord]:
        """``(line, row)`` with canonical column names, or a quarantine record. Read within
        the input limits (:mod:`groupops.ingest.limits`): a regular file (a symlink named by
        the user is followed, to a regular file only), rows of at most ``max_record_bytes``,
        at most ``max_file_bytes`` of the file."""
        source = str(self.path)
        path = self.path.resolve() if self.path.is_symlink() else self.path
        try:
            check_file(path)
        except InputRefused as exc:
            yield bad("messages", source, 0, "", "(file)", str(exc))
            return
        if self._encoding is None:
            self._encoding = self.encoding or detect_encoding(
                path, limit=self.limits.max_file_bytes
            )
        with path.open("rb") as stream:
            lines = bounded_lines(stream, self.limits, keep_blank=True)
            try:
                yield from self._csv(source, csv_rows(lines, self._encoding, self.limits))
            except FileTooLarge as exc:
                yield bad("messages", source, 0, "", "(file)", str(exc))

    def _csv(
        self, source: str, rows: Iterator[CsvRow]
    ) -> Iterator[tuple[int, dict[str, str]] | RawRecord]:
        header_row = next(rows, None)
        if header_row is None:
            return
        if header_row.error is not None:
            yield bad("messages", source, header_row.line, header_row.raw, "(header)",
                      f"not a MemoTrace CSV: {header_row.error}")  # fmt: skip
            return
        header = header_row.cells
        by_lower = {c.lower(): c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)}
        columns = [by_lower.get(h.strip().lstrip("\ufeff").lower(), h.strip()) for h in header]
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            yield bad(
                "messages",
                source,
                header_row.line,
                ",".join(header),
                "(header)",
                f"not a MemoTrace CSV: missing column(s) {', '.join(missing)}",
            )
            return
        for row in rows:
            if row.error is not None:
                yield bad("messages", source, row.line, row.raw, "(record)", row.error)
                continue
            values = row.cells
            if len(values) > len(columns):
                yield bad(
                    "messages",
                    source,
                    row.line,
                    dumps(values),
                    "(record)",
                    f"{len(values)} values for {len(columns)} columns",
                )
                continue
            yield row.line, dict(zip(columns, values, strict=False))

    def _records(self, entity: Entity) -> Iterator[RawRecord]:
        source = str(self.path)
        yield self.single_group(self.group_id, self.group_name)
        if entity == "groups":
            return
        names = self._names()
        for item in self._rows():
            if isinstance(item, RawRecord):
                yield item
            else:
                yield from self._row(source, *item, names)

    def _names(self) -> dict[str, str]:
        """Nickname and remark → wxid, for mentions and system lines that give names only."""
        names: dict[str, str] = {}
        for item in self._rows():
            if not isinstance(item, RawRecord):  # (line, row); RawRecord is a tuple too
                row = item[1]
                sender = row.get("Sender", "").strip()
                for key in ("NickName", "Remark"):
                    name = row.get(key, "").strip()
                    if sender and name:
                        names.setdefault(name, sender)
        return names

    def _row(
        self, source: str, line: int, row: Mapping[str, str], names: Mapping[str, str]
    ) -> Iterator[RawRecord]:
        raw = dumps(row)
        message_id = row.get("localId", "").strip()
        if not message_id:
            yield bad("messages", source, line, raw, "localId", "row without a localId")
            return
        try:
            type_code = int(row.get("Type", "").strip())
        except ValueError:
            yield bad(
                "messages", source, line, raw, "Type", f"Type is not a number: {row.get('Type')!r}"
            )
            return
        subtype = row.get("SubType", "").strip()
        if type_code == 49:
            kind = APP_SUBTYPE_KINDS.get(int(subtype) if subtype.isdigit() else -1, "link")
        elif type_code in TYPE_KINDS:
            kind = TYPE_KINDS[type_code]
        else:
            yield bad(
                "messages", source, line, raw, "Type", f"unknown WeChat message Type {type_code}"
            )
            return
        created = row.get("CreateTime", "").strip()
        sent_at = (
            created if created.isdigit() and int(created) > 0 else row.get("StrTime", "").strip()
        )
        if not sent_at:
            yield bad(
                "messages",
                source,
                line,
                raw,
                "CreateTime",
                "row with neither CreateTime nor StrTime",
            )
            return
        text = row.get("StrContent", "")
        sender = row.get("Sender", "").strip()
        is_self = row.get("IsSender", "").strip() == "1"
        memberships = (
            list(self._membership(source, line, raw, text, sent_at, names))
            if kind == "system"
            else []
        )
        yield from memberships
        actors = [
            str(r.data.get("approved_by") or r.data["member_id"])
            for r in memberships
            if r.entity == "memberships" and r.data is not None
        ]
        if not sender and actors:
            sender = actors[0]
        elif sender:
            display = row.get("Remark", "").strip() or row.get("NickName", "").strip() or sender
            yield self.member(
                source, line, raw, sender, display, real_name=row.get("NickName") or None
            )
        elif is_self:
            sender = self.self_id
            yield self.member(source, line, raw, sender, self.self_name)
        elif kind == "system":
            sender = SYSTEM_MEMBER_ID
            yield self.system_member(source)
        else:
            sender = self.group_id
            yield self.member(source, line, raw, sender, self.group_name)
        if kind == "text" and is_link_only(text):
            kind = "link"
        mentions = [names.get(n, slug(n)) for n in _MENTION.findall(text + " ") if n != "所有人"]
        yield self.message(
            source,
            line,
            raw,
            self.group_id,
            message_id,
            sender,
            sent_at,
            kind=kind,
            text=text,
            mentions=unique(mentions),
            mention_all="@所有人" in text,
            pinned=False,
        )

    def _who(self, name: str, names: Mapping[str, str]) -> str:
        name = name.strip()
        if name in _SELF_WORDS:
            return self.self_id
        return names.get(name) or slug(name)

    def _membership(
        self, source: str, line: int, raw: str, text: str, at: str, names: Mapping[str, str]
    ) -> Iterator[RawRecord]:
        """Join and removal notices (``"甲"邀请"乙、丙"加入了群聊``, ``"甲"邀请你加入了群聊``,
        ``"乙"通过扫描"甲"分享的二维码加入群聊``, ``"甲"将"乙"移出了群聊``, ``"乙"退出了群聊``;
        你 is the exporting account)."""
        events: list[tuple[str, str, str | None]] = []
        text = text.strip()
        if m := _QR_JOIN.match(text):
            events.append((_unquote(m["who"]), "join", _unquote(m["actor"])))
        elif m := _INVITE.match(text):
            events += [(w, "join", _unquote(m["actor"])) for w in _split(m["who"])]
        elif m := _REMOVE.match(text):
            events += [(w, "removed", _unquote(m["actor"])) for w in _split(m["who"])]
        elif m := _LEAVE.match(text):
            events.append((_unquote(m["who"]), "leave", None))
        for who, event, actor in events:
            member = self._who(who, names)
            yield self.member(
                source, line, raw, member, self.self_name if member == self.self_id else who.strip()
            )
            approved = self._who(actor, names) if actor else None
            if approved is not None and actor is not None:
                yield self.member(
                    source,
                    line,
                    raw,
                    approved,
                    self.self_name if approved == self.self_id else actor.strip(),
                )
            yield self.membership(source, line, raw, self.group_id, member, event, at, approved)
