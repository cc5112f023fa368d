"""Export importers on hand-written fixtures (tests/fixtures/exports/): what each export
becomes in the canonical model, and which records go to quarantine with which reason."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from groupops.canonical import Entity, Source
from groupops.importers import UnknownFormatError, detect_format, open_source
from groupops.importers._common import clean_text, kind_from_filename, slug, to_ascii_digits
from groupops.importers.discord import DiscordExport
from groupops.importers.slack import SlackExport
from groupops.importers.telegram import TelegramExport, telegram_user_id
from groupops.importers.wechat import WeChatCsvExport, detect_encoding
from groupops.importers.whatsapp import (
    WhatsAppExport,
    chat_title,
    detect_date_order,
    match_header,
    media_kind,
    parse_stamp,
)

FIX = Path(__file__).parent / "fixtures" / "exports"
SLACK = FIX / "slack" / "workspace"
TELEGRAM = FIX / "telegram" / "result.json"
TELEGRAM_ACCOUNT = FIX / "telegram" / "account.json"
DISCORD_GUILD = FIX / "discord" / "ops-guild"
DISCORD_DM = FIX / "discord" / "group-dm.json"
WA_ANDROID = FIX / "whatsapp" / "WhatsApp Chat with 市场运营群.txt"
WA_IOS = FIX / "whatsapp" / "项目群-ios"
WA_AMBIGUOUS = FIX / "whatsapp" / "ambiguous.txt"
WECHAT_GROUP = FIX / "wechat" / "项目群_utf8.csv"
WECHAT_GBK = FIX / "wechat" / "客户王总.csv"

MESSAGE = ("message_id", "sender_id", "kind", "reply_to", "mentions", "mention_all", "pinned")
MEMBERSHIP = ("group_id", "member_id", "event", "at", "approved_by")


def rows(source: Source, entity: Entity, fields: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return [
        tuple(r.data.get(f) for f in fields) for r in source.records(entity) if r.data is not None
    ]


def rejected(source: Source, entity: Entity = "messages") -> list[tuple[int, str, str]]:
    return [
        (r.line, r.error.field, r.error.reason)
        for r in source.records(entity)
        if r.error is not None
    ]


def column(source: Source, entity: Entity, field: str) -> list[Any]:
    return [r.data.get(field) for r in source.records(entity) if r.data is not None]


# --- shared helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Dmitry S", "dmitry-s"),
        ("  张三 ", "张三"),
        ("+86 138 0000 0000", "+86-138-0000-0000"),
        ("Zhang\u00a0San\u200e", "zhang-san"),
        ("ＡＢＣ", "abc"),
        ("🤓", "name-d0b1694637"),
    ],
)
def test_slug_is_a_stable_id_from_a_name(name: str, expected: str) -> None:
    assert slug(name) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\u200e[1/2/26]\u200f", "[1/2/26]"),
        ("a\u00a0b\u202fc", "a b c"),
        ("\u202a+40 1\u202c", "+40 1"),
    ],
)
def test_clean_text_drops_direction_marks_and_odd_spaces(text: str, expected: str) -> None:
    assert clean_text(text) == expected


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.JPG", "image"),
        ("clip.mp4", "video"),
        ("PTT-20220327-WA0000.opus", "voice"),
        ("spec.pdf", "file"),
        ("noext", "file"),
    ],
)
def test_kind_from_filename(name: str, kind: str) -> None:
    assert kind_from_filename(name) == kind


def test_native_digits_become_ascii() -> None:
    assert to_ascii_digits("١٨/٣/٢٠٢٢ ٢:٥٦") == "18/3/2022 2:56"


# --- Slack ------------------------------------------------------------------------------------


def test_slack_groups_from_every_conversation_list_and_unlisted_folders() -> None:
    src = SlackExport(SLACK)
    assert rows(src, "groups", ("group_id", "name", "owner_id")) == [
        ("C01ALPHA", "proj-alpha", "U01ZHANG"),
        ("C02RANDOM", "random", "U02LI"),
        ("G03MKT", "市场部", "U03WANG"),
        ("orphan", "orphan", None),
    ]


def test_slack_members_from_users_and_bots() -> None:
    src = SlackExport(SLACK)
    assert rows(src, "members", ("member_id", "display_name", "email", "department")) == [
        ("U01ZHANG", "张三", "zhangsan@example.com", "产品部"),
        ("U02LI", "李四", "lisi@example.com", None),
        ("U03WANG", "Wang Wu", None, None),
        ("B0DEPLOY", "deploy-bot", None, None),
    ]
    assert rejected(src, "members") == [(4, "id", "user without an id")]


def test_slack_joins_and_leaves_become_memberships() -> None:
    assert rows(SlackExport(SLACK), "memberships", MEMBERSHIP) == [
        ("C01ALPHA", "U02LI", "join", "1793581200.000100", "U01ZHANG"),
        ("C01ALPHA", "U03WANG", "leave", "1793581680.000900", None),
        ("G03MKT", "U01ZHANG", "join", "1793667700.000100", None),
    ]


def test_slack_messages_threads_mentions_pins_files_bots() -> None:
    src = SlackExport(SLACK)
    alpha = [r for r in rows(src, "messages", ("group_id", *MESSAGE)) if r[0] == "C01ALPHA"]
    assert [r[1:] for r in alpha] == [
        ("1793581200.000100", "U02LI", "system", None, [], False, False),
        ("1793581260.000200", "U01ZHANG", "text", None, ["U02LI"], True, True),
        ("1793581320.000300", "U02LI", "text", "1793581260.000200", [], False, False),
        ("1793581380.000400", "B0DEPLOY", "text", None, [], False, False),
        ("1793581440.000500", "U01ZHANG", "image", None, [], False, False),
        ("1793581500.000600", "U02LI", "file", None, [], False, False),
        ("1793581560.000700", "U03WANG", "link", None, [], False, False),
        ("1793581620.000800", "U03WANG", "text", None, ["U01ZHANG"], True, False),
        ("1793581680.000900", "U03WANG", "system", None, [], False, False),
    ]
    by_id = {r.data["message_id"]: r for r in src.records("messages") if r.data}
    assert by_id["1793581320.000300"].extra == {"edited_at": "1793581330.000000"}
    assert by_id["1793581380.000400"].data["text"] == "Deploy v1.2 finished"  # attachment text
    groups = set(column(src, "messages", "group_id"))
    assert groups == {"C01ALPHA", "C02RANDOM", "G03MKT", "orphan"}  # D0DIRECT (a DM) skipped


def test_slack_bad_records_are_quarantined_with_reasons() -> None:
    got = [
        (Path(r.source).parent.name + "/" + Path(r.source).name, r.line, r.error.reason)
        for r in SlackExport(SLACK).records("messages")
        if r.error is not None
    ]
    assert got[:3] == [
        ("proj-alpha/2026-11-02.json", 10, "message with neither user nor bot_id"),
        ("proj-alpha/2026-11-02.json", 11, "message without a ts"),
        ("proj-alpha/2026-11-02.json", 12, "not a JSON object"),
    ]
    assert got[3][:2] == ("random/2026-11-04.json", 0)
    assert got[3][2].startswith("not valid JSON")
    assert len(got) == 4


def test_slack_zip_with_a_wrapping_folder_reads_like_the_folder(tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in SLACK.rglob("*"):
            if f.is_file():
                zf.write(f, "Acme Slack export/" + f.relative_to(SLACK).as_posix())
    folder, zipped = SlackExport(SLACK), SlackExport(archive)
    for entity in ("groups", "members", "memberships", "messages"):
        fields = tuple(f.name for f in __import__("groupops.canonical").canonical.FIELDS[entity])
        assert rows(zipped, entity, fields) == rows(folder, entity, fields)
    first = next(r for r in zipped.records("messages") if r.data)
    assert first.source.startswith(f"{archive}!Acme Slack export/")


# --- Telegram ---------------------------------------------------------------------------------


def test_telegram_chat_messages() -> None:
    src = TelegramExport(TELEGRAM)
    assert rows(src, "groups", ("group_id", "name")) == [("1700000001", "产品运营群")]
    assert rows(src, "messages", MESSAGE) == [
        ("1", "user1001", "system", None, [], False, False),
        ("2", "user1001", "text", None, [], False, True),  # pinned by message 7
        ("3", "user1002", "text", "2", ["@zhangsan"], False, False),  # numeric from_id
        ("4", "user1001", "text", None, ["user1003"], False, False),
        ("5", "user1001", "system", None, [], False, False),
        ("6", "user1007", "system", None, [], False, False),
        ("7", "user1001", "system", None, [], False, False),
        ("8", "user1003", "image", None, [], False, False),
        ("9", "user1002", "voice", None, [], False, False),
        ("10", "user1002", "video", None, [], False, False),
        ("11", "user1006", "image", None, [], False, False),
        ("12", "user1001", "file", None, [], False, False),
        ("13", "user1003", "link", None, [], False, False),
        ("14", "user1001", "system", None, [], False, False),
        ("15", "user1007", "system", None, [], False, False),
        ("19", "user1002", "text", None, [], False, False),
    ]
    texts = dict(
        zip(column(src, "messages", "message_id"), column(src, "messages", "text"), strict=True)
    )
    assert texts["3"] == "收到 @zhangsan 我会准时参加"
    assert texts["4"] == "Wang Wu please review the draft"
    sent = dict(
        zip(column(src, "messages", "message_id"), column(src, "messages", "sent_at"), strict=True)
    )
    assert sent["2"] == "1793581260"  # date_unixtime preferred
    assert (
        sent["19"] == "2026-11-02T09:19:00"
    )  # naive local time: ingest reads it in the policy zone


def test_telegram_service_messages_become_memberships() -> None:
    assert rows(TelegramExport(TELEGRAM), "memberships", MEMBERSHIP) == [
        ("1700000001", "user1001", "join", "1793581200", None),
        ("1700000001", "user1002", "join", "1793581200", "user1001"),
        ("1700000001", "user1003", "join", "1793581500", "user1001"),
        ("1700000001", "user1006", "join", "1793581500", "user1001"),
        ("1700000001", "user1007", "join", "1793581560", None),
        ("1700000001", "user1006", "removed", "1793582040", "user1001"),
        ("1700000001", "user1007", "leave", "1793582100", None),
    ]
    assert rows(TelegramExport(TELEGRAM), "members", ("member_id", "display_name")) == [
        ("user1001", "张三"),
        ("user1002", "李四"),
        ("user1007", "钱七"),
        ("user1003", "Wang Wu"),
        ("user1006", "赵六"),
    ]


def test_telegram_bad_records() -> None:
    assert rejected(TelegramExport(TELEGRAM)) == [
        (16, "date", "message without a date"),
        (17, "from_id", "message without a sender"),
        (18, "(record)", "not a JSON object"),
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("user123", "user123"),
        (123, "user123"),
        ("123", "user123"),
        ("channel9", "channel9"),
        (None, None),
    ],
)
def test_telegram_both_from_id_shapes(value: object, expected: str | None) -> None:
    assert telegram_user_id(value) == expected


def test_telegram_whole_account_export_reads_every_group_chat() -> None:
    src = TelegramExport(TELEGRAM_ACCOUNT)
    assert rows(src, "groups", ("group_id", "name")) == [
        ("1700000002", "市场部"),
        ("1700000003", "旧项目群"),
    ]
    assert rejected(src, "groups") == [(3, "(record)", "chat is not an object")]
    assert rows(src, "messages", ("group_id", "message_id", "reply_to")) == [
        ("1700000002", "1", None),
        ("1700000002", "2", "1"),
        ("1700000003", "7", None),
    ]


def test_telegram_personal_chats_only_when_asked() -> None:
    src = TelegramExport(TELEGRAM_ACCOUNT, include_personal="true")
    assert ("1002", "Li Si") in rows(src, "groups", ("group_id", "name"))
    assert ("1002", "1", None) in rows(src, "messages", ("group_id", "message_id", "reply_to"))


def test_telegram_chat_without_an_id_is_named_from_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ChatExport_2026-11-05"
    folder.mkdir()
    (folder / "result.json").write_text(
        json.dumps(
            {
                "messages": [
                    {"type": "message", "date_unixtime": "1793581200", "from": "张三", "text": "hi"}
                ]
            }
        ),
        encoding="utf-8",
    )
    src = TelegramExport(folder)
    assert rows(src, "groups", ("group_id", "name")) == [
        ("chatexport_2026-11-05", "ChatExport_2026-11-05")
    ]
    assert rows(src, "messages", ("message_id", "sender_id")) == [("pos-1", "张三")]


# --- Discord ----------------------------------------------------------------------------------


def test_discord_guild_folder_with_a_thread() -> None:
    src = DiscordExport(DISCORD_GUILD)
    # The thread is folded into its parent channel.
    assert rows(src, "groups", ("group_id", "name")) == [("810000000000000001", "运营中心 #产品群")]
    got = rows(src, "messages", MESSAGE)
    short = [
        (m[-4:], s[-2:], k, r[-4:] if r else None, [x[-2:] for x in mn], a, p)
        for m, s, k, r, mn, a, p in got
    ]
    assert short == [
        ("0101", "01", "text", "0001", [], False, False),  # thread message → thread starter
        ("0102", "02", "text", "0101", ["01"], False, False),
        ("0001", "03", "system", None, [], False, False),
        ("0002", "01", "text", None, ["03"], False, True),
        ("0003", "03", "text", "0002", [], False, False),
        ("0004", "01", "text", None, [], True, False),
        ("0005", "02", "image", None, [], False, False),
        ("0006", "02", "file", None, [], False, False),
        ("0007", "02", "video", None, [], False, False),
        ("0008", "03", "voice", None, [], False, False),
        ("0009", "03", "image", None, [], False, False),
        ("0010", "09", "link", None, [], False, False),
        ("0011", "01", "system", None, [], False, False),
        ("0012", "01", "system", "0002", [], False, False),
    ]
    assert rows(src, "memberships", ("member_id", "event", "at")) == [
        ("900000000000000003", "join", "2026-11-02T01:00:00.000+00:00")
    ]
    assert rejected(src) == [
        (13, "author", "message without an author id"),
        (14, "timestamp", "message without a timestamp"),
        (15, "(record)", "not a JSON object"),
        (16, "id", "message without an id"),
    ]


def test_discord_group_dm_recipients_are_memberships() -> None:
    src = DiscordExport(DISCORD_DM)
    assert rows(src, "memberships", ("member_id", "event", "approved_by")) == [
        ("900000000000000002", "join", "900000000000000001"),
        ("900000000000000003", "removed", "900000000000000001"),
        ("900000000000000002", "leave", None),
    ]
    assert rows(src, "groups", ("group_id", "name")) == [("830000000000000001", "小分队")]


def test_discord_non_export_json_in_a_folder_is_quarantined(tmp_path: Path) -> None:
    shutil.copy(DISCORD_DM, tmp_path / "dm.json")
    (tmp_path / "notes.json").write_text('{"hello": 1}', encoding="utf-8")
    src = DiscordExport(tmp_path)
    assert rejected(src) == [(0, "(file)", "not a DiscordChatExporter export")]
    assert len(column(src, "messages", "message_id")) == 4


# --- WhatsApp ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stamp", "order", "expected"),
    [
        ("18/03/2022, 14:56", "dmy", "2022-03-18T14:56:00"),
        ("3/18/22, 14:56:01", "mdy", "2022-03-18T14:56:01"),
        ("2019-04-16 02:09", "ymd", "2019-04-16T02:09:00"),
        ("23.03.22 13:31", "dmy", "2022-03-23T13:31:00"),
        ("3/27/22 21.41.35", "mdy", "2022-03-27T21:41:35"),  # Indonesian dots
        ("21:41:35, 3/27/22", "mdy", "2022-03-27T21:41:35"),  # Vietnamese: time first
        ("01/30/2019, 08:49 p. m.", "mdy", "2019-01-30T20:49:00"),
        ("06/20/2020, 00:08 a. m.", "mdy", "2020-06-20T00:08:00"),
        ("2016-10-31, 12:23 p.m.", "ymd", "2016-10-31T12:23:00"),
        ("25/10/26, 12:30:00 AM", "dmy", "2026-10-25T00:30:00"),
        ("2026/11/2 下午3:09", "ymd", "2026-11-02T15:09:00"),
        ("2026/11/2 上午12:05", "ymd", "2026-11-02T00:05:00"),
        ("2022/03/27 午後9:41", "ymd", "2022-03-27T21:41:00"),
        ("18/3/2022, 2:56:00 م", "dmy", "2022-03-18T14:56:00"),  # Arabic PM
        ("3/18/2565 BE, 14:56:01", "mdy", "2022-03-18T14:56:01"),  # Buddhist
        ("3/18/R4, 14:56:01", "mdy", "2022-03-18T14:56:01"),  # Japanese era
    ],
)
def test_whatsapp_stamps(stamp: str, order: Any, expected: str) -> None:
    """Local wall time (naive): ingest reads it in the policy's zone."""
    assert parse_stamp(stamp, order).isoformat() == expected


@pytest.mark.parametrize(
    ("stamp", "reason"),
    [
        ("2026/13/2 15:09", "month must be in 1..12"),
        ("1/2/26, 13:05 PM", "hour 13 with a 12-hour marker"),
        ("1/2/26, 1:05 xyz", "unknown AM/PM marker 'xyz'"),
    ],
)
def test_whatsapp_stamps_that_cannot_be_read(stamp: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_stamp(stamp, "ymd" if stamp.startswith("2026") else "dmy")


@pytest.mark.parametrize(
    ("stamps", "order"),
    [
        (["1/2/26, 9:00", "25/2/26, 9:00"], "dmy"),
        (["1/2/26, 9:00", "2/25/26, 9:00"], "mdy"),
        (["2026-01-02 9:00"], "ymd"),
        (["3/18/R4, 9:00"], "mdy"),  # an era year is last: decided by the 18
        (["1/2/26, 9:00", "2/3/26, 9:00"], None),
    ],
)
def test_whatsapp_date_order_detection(stamps: list[str], order: str | None) -> None:
    assert detect_date_order(stamps) == order


@pytest.mark.parametrize(
    ("line", "header"),
    [
        ("[18/03/2022, 14:56:01] A: hi", ("18/03/2022, 14:56:01", "A: hi")),
        (
            "\u200e[3/27/22, 9:41:55\u202fPM] B: \u200eimage omitted",
            ("3/27/22, 9:41:55 PM", "B: image omitted"),
        ),
        ("18/03/2022, 14:56 - A: hi", ("18/03/2022, 14:56", "A: hi")),
        ("2026/11/2 下午3:09 - 张三 移除了 赵六", ("2026/11/2 下午3:09", "张三 移除了 赵六")),
        ("[١٨\u200f/٣\u200f/٢٠٢٢، ٢:٥٦:٠٠\u00a0م] A: x", ("18/3/2022, 2:56:00 م", "A: x")),
        ("consectetur adipiscing elit.", None),
        ("12 - 3 = 9", None),
    ],
)
def test_whatsapp_header_lines(line: str, header: tuple[str, str] | None) -> None:
    found = match_header(line)
    assert (None if found is None else (found.stamp, found.rest)) == header


@pytest.mark.parametrize(
    ("text", "marked", "kind"),
    [
        ("<Media omitted>", False, "file"),
        ("<省略影音内容>", False, "file"),
        ("<attached: 00000035-PHOTO-2022-03-27-21-41-55.jpg>", True, "image"),
        ("VID-20220327-WA0001.mp4 (file attached)", False, "video"),
        ("PTT-20220327-WA0000.opus (bestand bijgevoegd)", False, "voice"),
        ("image omitted", True, "image"),
        ("Video weggelassen", True, "video"),
        ("audio omitted", True, "voice"),
        ("document omitted", True, "file"),
        ("image omitted", False, None),  # typed by a person, not generated
        ("hello", True, None),
    ],
)
def test_whatsapp_media_placeholders(text: str, marked: bool, kind: str | None) -> None:
    assert media_kind(text, marked) == kind


def test_whatsapp_android_chinese_export() -> None:
    src = WhatsAppExport(WA_ANDROID)
    assert rows(src, "groups", ("group_id", "name")) == [("市场运营群", "市场运营群")]
    got = rows(src, "messages", ("sender_id", "sent_at", "kind", "text"))
    assert got == [
        ("system", "2026-11-02T09:00:00", "system", "消息和通话已进行端到端加密。"),
        ("system", "2026-11-02T09:01:00", "system", "张三 创建了群组“市场运营群”"),
        ("张三", "2026-11-02T09:02:00", "system", "张三 添加了 李四、王五"),
        (
            "张三",
            "2026-11-02T09:03:00",
            "text",
            "大家好，双十一方案今天定稿\n请在下午三点前回复\n\n谢谢！",
        ),
        ("李四", "2026-11-02T09:04:00", "file", "<省略影音内容>"),
        ("李四", "2026-11-02T09:05:00", "image", "IMG-20261102-WA0001.jpg (文件已附上)"),
        ("王五", "2026-11-02T12:06:00", "link", "https://example.com/plan"),
        ("赵六", "2026-11-02T13:07:00", "system", "赵六 通过邀请链接加入了群组"),
        ("王五", "2026-11-02T14:08:00", "system", "王五 已退出"),
        ("张三", "2026-11-02T15:09:00", "system", "张三 移除了 赵六"),
        ("李四", "2026-11-02T15:11:00", "text", "收到"),
    ]
    assert rows(src, "memberships", ("member_id", "event", "at", "approved_by")) == [
        ("李四", "join", "2026-11-02T09:02:00", "张三"),
        ("王五", "join", "2026-11-02T09:02:00", "张三"),
        ("赵六", "join", "2026-11-02T13:07:00", None),
        ("王五", "leave", "2026-11-02T14:08:00", None),
        ("赵六", "removed", "2026-11-02T15:09:00", "张三"),
    ]
    assert rejected(src) == [
        (1, "(line)", "text before the first message header"),
        (15, "sent_at", "cannot read the date: month must be in 1..12"),
    ]
    lines = [r.line for r in src.records("messages") if r.data]
    assert lines == [2, 3, 4, 5, 9, 10, 11, 12, 13, 14, 16]


def test_whatsapp_ios_export_folder() -> None:
    src = WhatsAppExport(WA_IOS)
    assert src.detect_order() == "dmy"  # 25/10 decides
    assert rows(src, "groups", ("group_id", "name")) == [("项目群-ios", "项目群-ios")]
    got = rows(src, "messages", ("sender_id", "sent_at", "kind", "text"))
    assert got == [
        (
            "project-lead",
            "2026-10-25T09:00:00",
            "system",
            "Messages and calls are end-to-end encrypted. No one outside of this chat, not even "
            "WhatsApp, can read or listen to them.",
        ),
        ("project-lead", "2026-10-25T09:01:15", "text", "Kick-off at 3pm.\nAgenda:\n1. scope: MVP"),
        ("zhang-san", "2026-10-25T09:02:00", "image", "image omitted"),
        (
            "zhang-san",
            "2026-10-25T09:03:00",
            "image",
            "<attached: 00000012-PHOTO-2026-10-25-09-03-00.jpg>",
        ),
        ("+86-138-0000-0000", "2026-10-25T12:04:00", "file", "document omitted"),
        ("zhang-san", "2026-10-25T00:30:00", "text", "just after midnight"),
        ("project-lead", "2026-11-01T13:05:00", "voice", "audio omitted"),
        ("project-lead", "2026-11-01T13:06:00", "system", "You deleted this message."),
        ("zhang-san", "2026-11-01T13:07:00", "text", "Thanks!"),
    ]
    assert ("+86-138-0000-0000", "+86 138 0000 0000") in rows(
        src, "members", ("member_id", "display_name")
    )
    assert rejected(src) == []


def test_whatsapp_message_ids_are_stable_and_unique() -> None:
    first = column(WhatsAppExport(WA_ANDROID), "messages", "message_id")
    assert first == column(WhatsAppExport(WA_ANDROID), "messages", "message_id")
    assert len(set(first)) == len(first)


def test_whatsapp_repeated_identical_lines_get_distinct_ids(tmp_path: Path) -> None:
    chat = tmp_path / "dup.txt"
    chat.write_text("1/2/26, 9:00 - A: ok\n1/2/26, 9:00 - A: ok\n", encoding="utf-8")
    ids = column(WhatsAppExport(chat), "messages", "message_id")
    assert len(ids) == 2 and ids[1] == ids[0] + "-1"


@pytest.mark.parametrize(
    ("line", "events"),
    [
        ("Dmitry S added you", [("me", "join", "dmitry-s")]),
        (
            "You added Alice, Bob and 张三",
            [("alice", "join", "me"), ("bob", "join", "me"), ("张三", "join", "me")],
        ),
        ("张三 添加了 李四、王五", [("李四", "join", "张三"), ("王五", "join", "张三")]),
        ("You removed +7 999 999-99-99", [("+7-999-999-99-99", "removed", "me")]),
        ("Alice left", [("alice", "leave", None)]),
        ("You left", [("me", "leave", None)]),
        (
            "+7 999 999-99-99 joined using this group's invite link",
            [("+7-999-999-99-99", "join", None)],
        ),
        ("赵六 通过邀请链接加入了群组", [("赵六", "join", None)]),
        ("Dmitry S changed the group description", []),
        ("Messages and calls are end-to-end encrypted.", []),
    ],
)
def test_whatsapp_membership_lines(
    tmp_path: Path, line: str, events: list[tuple[str, str, str | None]]
) -> None:
    chat = tmp_path / "g.txt"
    chat.write_text(f"02/11/2026, 09:00 - {line}\n", encoding="utf-8")
    src = WhatsAppExport(chat, self_name="Me")
    assert rows(src, "memberships", ("member_id", "event", "approved_by")) == events
    senders = column(src, "messages", "sender_id")
    assert senders == [events[0][2] or events[0][0]] if events else senders == ["system"]


def test_whatsapp_edited_note_is_dropped_from_the_text(tmp_path: Path) -> None:
    chat = tmp_path / "g.txt"
    chat.write_text(
        "[02/11/2026, 09:00:00] A: 周会改到周三 \u200e<This message was edited>\n"
        "[02/11/2026, 09:01:00] A: 第一行\n第二行 <This message was edited>\n"
        "[02/11/2026, 09:02:00] A: plain\n",
        encoding="utf-8",
    )
    got = [
        (r.data["text"], dict(r.extra)) for r in WhatsAppExport(chat).records("messages") if r.data
    ]
    assert got == [
        ("周会改到周三", {"edited": True}),
        ("第一行\n第二行", {"edited": True}),
        ("plain", {}),
    ]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("This message was deleted", "system"),
        ("此消息已删除", "system"),
        ("Missed voice call", "system"),
        ("我删了那条消息", "text"),
        ("https://example.com/a", "link"),
    ],
)
def test_whatsapp_android_generated_texts_are_system(tmp_path: Path, text: str, kind: str) -> None:
    chat = tmp_path / "g.txt"
    chat.write_text(f"02/11/2026, 09:00 - 张三: {text}\n", encoding="utf-8")
    assert column(WhatsAppExport(chat), "messages", "kind") == [kind]


def test_whatsapp_mentions_resolve_to_senders_of_the_chat(tmp_path: Path) -> None:
    chat = tmp_path / "群.txt"
    chat.write_text(
        "2026/11/2 09:00 - 张三: @李四 @Zhang San, 请确认\n"
        "2026/11/2 09:01 - 李四: 好的 @张三。\n"
        "2026/11/2 09:02 - Zhang San: cc @+86 138 0000 0000 and @8613900000000\n"
        "2026/11/2 09:03 - +86 138 0000 0000: ok\n"
        "2026/11/2 09:04 - +86 139 0000 0000: mail me at a@example.com, @nobody\n",
        encoding="utf-8",
    )
    assert column(WhatsAppExport(chat), "messages", "mentions") == [
        ["李四", "zhang-san"],
        ["张三"],
        ["+86-138-0000-0000", "+86-139-0000-0000"],
        [],
        [],
    ]


def test_whatsapp_ambiguous_dates_follow_time_order_or_the_override() -> None:
    assert column(WhatsAppExport(WA_AMBIGUOUS), "messages", "sent_at") == [
        "2025-01-12T09:00:00",
        "2025-02-01T09:00:00",
        "2025-02-02T09:00:00",
    ]
    assert column(WhatsAppExport(WA_AMBIGUOUS, date_order="mdy"), "messages", "sent_at") == [
        "2025-12-01T09:00:00",
        "2025-01-02T09:00:00",
        "2025-02-02T09:00:00",
    ]
    with pytest.raises(ValueError, match="date_order"):
        WhatsAppExport(WA_AMBIGUOUS, date_order="ydm")


def test_whatsapp_zip_from_the_phone(tmp_path: Path) -> None:
    archive = tmp_path / "WhatsApp Chat - 项目群.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(WA_IOS / "_chat.txt", "_chat.txt")
        zf.writestr("00000012-PHOTO-2026-10-25-09-03-00.jpg", b"\xff\xd8")
    src = WhatsAppExport(archive)
    assert rows(src, "groups", ("group_id", "name")) == [("项目群", "项目群")]
    fields = ("sender_id", "sent_at", "kind", "text")
    assert rows(src, "messages", fields) == rows(WhatsAppExport(WA_IOS), "messages", fields)


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("WhatsApp Chat with Group Chat XXX Android.txt", "Group Chat XXX Android"),
        ("WhatsApp Chat - Elon Musk (EN).txt", "Elon Musk (EN)"),
        ("exports/项目群/_chat.txt", "项目群"),
        ("市场群.txt", "市场群"),
    ],
)
def test_whatsapp_chat_title_from_the_file_name(path: str, title: str) -> None:
    assert chat_title(Path(path)) == title


# --- WeChat (MemoTrace CSV) -------------------------------------------------------------------


def test_wechat_group_csv() -> None:
    src = WeChatCsvExport(WECHAT_GROUP)
    assert rows(src, "groups", ("group_id", "name")) == [("项目群", "项目群")]
    assert rows(
        src, "messages", ("message_id", "sender_id", "kind", "mentions", "mention_all")
    ) == [
        ("1", "wxid_zhang", "system", [], False),
        ("2", "wxid_zhang", "text", ["wxid_li"], False),
        ("3", "wxid_li", "text", [], False),
        ("4", "wxid_wang", "image", [], False),
        ("5", "wxid_li", "voice", [], False),
        ("6", "wxid_wang", "video", [], False),
        ("7", "wxid_wang", "image", [], False),
        ("8", "wxid_zhang", "file", [], False),
        ("9", "wxid_wang", "link", [], False),
        ("10", "wxid_li", "text", [], False),
        ("11", "wxid_zhang", "text", [], True),
        ("12", "wxid_zhang", "system", [], False),
        ("13", "self", "system", [], False),
        ("14", "wxid_wang", "link", [], False),
        ("18", "wxid_wang", "text", [], False),
    ]
    sent = dict(
        zip(column(src, "messages", "message_id"), column(src, "messages", "sent_at"), strict=True)
    )
    assert sent["2"] == "1793581260" and sent["18"] == "2026-11-02 09:17:00"
    texts = column(src, "messages", "text")
    assert "@所有人\u2005下午三点开会\n地点：3楼会议室" in texts  # a quoted multi-line cell
    assert rows(src, "memberships", ("member_id", "event", "approved_by")) == [
        ("wxid_li", "join", "wxid_zhang"),
        ("wxid_wang", "join", "wxid_zhang"),
        ("赵六", "join", "wxid_zhang"),
        ("赵六", "removed", "self"),
    ]
    assert rejected(src) == [
        (17, "Type", "unknown WeChat message Type 9999"),
        (18, "Type", "Type is not a number: 'abc'"),
        (19, "localId", "row without a localId"),
        (21, "CreateTime", "row with neither CreateTime nor StrTime"),
        (22, "(record)", "13 values for 12 columns"),
    ]


@pytest.mark.parametrize(
    ("notice", "events"),
    [
        (
            '"张三"邀请"李四、王五"加入了群聊',
            [("wxid_li", "join", "wxid_zhang"), ("王五", "join", "wxid_zhang")],
        ),
        (
            '"张三"邀请"李四"、"王五"加入了群聊',
            [("wxid_li", "join", "wxid_zhang"), ("王五", "join", "wxid_zhang")],
        ),
        ("“张三”邀请你加入了群聊", [("self", "join", "wxid_zhang")]),
        ('你邀请"王五"加入了群聊', [("王五", "join", "self")]),
        ('"王五"通过扫描你分享的二维码加入群聊', [("王五", "join", "self")]),
        ('"王五"通过扫描"张三"分享的二维码加入群聊', [("王五", "join", "wxid_zhang")]),
        ('你将"李四"移出了群聊', [("wxid_li", "removed", "self")]),
        ('"李四"退出了群聊', [("wxid_li", "leave", None)]),
        ('"李四"撤回了一条消息', []),
        ('"张三"修改群名为"运营群"', []),
    ],
)
def test_wechat_membership_notices(
    tmp_path: Path, notice: str, events: list[tuple[str, str, str | None]]
) -> None:
    path = tmp_path / "群_utf8.csv"
    rows_ = [
        ["localId", "Type", "IsSender", "CreateTime", "StrContent", "NickName", "Sender"],
        ["1", "1", "0", "1793581200", "hi", "张三", "wxid_zhang"],
        ["2", "1", "0", "1793581260", "hi", "李四", "wxid_li"],
        ["3", "10000", "0", "1793581320", notice, "", ""],
    ]
    path.write_text(
        "\n".join(",".join(f'"{v.replace(chr(34), chr(34) * 2)}"' for v in r) for r in rows_),
        encoding="utf-8",
    )
    assert (
        rows(WeChatCsvExport(path), "memberships", ("member_id", "event", "approved_by")) == events
    )


def test_wechat_gbk_one_to_one_chat() -> None:
    assert detect_encoding(WECHAT_GBK) == "gb18030"
    assert detect_encoding(WECHAT_GROUP) == "utf-8-sig"
    src = WeChatCsvExport(WECHAT_GBK)
    assert rows(src, "messages", ("sender_id", "kind", "text")) == [
        ("客户王总", "text", "在吗？合同发你了"),
        ("self", "text", "收到，今天看完"),
        ("客户王总", "file", "合同.docx"),
    ]
    named = WeChatCsvExport(WECHAT_GBK, group_id="wxid_wang", self_id="wxid_me", self_name="我")
    assert column(named, "messages", "sender_id") == ["wxid_wang", "wxid_me", "wxid_wang"]


def test_wechat_csv_without_the_memotrace_columns(tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    other.write_text("id,text\n1,hi\n", encoding="utf-8")
    assert rejected(WeChatCsvExport(other)) == [
        (
            1,
            "(header)",
            "not a MemoTrace CSV: missing column(s) localId, Type, IsSender, StrContent",
        )
    ]


# --- detection --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        (SLACK, "slack"),
        (TELEGRAM, "telegram"),
        (TELEGRAM.parent, "telegram"),  # a folder with result.json
        (TELEGRAM_ACCOUNT, "telegram"),
        (DISCORD_GUILD, "discord"),
        (DISCORD_DM, "discord"),
        (WA_ANDROID, "whatsapp"),
        (WA_IOS, "whatsapp"),
        (WA_AMBIGUOUS, "whatsapp"),
        (WECHAT_GROUP, "wechat-csv"),
        (WECHAT_GBK, "wechat-csv"),
    ],
)
def test_detect_format(path: Path, fmt: str) -> None:
    assert detect_format(path) == fmt
    source, chosen = open_source(path)
    assert chosen == fmt and source.format == fmt


def test_detect_zips(tmp_path: Path) -> None:
    slack_zip = tmp_path / "slack.zip"
    with zipfile.ZipFile(slack_zip, "w") as zf:
        zf.write(SLACK / "channels.json", "channels.json")
        zf.write(SLACK / "users.json", "users.json")
    wa_zip = tmp_path / "WhatsApp Chat - x.zip"
    with zipfile.ZipFile(wa_zip, "w") as zf:
        zf.write(WA_IOS / "_chat.txt", "_chat.txt")
    assert (detect_format(slack_zip), detect_format(wa_zip)) == ("slack", "whatsapp")


def test_detect_canonical_bundle(tmp_path: Path) -> None:
    from tests.bundles import write_bundle

    bundle = write_bundle(tmp_path / "bundle")
    assert detect_format(bundle) == "canonical"
    source, chosen = open_source(bundle)
    assert chosen == "canonical" and source.format == "canonical"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.txt", "just some notes\nnothing to see\n"),
        ("agenda.txt", "Meeting notes 12:00 - 13:00\nRoom 3\n"),
        ("api.json", '{"ok": true, "messages": [{"ts": "1.2"}]}'),
        ("table.csv", "a,b\n1,2\n"),
    ],
)
def test_detect_refuses_what_no_importer_reads(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UnknownFormatError, match=name):
        detect_format(path)


def test_open_source_passes_options_and_refuses_unknown_formats() -> None:
    source, chosen = open_source(WA_AMBIGUOUS, "whatsapp", date_order="mdy")
    assert chosen == "whatsapp" and isinstance(source, WhatsAppExport)
    assert source.detect_order() == "mdy"
    with pytest.raises(ValueError, match="unknown format 'irc'"):
        open_source(WA_AMBIGUOUS, "irc")
    with pytest.raises(ValueError, match="format 'slack' takes no option date_order"):
        open_source(SLACK, "auto", date_order="mdy")
