"""The Slack connector (slack-sdk) against a local server answering the documented shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from groupops.connectors.base import (
    Capability,
    PlatformError,
    Pull,
    RateLimited,
    UnsupportedCapability,
    decode_cursor,
)
from groupops.connectors.slack import SlackConnector, ts_to_datetime
from tests.fake_slack import TOKEN, FakeSlack

C = "C0MARKET"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def connector(fake: FakeSlack, **kwargs: Any) -> SlackConnector:
    return SlackConnector(fake.base_url, SecretStr(TOKEN), **kwargs)


def seed(fake: FakeSlack) -> dict[str, str]:
    fake.channels[C] = {"name": "marketing-ops", "creator": "U1"}
    fake.members[C] = ["U1", "U2", "U3", "U4"]
    fake.users = [
        {"id": "U1", "name": "lin", "real_name": "林总", "profile": {"display_name": "林总", "email": "lin@example.com"}, "is_owner": True},
        {"id": "U2", "name": "wu", "real_name": "吴敏", "profile": {"display_name": "", "email": "wu@example.com"}, "is_admin": True},
        {"id": "U3", "name": "he", "real_name": "何磊", "profile": {"display_name": "阿磊"}},
        {"id": "U4", "name": "xu", "real_name": "徐静", "profile": {"display_name": "徐静"}},
    ]  # fmt: skip
    ids = {k: fake.next_ts() for k in ("join", "ask", "file", "all", "bot")}
    fake.history[C] = [
        {"type": "message", "subtype": "channel_join", "user": "U4", "text": "<@U4> has joined the channel", "ts": ids["join"]},
        {"type": "message", "user": "U2", "text": "<@U3> 活动海报今天能出吗？", "ts": ids["ask"], "thread_ts": ids["ask"], "reply_count": 2},
        {"type": "message", "user": "U3", "text": "初稿", "ts": ids["file"], "files": [{"id": "F1", "mimetype": "image/png"}]},
        {"type": "message", "user": "U1", "text": "<!channel> 周五前交方案", "ts": ids["all"]},
        {"type": "message", "subtype": "bot_message", "bot_id": "B9", "text": "日报已生成", "ts": ids["bot"]},
    ]  # fmt: skip
    ids["r1"], ids["r2"] = fake.next_ts(), fake.next_ts()
    fake.replies[(C, ids["ask"])] = [
        {"type": "message", "user": "U3", "text": "下午可以", "ts": ids["r1"], "thread_ts": ids["ask"]},
        {"type": "message", "user": "U2", "text": "<@U3> 好，谢谢", "ts": ids["r2"], "thread_ts": ids["ask"]},
    ]  # fmt: skip
    fake.pins[C] = [ids["all"]]
    return ids


def msgs(pull: Pull) -> dict[str, dict[str, Any]]:
    return {str(r.data["message_id"]): dict(r.data) for r in pull.records("messages") if r.data}


def test_pull_pages_threads_mentions_and_members(slack_server: FakeSlack) -> None:
    ids = seed(slack_server)
    with connector(slack_server, page_size=2) as conn:
        pull = conn.pull(C, None, now=NOW)
    history = slack_server.called("conversations.history")
    assert [c.params.get("cursor") for c in history] == [None, "2", "4"]
    assert history[0].params["channel"] == C and history[0].params["limit"] == "2"
    assert "oldest" not in history[0].params
    assert history[0].headers["Authorization"] == f"Bearer {TOKEN}"
    replies = slack_server.called("conversations.replies")
    assert {c.params["ts"] for c in replies} == {ids["ask"]}
    got = msgs(pull)
    assert list(got) == [ids[k] for k in ("ask", "r1", "r2", "file", "all", "bot")]
    ask = got[ids["ask"]]
    assert ask["mentions"] == ["U3"] and ask["reply_to"] is None
    assert ask["sent_at"] == ts_to_datetime(ids["ask"]).isoformat(timespec="microseconds")
    assert got[ids["r2"]]["reply_to"] == ids["ask"] and got[ids["r2"]]["mentions"] == ["U3"]
    assert got[ids["file"]]["kind"] == "image"
    assert got[ids["all"]]["mention_all"] is True and got[ids["all"]]["pinned"] is True
    assert got[ids["bot"]]["sender_id"] == "B9"
    (join,) = [r.data for r in pull.records("memberships")]
    assert join is not None and (join["member_id"], join["event"]) == ("U4", "join")
    (group,) = [r.data for r in pull.records("groups")]
    assert group is not None and (group["name"], group["owner_id"], group["admin_ids"]) == (
        "marketing-ops", "U1", ["U2"],
    )  # fmt: skip
    names = {r.data["member_id"]: r.data["display_name"] for r in pull.records("members") if r.data}
    assert names == {"U1": "林总", "U2": "吴敏", "U3": "阿磊", "U4": "徐静", "B9": "B9"}
    assert decode_cursor(pull.watermark.cursor) == (ids["bot"], frozenset({ids["all"]}))
    assert pull.watermark.at == ts_to_datetime(ids["bot"])


def test_incremental_pull_starts_after_the_watermark(slack_server: FakeSlack) -> None:
    seed(slack_server)
    with connector(slack_server) as conn:
        first = conn.pull(C, None, now=NOW)
        again = conn.pull(C, first.watermark, now=NOW)
        assert msgs(again) == {} and again.watermark == first.watermark
        call = slack_server.called("conversations.history")[-1].params
        assert (call["oldest"], call["inclusive"]) == (
            decode_cursor(first.watermark.cursor)[0],
            "0",
        )
        new = conn.post(C, "新的一周", mentions=["U3"])
        later = conn.pull(C, first.watermark, now=NOW)
    assert list(msgs(later)) == [new]
    assert msgs(later)[new]["text"] == "<@U3> 新的一周" and msgs(later)[new]["mentions"] == ["U3"]


def test_max_messages_keeps_the_oldest_and_resumes(slack_server: FakeSlack) -> None:
    ids = seed(slack_server)
    slack_server.pins[C].clear()
    seen: list[str] = []
    watermark = None
    with connector(slack_server, max_messages=2) as conn:
        for _ in range(3):
            pull = conn.pull(C, watermark, now=NOW)
            seen += [m for m in msgs(pull) if m not in (ids["r1"], ids["r2"])]
            watermark = pull.watermark
    assert seen == [ids[k] for k in ("ask", "file", "all", "bot")]


def test_429_retry_after_is_honoured(slack_server: FakeSlack) -> None:
    seed(slack_server)
    waits: list[float] = []
    slack_server.rate_limit["conversations.history"] = (1, "3")
    with connector(slack_server, sleep=waits.append, max_inline_wait_s=5) as conn:
        pull = conn.pull(C, None, now=NOW)
    assert waits == [3.0] and len(slack_server.called("conversations.history")) == 2
    assert len(msgs(pull)) == 6
    slack_server.rate_limit["conversations.history"] = (1, "120")
    slow = connector(slack_server, sleep=waits.append, max_inline_wait_s=5)
    with slow, pytest.raises(RateLimited) as info:
        slow.pull(C, None, now=NOW)
    assert info.value.retry_after == 120.0 and waits == [3.0]


def test_write_capabilities(slack_server: FakeSlack) -> None:
    ids = seed(slack_server)
    with connector(slack_server) as conn:
        conn.pin(C, ids["ask"])
        conn.pin(C, ids["ask"])  # already pinned: fine
        assert conn.list_pins(C) == [ids["all"], ids["ask"]]
        conn.unpin(C, ids["all"])
        conn.unpin(C, ids["all"])
        assert conn.list_pins(C) == [ids["ask"]]
        conn.recall(C, ids["file"])
        assert slack_server.called("chat.delete")[0].params == {"channel": C, "ts": ids["file"]}
        conn.remove_member(C, "U4", reason="离职")
        assert slack_server.called("conversations.kick")[0].params == {"channel": C, "user": "U4"}
        assert "U4" not in {m.member_id for m in conn.list_members(C)}
        calls = len(slack_server.calls)
        assert not conn.supports(Capability.MUTE)
        with pytest.raises(UnsupportedCapability, match="mute"):
            conn.mute(C, "U3")
        assert len(slack_server.calls) == calls  # refused before any request
        with pytest.raises(PlatformError) as info:
            conn.remove_member(C, "U9")
        assert info.value.code == "not_in_channel"


def test_token_is_masked_and_bad_token_is_a_typed_error(slack_server: FakeSlack) -> None:
    seed(slack_server)
    bad = SlackConnector(slack_server.base_url, SecretStr("xoxb-wrong"))
    assert "xoxb-wrong" not in repr(bad) and TOKEN not in repr(connector(slack_server))
    with bad, pytest.raises(PlatformError) as info:
        bad.list_pins(C)
    assert info.value.code == "invalid_auth" and not info.value.transient


def test_pin_changes_re_emit_older_messages(slack_server: FakeSlack) -> None:
    ids = seed(slack_server)
    with connector(slack_server) as conn:
        first = conn.pull(C, None, now=NOW)
        conn.pin(C, ids["ask"])
        conn.unpin(C, ids["all"])
        second = conn.pull(C, first.watermark, now=NOW)
        third = conn.pull(C, second.watermark, now=NOW)
    got = msgs(second)
    assert {k: v["pinned"] for k, v in got.items()} == {ids["ask"]: True, ids["all"]: False}
    lookup = slack_server.called("conversations.history")[-2].params  # the unpinned message
    assert (lookup["latest"], lookup["oldest"], lookup["inclusive"]) == (
        ids["all"],
        ids["all"],
        "1",
    )
    assert msgs(third) == {}
    assert second.watermark.at == first.watermark.at
