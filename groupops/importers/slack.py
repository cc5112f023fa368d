"""Slack workspace export (a folder or ``.zip``): ``users.json``, ``channels.json`` (and
``groups.json`` / ``mpims.json``), one folder per conversation with one JSON array per day."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from groupops.canonical import Entity, RawRecord
from groupops.importers._common import (
    ExportSource,
    Tree,
    bad,
    dumps,
    first,
    id_str,
    is_link_only,
    kind_from_mime,
    load_json,
    ok,
    required_id,
    unique,
)
from groupops.ingest.limits import InputRefused

_DAY_FILE = re.compile(r"^(?P<folder>[^/]+)/\d{4}-\d{2}-\d{2}\.json$")
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_MENTION_ALL = re.compile(r"<!(?:channel|here|everyone)(?:\|[^>]*)?>")

#: Subtypes that are notices from Slack rather than something a person wrote.
SYSTEM_SUBTYPES = frozenset(
    {
        "channel_join",
        "channel_leave",
        "group_join",
        "group_leave",
        "channel_topic",
        "channel_purpose",
        "channel_name",
        "channel_archive",
        "channel_unarchive",
        "group_topic",
        "group_purpose",
        "group_name",
        "group_archive",
        "group_unarchive",
        "bot_add",
        "bot_remove",
        "pinned_item",
        "unpinned_item",
        "tombstone",
        "reminder_add",
        "channel_convert_to_private",
        "channel_posting_permissions",
    }
)
JOIN_SUBTYPES = frozenset({"channel_join", "group_join"})
LEAVE_SUBTYPES = frozenset({"channel_leave", "group_leave"})
#: Conversation lists read for groups; ``dms.json`` (one-to-one chats) is not a group.
CONVERSATION_FILES = ("channels.json", "groups.json", "mpims.json")


class SlackExport(ExportSource):
    """A Slack workspace export. Each listed conversation is a group; folders of day files
    that no list names are imported as a group named after the folder, and folders of the
    direct messages listed in ``dms.json`` are skipped."""

    format = "slack"
    platform = "slack"

    def _records(self, entity: Entity) -> Iterator[RawRecord]:
        tree = Tree(self.path)
        try:
            yield from self._read(tree, entity)
        finally:
            tree.close()

    def _read(self, tree: Tree, entity: Entity) -> Iterator[RawRecord]:
        if entity == "messages":
            yield from tree.refused("messages")
        folder_to_group: dict[str, str] = {}
        for record, folder in self._conversations(tree):
            if record.data is not None and folder:
                folder_to_group[folder] = str(record.data["group_id"])
            yield record
        dm_folders = self._dm_folders(tree)
        if entity == "members":
            yield from self._users(tree)
        days: dict[str, list[str]] = {}
        for name in tree.names():
            match = _DAY_FILE.match(name)
            if match and match["folder"] not in dm_folders:
                days.setdefault(match["folder"], []).append(name)
        for folder in sorted(days):
            group_id = folder_to_group.get(folder)
            if group_id is None:
                group_id = folder
                yield ok(
                    "groups",
                    tree.display(folder),
                    0,
                    "",
                    platform=self.platform,
                    group_id=folder,
                    name=folder,
                )
            if entity == "groups":
                continue
            for day in sorted(days[folder]):
                yield from self._day(tree, day, group_id)

    def _conversations(self, tree: Tree) -> Iterator[tuple[RawRecord, str | None]]:
        for list_name in CONVERSATION_FILES:
            if not tree.exists(list_name):
                continue
            source = tree.display(list_name)
            items = _json_list(tree, list_name)
            if isinstance(items, RawRecord):
                yield items._replace(entity="groups"), None
                continue
            for pos, item in enumerate(items, start=1):
                raw = dumps(item)
                if not isinstance(item, Mapping) or id_str(item.get("id")) is None:
                    yield bad("groups", source, pos, raw, "id", "conversation without an id"), None
                    continue
                group_id = str(id_str(item["id"]))
                name = first(item, "name", "name_normalized") or group_id
                yield (
                    ok(
                        "groups",
                        source,
                        pos,
                        raw,
                        platform=self.platform,
                        group_id=group_id,
                        name=name,
                        owner_id=id_str(item.get("creator")),
                    ),
                    str(name),
                )

    def _dm_folders(self, tree: Tree) -> set[str]:
        if not tree.exists("dms.json"):
            return set()
        items = _json_list(tree, "dms.json")
        if isinstance(items, RawRecord):
            return set()
        return {str(i["id"]) for i in items if isinstance(i, Mapping) and i.get("id")}

    def _users(self, tree: Tree) -> Iterator[RawRecord]:
        if not tree.exists("users.json"):
            return
        source = tree.display("users.json")
        items = _json_list(tree, "users.json")
        if isinstance(items, RawRecord):
            yield items._replace(entity="members")
            return
        for pos, item in enumerate(items, start=1):
            raw = dumps(item)
            if not isinstance(item, Mapping) or id_str(item.get("id")) is None:
                yield bad("members", source, pos, raw, "id", "user without an id")
                continue
            profile = item.get("profile") if isinstance(item.get("profile"), Mapping) else {}
            assert isinstance(profile, Mapping)
            yield self.member(
                source,
                pos,
                raw,
                str(id_str(item["id"])),
                first(profile, "display_name", "real_name") or first(item, "name", "real_name"),
                real_name=first(profile, "real_name") or first(item, "real_name"),
                email=first(profile, "email"),
                department=first(profile, "title"),
            )

    def _day(self, tree: Tree, name: str, group_id: str) -> Iterator[RawRecord]:
        source = tree.display(name)
        items = _json_list(tree, name)
        if isinstance(items, RawRecord):
            yield items
            return
        for pos, item in enumerate(items, start=1):
            yield from self._message(source, pos, item, group_id)

    def _message(self, source: str, pos: int, item: Any, group_id: str) -> Iterator[RawRecord]:
        raw = dumps(item)
        ts = required_id("messages", source, pos, raw, item, "ts", "message without a ts")
        if isinstance(ts, RawRecord):
            yield ts
            return
        subtype = item.get("subtype") if isinstance(item.get("subtype"), str) else ""
        comment = item.get("comment") if isinstance(item.get("comment"), Mapping) else {}
        assert isinstance(comment, Mapping)
        sender = (
            id_str(item.get("user")) or id_str(item.get("bot_id")) or id_str(comment.get("user"))
        )
        if sender is None:
            yield bad("messages", source, pos, raw, "user", "message with neither user nor bot_id")
            return
        bot_profile = item.get("bot_profile")
        if not item.get("user") and item.get("bot_id"):
            bot_name = first(item, "username") or (
                first(bot_profile, "name") if isinstance(bot_profile, Mapping) else None
            )
            yield self.member(source, pos, raw, sender, bot_name)
        elif isinstance(item.get("user_profile"), Mapping):
            profile = item["user_profile"]
            yield self.member(
                source,
                pos,
                raw,
                sender,
                first(profile, "display_name", "real_name", "name"),
                real_name=first(profile, "real_name"),
            )
        text = item.get("text") if isinstance(item.get("text"), str) else ""
        assert isinstance(text, str)
        attachments = item.get("attachments")
        if not text and isinstance(attachments, list):
            # Bot posts often carry everything in attachments: keep their fallback text.
            text = "\n".join(
                str(first(a, "fallback", "text", "pretext") or "")
                for a in attachments
                if isinstance(a, Mapping)
            ).strip()
        files = item.get("files") if isinstance(item.get("files"), list) else []
        if not files and isinstance(item.get("file"), Mapping):
            files = [item["file"]]
        if subtype in SYSTEM_SUBTYPES:
            kind = "system"
        elif files and isinstance(files[0], Mapping):
            kind = kind_from_mime(files[0].get("mimetype"), str(files[0].get("name") or ""))
        elif is_link_only(text):
            kind = "link"
        else:
            kind = "text"
        thread_ts = id_str(item.get("thread_ts"))
        if subtype in JOIN_SUBTYPES or subtype in LEAVE_SUBTYPES:
            event = "join" if subtype in JOIN_SUBTYPES else "leave"
            inviter = id_str(item.get("inviter"))
            yield self.membership(source, pos, raw, group_id, sender, event, ts, inviter)
        edited = item.get("edited")
        yield self.message(
            source,
            pos,
            raw,
            group_id,
            ts,
            sender,
            ts,
            kind=kind,
            text=text,
            reply_to=thread_ts if thread_ts and thread_ts != ts else None,
            # Generated texts ("<@U1> has joined", "<@U1> uploaded a file") name their sender.
            mentions=unique(
                m for m in _USER_MENTION.findall(text) if not (subtype and m == sender)
            ),
            mention_all=bool(_MENTION_ALL.search(text)),
            pinned=bool(item.get("pinned_to")),
            extra={"edited_at": edited.get("ts")} if isinstance(edited, Mapping) else None,
        )


def _json_list(tree: Tree, name: str) -> list[Any] | RawRecord:
    """A JSON array file, or a quarantine record (entity ``messages``) saying why not."""
    source = tree.display(name)
    try:
        data = load_json(tree.read(name))
    except InputRefused as exc:
        return bad("messages", source, 0, "", "(file)", str(exc))
    except ValueError as exc:
        return bad("messages", source, 0, "", "(file)", f"not valid JSON: {exc}")
    if not isinstance(data, list):
        return bad("messages", source, 0, "", "(file)", "expected a JSON array")
    return data
