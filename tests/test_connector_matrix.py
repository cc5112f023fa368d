"""The Matrix connector against a real Synapse homeserver (see tests/synapse.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from groupops.connectors.base import ALL_CAPABILITIES, PlatformError, Pull, Watermark
from groupops.connectors.matrix import MatrixConnector
from groupops.ingest import run_ingest
from groupops.policy import load_policy
from tests.matrix_room import T0, Room, serial
from tests.synapse import MatrixUser

pytestmark = pytest.mark.synapse


def messages(pull: Pull) -> dict[str, dict[str, object]]:
    return {
        str(rec.data["message_id"]): dict(rec.data) for rec in pull.records("messages") if rec.data
    }


def test_first_pull_reads_history_with_replies_mentions_and_backdated_times(room: Room) -> None:
    with room.connector(page_size=2) as conn:  # small pages: limited sync + /messages paging
        pull = conn.pull(room.room_id, None, now=room.now)
    got = messages(pull)
    assert set(got) == set(room.seeded.values())
    notice, reply, everyone, image = (
        got[room.seeded[k]] for k in ("notice", "reply", "all", "image")
    )
    assert notice["sender_id"] == room.alice.user_id
    assert notice["sent_at"] == "2026-11-02T09:00:00.000+00:00"
    assert notice["kind"] == "text" and notice["text"] == "本周例会改到周三"
    assert reply["reply_to"] == room.seeded["notice"]
    assert reply["text"] == "收到，周三见"  # reply fallback stripped
    assert reply["mentions"] == [room.alice.user_id]  # from the matrix.to pill
    assert everyone["mention_all"] is True and everyone["mentions"] == [room.bob.user_id]
    assert image["kind"] == "image"
    assert {rec.data["member_id"] for rec in pull.records("memberships") if rec.data} >= {
        room.alice.user_id,
        room.bob.user_id,
        room.carol.user_id,
    }
    (group,) = [rec.data for rec in pull.records("groups")]
    assert group is not None
    assert group["name"] == "项目运营群" and group["owner_id"] == room.bot.user_id
    assert pull.watermark.cursor and pull.watermark.at == T0 + timedelta(hours=1)
    assert all(
        rec.raw and rec.source.startswith(room.server.base_url) for rec in pull.records("messages")
    )


def test_history_since_bounds_the_first_pull(room: Room) -> None:
    with room.connector(page_size=2, history_since=T0 + timedelta(minutes=10)) as conn:
        pull = conn.pull(room.room_id, None, now=room.now)
    assert set(messages(pull)) == {room.seeded["all"], room.seeded["image"]}


def test_incremental_pull_returns_only_new_messages(room: Room) -> None:
    with room.connector(page_size=3) as conn:
        first = conn.pull(room.room_id, None, now=room.now)
        new = [
            room.send(
                room.bob,
                {"msgtype": "m.text", "body": f"新消息 {i}"},
                T0 + timedelta(days=1, minutes=i),
            )
            for i in range(5)
        ]
        second = conn.pull(room.room_id, first.watermark, now=room.now)
        assert list(messages(second)) == new  # oldest first, across a limited sync
        assert second.watermark.at == T0 + timedelta(days=1, minutes=4)
        again = conn.pull(room.room_id, second.watermark, now=room.now)
        assert messages(again) == {}
        assert again.watermark.at == second.watermark.at
        # Re-pulling from the same watermark yields the same records (same natural keys).
        repeat = conn.pull(room.room_id, first.watermark, now=room.now)
        assert list(messages(repeat)) == new


def test_group_info_members_and_admins(room: Room) -> None:
    with room.connector() as conn:
        power = conn._state_content(room.room_id, "m.room.power_levels")
        conn._put_state(
            room.room_id,
            "m.room.power_levels",
            {**power, "users": {**power.get("users", {}), room.carol.user_id: 50}},
        )
        info = conn.group_info(room.room_id)
        members = conn.list_members(room.room_id)
    assert info.owner_id == room.bot.user_id  # room v12: the creator is outside power_levels.users
    assert info.admin_ids == (room.carol.user_id,)
    assert {m.member_id for m in members} == {
        room.bot.user_id,
        room.alice.user_id,
        room.bob.user_id,
        room.carol.user_id,
    }


def _send_own(room: Room, who: MatrixUser, text: str) -> httpx.Response:
    with room.server.client(who.access_token) as http:
        return http.put(
            f"/_matrix/client/v3/rooms/{quote(room.room_id, safe='')}/send/m.room.message/t{text}",
            json={"msgtype": "m.text", "body": text},
        )


def test_pin_redact_mute_kick_and_post(room: Room) -> None:
    with room.connector() as conn:
        conn.pin(room.room_id, room.seeded["notice"])
        conn.pin(room.room_id, room.seeded["notice"])  # idempotent
        assert conn.list_pins(room.room_id) == [room.seeded["notice"]]

        conn.recall(room.room_id, room.seeded["image"], reason="off-topic")
        pull = conn.pull(room.room_id, None, now=room.now)
        got = messages(pull)
        assert room.seeded["image"] not in got and pull.skipped == 1
        assert got[room.seeded["notice"]]["pinned"] is True
        assert got[room.seeded["reply"]]["pinned"] is False
        conn.unpin(room.room_id, room.seeded["notice"])
        assert conn.list_pins(room.room_id) == []

        assert _send_own(room, room.bob, "before").status_code == 200
        conn.mute(room.room_id, room.bob.user_id)
        blocked = _send_own(room, room.bob, "muted")
        assert blocked.status_code == 403 and blocked.json()["errcode"] == "M_FORBIDDEN"
        conn.unmute(room.room_id, room.bob.user_id)
        assert _send_own(room, room.bob, "after").status_code == 200

        conn.remove_member(room.room_id, room.carol.user_id, reason="违反群规")
        assert room.carol.user_id not in {m.member_id for m in conn.list_members(room.room_id)}
        posted = conn.post(room.room_id, "请按时提交周报", mentions=[room.alice.user_id])
        later = conn.pull(room.room_id, pull.watermark, now=room.now)
    removed = [rec.data for rec in later.records("memberships") if rec.data]
    assert [(r["member_id"], r["event"], r["approved_by"], r["reason"]) for r in removed] == [
        (room.carol.user_id, "removed", None, "违反群规")
    ]
    new = messages(later)
    assert new[posted]["sender_id"] == room.bot.user_id
    assert new[posted]["mentions"] == [room.alice.user_id]
    assert [m["text"] for m in new.values() if m["message_id"] != room.seeded["notice"]] == [
        "before",
        "after",
        "请按时提交周报",
    ]
    assert new[room.seeded["notice"]]["pinned"] is False  # unpinned since the last pull


def test_errors_are_typed_and_capabilities_declared(room: Room) -> None:
    server = room.server
    assert MatrixConnector.capabilities == ALL_CAPABILITIES
    outsider = server.register(f"outsider{next(serial)}")
    with MatrixConnector(server.base_url, SecretStr(outsider.access_token)) as conn:
        with pytest.raises(PlatformError) as info:
            conn.pull(room.room_id, None, now=room.now)
        assert info.value.status == 403
        with pytest.raises(PlatformError) as info:
            conn.remove_member(room.room_id, room.alice.user_id)
        assert info.value.code == "M_FORBIDDEN" and not info.value.transient
    with MatrixConnector(server.base_url, SecretStr("wrong-token")) as conn:
        assert "wrong-token" not in repr(conn)
        with pytest.raises(PlatformError) as info:
            conn.list_pins(room.room_id)
        assert info.value.status == 401


def test_naive_now_and_watermark_are_refused(room: Room) -> None:
    with pytest.raises(ValueError, match="aware"):
        Watermark("x", datetime(2026, 1, 1))  # noqa: DTZ001 - naive on purpose: the test checks it is refused
    with room.connector() as conn, pytest.raises(ValueError, match="aware"):
        conn.pull(room.room_id, None, now=datetime(2026, 1, 1))  # noqa: DTZ001 - naive on purpose: the test checks it is refused


def test_pulled_records_pass_the_validated_ingest_and_a_repull_adds_nothing(
    room: Room, engine: sa.Engine
) -> None:
    policy = load_policy("data/policy.toml")
    with room.connector(page_size=2) as conn:
        first = conn.pull(room.room_id, None, now=room.now)
        loaded = run_ingest(first, engine, policy, now=room.now)
        again = run_ingest(
            conn.pull(room.room_id, None, now=room.now), engine, policy, now=room.now
        )
    assert loaded.exit_code == 0, loaded.as_dict()
    by_entity = {e.entity: e for e in loaded.entities}
    assert by_entity["messages"].loaded == 4 and by_entity["groups"].loaded == 1
    assert by_entity["members"].loaded == 4 and by_entity["memberships"].loaded >= 3
    assert (again.total("loaded"), again.total("updated"), again.total("quarantined")) == (0, 0, 0)
    assert loaded.source == f"matrix:{room.room_id}" and loaded.format == "matrix-api"


def _edit(original: str, text: str) -> dict[str, object]:
    return {
        "msgtype": "m.text",
        "body": f"* {text}",
        "m.new_content": {"msgtype": "m.text", "body": text},
        "m.relates_to": {"rel_type": "m.replace", "event_id": original},
    }


def test_edits_update_the_original_message(room: Room) -> None:
    with room.connector(page_size=2) as conn:
        first = conn.pull(room.room_id, None, now=room.now)
        later = T0 + timedelta(days=3)
        room.send(room.alice, _edit(room.seeded["notice"], "本周例会改到周四"), later)
        room.send(room.bob, _edit(room.seeded["notice"], "冒充的修改"), later)  # not the sender
        fresh = room.send(room.carol, {"msgtype": "m.text", "body": "草稿"}, later)
        room.send(room.carol, _edit(fresh, "定稿"), later + timedelta(minutes=1))
        room.send(room.carol, _edit(fresh, "终稿"), later + timedelta(minutes=2))
        second = conn.pull(room.room_id, first.watermark, now=room.now)
    got = messages(second)
    assert set(got) == {room.seeded["notice"], fresh}
    notice = got[room.seeded["notice"]]
    assert notice["text"] == "本周例会改到周四"  # the edit by someone else is ignored
    assert notice["sent_at"] == "2026-11-02T09:00:00.000+00:00"  # the original's time
    assert notice["sender_id"] == room.alice.user_id
    assert got[fresh]["text"] == "终稿"  # edited twice in the same window: the last one wins
    assert second.skipped == 4  # the four edit events


def test_pinning_an_older_message_re_emits_it(room: Room) -> None:
    with room.connector() as conn:
        first = conn.pull(room.room_id, None, now=room.now)
        assert not any(m["pinned"] for m in messages(first).values())
        conn.pin(room.room_id, room.seeded["reply"])
        second = conn.pull(room.room_id, first.watermark, now=room.now)
        third = conn.pull(room.room_id, second.watermark, now=room.now)
    got = messages(second)
    assert list(got) == [room.seeded["reply"]] and got[room.seeded["reply"]]["pinned"] is True
    assert got[room.seeded["reply"]]["reply_to"] == room.seeded["notice"]  # the full event
    assert messages(third) == {}
