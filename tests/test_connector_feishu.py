"""The Feishu connector against a local server answering the documented im/v1 shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from groupops.connectors.base import (
    PlatformError,
    Pull,
    RateLimited,
    Watermark,
    decode_cursor,
    encode_cursor,
)
from groupops.connectors.feishu import FeishuConnector
from tests.fake_feishu import APP_ID, APP_SECRET, FakeFeishu

CHAT = "oc_ops_chat"
T0_MS = 1_762_045_200_123  # 2025-11-02T01:00:00.123Z
NOW = datetime(2025, 11, 3, tzinfo=UTC)


def connector(fake: FakeFeishu, **kwargs: Any) -> FeishuConnector:
    return FeishuConnector(fake.base_url, APP_ID, SecretStr(APP_SECRET), **kwargs)


def seed(fake: FakeFeishu) -> dict[str, str]:
    fake.add_chat(CHAT, "产品运营群", "ou_owner", ["ou_mgr", "ou_owner"])
    for open_id, name in [
        ("ou_owner", "张总"),
        ("ou_mgr", "李经理"),
        ("ou_a", "王五"),
        ("ou_b", "赵六"),
    ]:
        fake.add_member(CHAT, open_id, name)
    ids: dict[str, str] = {}
    ids["hello"] = fake.add_message(
        CHAT,
        "ou_mgr",
        T0_MS,
        {"text": "@_user_1 请今天下班前提交周报"},
        mentions=[
            {
                "key": "@_user_1",
                "id": "ou_a",
                "id_type": "open_id",
                "name": "王五",
                "tenant_key": "tk",
            }
        ],
    )
    ids["reply"] = fake.add_message(
        CHAT, "ou_a", T0_MS + 60_000, {"text": "好的"}, parent_id=ids["hello"]
    )
    ids["all"] = fake.add_message(CHAT, "ou_owner", T0_MS + 120_000, {"text": "@_all 明天上午开会"})
    ids["post"] = fake.add_message(
        CHAT,
        "ou_b",
        T0_MS + 180_000,
        {
            "title": "周报",
            "content": [
                [
                    {"tag": "text", "text": "本周完成 "},
                    {"tag": "at", "user_id": "ou_mgr", "user_name": "李经理"},
                ]
            ],
        },
        msg_type="post",
    )
    ids["image"] = fake.add_message(
        CHAT, "ou_b", T0_MS + 240_000, {"image_key": "img_v2_x"}, msg_type="image"
    )
    ids["gone"] = fake.add_message(CHAT, "ou_b", T0_MS + 300_000, {"text": "发错了"})
    fake.messages[CHAT][-1]["deleted"] = True
    fake.pins[CHAT].append(ids["all"])
    return ids


def msgs(pull: Pull) -> dict[str, dict[str, Any]]:
    return {str(r.data["message_id"]): dict(r.data) for r in pull.records("messages") if r.data}


def test_pull_reads_every_page_with_documented_units(feishu_server: FakeFeishu) -> None:
    ids = seed(feishu_server)
    since = datetime(2025, 11, 2, tzinfo=UTC)
    with connector(feishu_server, page_size=2, history_since=since) as conn:
        pull = conn.pull(CHAT, None, now=NOW)
    calls = feishu_server.seen("/open-apis/im/v1/messages")
    assert len(calls) == 3  # six items, two per page
    first = calls[0].query
    assert first == {
        "container_id_type": "chat",
        "container_id": CHAT,
        "sort_type": "ByCreateTimeAsc",
        "page_size": "2",
        "start_time": str(int(since.timestamp())),  # seconds, not milliseconds
        "end_time": str(int(NOW.timestamp())),
    }
    assert [c.query.get("page_token") for c in calls] == [None, "2", "4"]
    assert all(c.headers["Authorization"] == "Bearer t-tenant-token-1" for c in calls)
    got = msgs(pull)
    assert list(got) == [ids[k] for k in ("hello", "reply", "all", "post", "image")]
    assert pull.skipped == 1  # the recalled message
    hello = got[ids["hello"]]
    assert hello["sent_at"] == "2025-11-02T01:00:00.123+00:00"  # create_time in milliseconds
    assert hello["text"] == "@王五 请今天下班前提交周报" and hello["mentions"] == ["ou_a"]
    assert hello["sender_id"] == "ou_mgr" and hello["kind"] == "text"
    assert got[ids["reply"]]["reply_to"] == ids["hello"]
    assert got[ids["all"]]["mention_all"] is True and got[ids["all"]]["pinned"] is True
    assert got[ids["all"]]["text"] == "@所有人 明天上午开会"
    assert got[ids["post"]]["text"] == "周报\n本周完成 @李经理"
    assert got[ids["image"]]["kind"] == "image"
    (group,) = [r.data for r in pull.records("groups")]
    assert group == {
        "platform": "feishu",
        "group_id": CHAT,
        "name": "产品运营群",
        "owner_id": "ou_owner",
        "admin_ids": ["ou_mgr"],
    }
    assert {
        r.data["member_id"]: r.data["display_name"] for r in pull.records("members") if r.data
    } == {"ou_owner": "张总", "ou_mgr": "李经理", "ou_a": "王五", "ou_b": "赵六"}
    assert pull.watermark == Watermark(
        encode_cursor(ids["gone"], [ids["all"]]),
        datetime.fromtimestamp((T0_MS + 300_000) / 1000, UTC),
    )
    assert feishu_server.tokens_issued == 1  # cached across calls


def test_incremental_pull_from_the_watermark(feishu_server: FakeFeishu) -> None:
    ids = seed(feishu_server)
    with connector(feishu_server, page_size=50) as conn:
        first = conn.pull(CHAT, None, now=NOW)
        assert "start_time" not in feishu_server.seen("/open-apis/im/v1/messages")[0].query
        again = conn.pull(CHAT, first.watermark, now=NOW)
        assert msgs(again) == {} and again.watermark == first.watermark
        start = feishu_server.seen("/open-apis/im/v1/messages")[-1].query["start_time"]
        assert start == str((T0_MS + 300_000) // 1000)
        same_second = feishu_server.add_message(CHAT, "ou_a", T0_MS + 300_500, {"text": "同一秒"})
        later = feishu_server.add_message(CHAT, "ou_b", T0_MS + 900_000, {"text": "稍后"})
        new = conn.pull(CHAT, first.watermark, now=NOW)
    assert list(msgs(new)) == [same_second, later]
    assert ids["gone"] not in msgs(new)
    assert decode_cursor(new.watermark.cursor) == (later, frozenset({ids["all"]}))


def test_max_messages_bounds_a_pull_and_the_next_one_resumes(feishu_server: FakeFeishu) -> None:
    seed(feishu_server)
    feishu_server.pins[CHAT].clear()
    seen: list[str] = []
    watermark = None
    with connector(feishu_server, page_size=2, max_messages=2) as conn:
        for _ in range(4):
            pull = conn.pull(CHAT, watermark, now=NOW)
            seen += list(msgs(pull))
            watermark = pull.watermark
    assert len(seen) == len(set(seen)) == 5


def test_write_capabilities_call_the_documented_endpoints(feishu_server: FakeFeishu) -> None:
    ids = seed(feishu_server)
    with connector(feishu_server) as conn:
        conn.pin(CHAT, ids["hello"])
        assert conn.list_pins(CHAT) == [ids["all"], ids["hello"]]
        conn.unpin(CHAT, ids["all"])
        assert conn.list_pins(CHAT) == [ids["hello"]]
        assert feishu_server.seen(f"/open-apis/im/v1/pins/{ids['all']}", "DELETE")

        conn.recall(CHAT, ids["reply"])
        assert feishu_server.seen(f"/open-apis/im/v1/messages/{ids['reply']}", "DELETE")

        conn.mute(CHAT, "ou_b")
        assert feishu_server.moderation[CHAT] == ("moderator_list", ["ou_a", "ou_mgr", "ou_owner"])
        conn.mute(CHAT, "ou_a")
        assert feishu_server.moderation[CHAT] == ("moderator_list", ["ou_mgr", "ou_owner"])
        conn.unmute(CHAT, "ou_b")
        assert feishu_server.moderation[CHAT] == ("moderator_list", ["ou_b", "ou_mgr", "ou_owner"])
        conn.unmute(CHAT, "ou_a")
        assert feishu_server.moderation[CHAT] == ("all_members", [])
        put = feishu_server.seen(f"/open-apis/im/v1/chats/{CHAT}/moderation", "PUT")[0]
        assert put.query == {"user_id_type": "open_id"}
        assert put.body["moderator_removed_list"] == ["ou_b"]

        conn.remove_member(CHAT, "ou_b", reason="多次违规")
        removal = feishu_server.seen(f"/open-apis/im/v1/chats/{CHAT}/members", "DELETE")[0]
        assert removal.query == {"member_id_type": "open_id"} and removal.body == {
            "id_list": ["ou_b"]
        }
        assert "ou_b" not in {m.member_id for m in conn.list_members(CHAT)}

        posted = conn.post(CHAT, "请更新任务进度", mentions=["ou_a"])
        sent = feishu_server.seen("/open-apis/im/v1/messages", "POST")[0]
        assert sent.query == {"receive_id_type": "chat_id"}
        assert sent.body["receive_id"] == CHAT and sent.body["msg_type"] == "text"
        assert json.loads(sent.body["content"]) == {
            "text": '<at user_id="ou_a"></at> 请更新任务进度'
        }
        info = conn.group_info(CHAT)
    assert posted.startswith("om_")
    assert (info.owner_id, info.admin_ids) == ("ou_owner", ("ou_mgr",))


def test_rate_limit_is_waited_out_or_raised(feishu_server: FakeFeishu) -> None:
    seed(feishu_server)
    waits: list[float] = []
    feishu_server.rate_limit["/open-apis/im/v1/messages"] = 1
    with connector(feishu_server, sleep=waits.append, max_inline_wait_s=5) as conn:
        pull = conn.pull(CHAT, None, now=NOW)
    assert waits == [2.0] and len(msgs(pull)) == 5  # x-ogw-ratelimit-reset: 2
    feishu_server.rate_limit["/open-apis/im/v1/messages"] = 1
    limited = connector(feishu_server, sleep=waits.append, max_inline_wait_s=1)
    with limited, pytest.raises(RateLimited) as info:
        limited.pull(CHAT, None, now=NOW)
    assert info.value.retry_after == 2.0 and info.value.transient


def test_credentials_errors_and_masking(feishu_server: FakeFeishu) -> None:
    seed(feishu_server)
    bad = FeishuConnector(feishu_server.base_url, APP_ID, SecretStr("wrong"))
    assert "wrong" not in repr(bad) and APP_SECRET not in repr(connector(feishu_server))
    with bad, pytest.raises(PlatformError) as info:
        bad.list_members(CHAT)
    assert info.value.code == "10003" and not info.value.transient
    with connector(feishu_server) as conn, pytest.raises(PlatformError) as info:
        conn.group_info("oc_missing")
    assert info.value.code == "232006"


def test_naive_times_are_refused(feishu_server: FakeFeishu) -> None:
    seed(feishu_server)
    with connector(feishu_server) as conn, pytest.raises(ValueError, match="aware"):
        conn.pull(CHAT, None, now=NOW.replace(tzinfo=None))


def test_tenant_token_is_cached_renewed_on_expiry_and_when_refused(
    feishu_server: FakeFeishu,
) -> None:
    seed(feishu_server)
    clock = [0.0]
    with connector(feishu_server, clock=lambda: clock[0]) as conn:
        conn.list_pins(CHAT)
        conn.list_pins(CHAT)
        assert feishu_server.tokens_issued == 1
        clock[0] = 7200 - 300  # within five minutes of the documented expiry: renew first
        conn.list_pins(CHAT)
        assert feishu_server.tokens_issued == 2
        feishu_server.token = "t-rotated"  # the platform revoked the cached token
        assert conn.list_pins(CHAT) == [feishu_server.pins[CHAT][0]]
    assert feishu_server.tokens_issued == 3
    refused = [r for r in feishu_server.requests if r.path == "/open-apis/im/v1/pins"]
    assert [r.headers["Authorization"] for r in refused[-2:]] == [
        "Bearer t-tenant-token-1",
        "Bearer t-rotated",
    ]


def test_pin_changes_re_emit_older_messages(feishu_server: FakeFeishu) -> None:
    ids = seed(feishu_server)
    with connector(feishu_server) as conn:
        first = conn.pull(CHAT, None, now=NOW)
        conn.pin(CHAT, ids["hello"])
        conn.unpin(CHAT, ids["all"])
        second = conn.pull(CHAT, first.watermark, now=NOW)
        third = conn.pull(CHAT, second.watermark, now=NOW)
    got = msgs(second)
    assert {k: v["pinned"] for k, v in got.items()} == {ids["hello"]: True, ids["all"]: False}
    assert got[ids["hello"]]["text"] == "@王五 请今天下班前提交周报"  # GET messages/{id}
    assert feishu_server.seen(f"/open-apis/im/v1/messages/{ids['hello']}")
    assert msgs(third) == {}
    assert second.watermark.at == first.watermark.at
