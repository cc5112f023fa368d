"""Whatever a record holds, an importer never crashes on it: each record comes out either
understood (canonical data) or in quarantine with a field and a reason."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from groupops.canonical import ENTITIES, Source
from groupops.importers.discord import DiscordExport
from groupops.importers.slack import SlackExport
from groupops.importers.telegram import TelegramExport
from groupops.importers.wechat import WeChatCsvExport
from groupops.importers.whatsapp import WhatsAppExport

KEYS = [
    # Slack
    "ts",
    "user",
    "bot_id",
    "text",
    "subtype",
    "thread_ts",
    "files",
    "file",
    "pinned_to",
    "edited",
    "attachments",
    "comment",
    "user_profile",
    "bot_profile",
    "username",
    "inviter",
    # Telegram
    "id",
    "type",
    "date",
    "date_unixtime",
    "from",
    "from_id",
    "actor",
    "actor_id",
    "action",
    "members",
    "message_id",
    "reply_to_message_id",
    "text_entities",
    "media_type",
    "photo",
    "mime_type",
    "edited_unixtime",
    # Discord
    "timestamp",
    "author",
    "content",
    "mentions",
    "reference",
    "isPinned",
    "stickers",
    "timestampEdited",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            "service",
            "message",
            "channel_join",
            "user1",
            "1793581200",
            "invite_members",
            "remove_members",
            "pin_message",
            "GuildMemberJoin",
            "RecipientRemove",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "name",
                    "text",
                    "type",
                    "user_id",
                    "messageId",
                    "fileName",
                    "mimetype",
                    "nickname",
                    "ts",
                    "user",
                ]
            ),
            children,
            max_size=3,
        ),
    ),
    max_leaves=6,
)
records = st.one_of(values, st.dictionaries(st.sampled_from(KEYS), values, max_size=10))
SETTINGS = settings(
    max_examples=int(__import__("os").environ.get("ROBUST_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def check(source: Source) -> None:
    for entity in ENTITIES:
        for record in source.records(entity):
            assert (record.data is None) != (record.error is None)
            if record.error is not None:
                assert record.error.reason


@SETTINGS
@given(st.lists(records, max_size=5))
@example([{"ts": "1.0", "user": "U1", "files": {"id": 1}, "subtype": ["x"]}])
def test_slack_day_files(items: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "channels.json").write_text(json.dumps([{"id": "C1", "name": "c"}]))
        (root / "users.json").write_text(json.dumps(items[:2]))
        (root / "c").mkdir()
        (root / "c" / "2026-11-02.json").write_text(json.dumps(items))
        check(SlackExport(root))


@SETTINGS
@given(st.lists(records, max_size=5), values)
@example(
    [{"id": 1, "type": "service", "date": "2026-11-02T09:00:00", "action": ["x"], "members": "ab"}],
    [1],
)
def test_telegram_messages(items: list[Any], chat_id: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "result.json"
        path.write_text(json.dumps({"id": chat_id, "name": "g", "messages": items}))
        check(TelegramExport(path))
        path.write_text(json.dumps({"chats": {"list": [{"id": 1, "messages": items}, items]}}))
        check(TelegramExport(path))


@SETTINGS
@given(st.lists(records, max_size=5), values)
@example(
    [
        {
            "id": "1",
            "timestamp": "2026-11-02T00:00:00+00:00",
            "author": {"id": "1"},
            "mentions": {"id": "2"},
            "attachments": "x",
        }
    ],
    {"type": []},
)
def test_discord_messages(items: list[Any], channel: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.json"
        chan = channel if isinstance(channel, dict) else {"id": "1", "name": "c"}
        path.write_text(json.dumps({"guild": channel, "channel": chan, "messages": items}))
        check(DiscordExport(path))


@SETTINGS
@given(st.lists(st.text(max_size=40), max_size=8))
def test_whatsapp_lines(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chat.txt"
        header = ["1/2/26, 9:00 - A: hi", "[3/4/26, 9:00:00 PM] B: yo", "13/13/26, 9:00 - C: x"]
        path.write_text("\n".join(header + lines), encoding="utf-8", errors="replace")
        check(WhatsAppExport(path))


@SETTINGS
@given(st.lists(st.lists(st.text(max_size=10), max_size=14), max_size=6))
def test_wechat_rows(rows: list[list[str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "g_utf8.csv"
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(
            [
                "localId",
                "Type",
                "SubType",
                "IsSender",
                "CreateTime",
                "StrContent",
                "StrTime",
                "Sender",
            ]
        )
        writer.writerows(rows)
        path.write_text(buf.getvalue(), encoding="utf-8", errors="replace")
        check(WeChatCsvExport(path))


def test_wechat_oversized_field_is_quarantined_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "big_utf8.csv"
    path.write_text(
        "localId,Type,IsSender,StrContent,CreateTime\n"
        "1,1,0,ok,1793581200\n"
        f"2,1,0,{'x' * 140_000},1793581200\n"
        "3,1,0,after,1793581200\n",
        encoding="utf-8",
    )
    got = [
        (r.line, r.data["message_id"] if r.data else r.error.reason)
        for r in WeChatCsvExport(path).records("messages")
    ]
    assert got == [
        (2, "1"),
        (3, "unreadable CSV: field larger than field limit (131072)"),
        (4, "3"),
    ]
