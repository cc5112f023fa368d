"""A Matrix room on the real Synapse homeserver (tests/synapse.py), seeded with backdated
messages: the ``room`` fixture, registered for every test by tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from pydantic import SecretStr

from groupops.connectors.matrix import MatrixConnector
from tests.synapse import MatrixUser, SynapseServer

# Messages and the invitees' joins are backdated to fixed instants around T0 (an application
# service may set ``ts``); the bot's own createRoom events carry the server's real clock. So the
# "now" a test pulls and ingests with is never a constant: it is read off the room (the newest
# instant the server stamped), and fixed instants are only ever compared with fixed instants.
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@dataclass
class Room:
    server: SynapseServer
    room_id: str
    bot: MatrixUser
    alice: MatrixUser
    bob: MatrixUser
    carol: MatrixUser
    seeded: dict[str, str]  # label -> event id
    now: datetime  # the newest instant the server stamped in the room (its real clock)

    def connector(self, **kwargs: object) -> MatrixConnector:
        return MatrixConnector(
            self.server.base_url,
            SecretStr(self.bot.access_token),
            **kwargs,
        )

    def send(self, who: MatrixUser, content: dict[str, object], at: datetime) -> str:
        return self.server.send_as(self.room_id, who.user_id, content, ts_ms=ms(at))


#: Numbers that make user names unique within the session-scoped server.
serial = iter(range(1_000_000))


@pytest.fixture
def room(synapse_server: SynapseServer) -> Iterator[Room]:
    """A fresh room made by the bot, three members, and four backdated messages with a reply,
    mentions (explicit and as a pill), a mention of the whole room and an image."""
    n = next(serial)
    bot = synapse_server.register(f"bot{n}")
    alice, bob, carol = (
        synapse_server.register(f"{name}{n}") for name in ("alice", "bob", "carol")
    )
    with synapse_server.client(bot.access_token) as http:
        resp = http.post(
            "/_matrix/client/v3/createRoom",
            json={
                "preset": "private_chat",
                "name": "项目运营群",
                "invite": [alice.user_id, bob.user_id, carol.user_id],
            },
        )
        resp.raise_for_status()
        room_id = resp.json()["room_id"]
    for i, user in enumerate((alice, bob, carol)):
        synapse_server.join_as(room_id, user.user_id, ts_ms=ms(T0 - timedelta(days=1, minutes=-i)))
    r = Room(
        synapse_server,
        room_id,
        bot,
        alice,
        bob,
        carol,
        {},
        server_now(synapse_server, bot, room_id),
    )
    r.seeded["notice"] = r.send(alice, {"msgtype": "m.text", "body": "本周例会改到周三"}, T0)
    r.seeded["reply"] = r.send(
        bob,
        {
            "msgtype": "m.text",
            "body": f"> <{alice.user_id}> 本周例会改到周三\n\n收到，周三见",
            "format": "org.matrix.custom.html",
            "formatted_body": (
                f'<a href="https://matrix.to/#/{quote(alice.user_id)}">alice</a> 收到，周三见'
            ),
            "m.relates_to": {"m.in_reply_to": {"event_id": r.seeded["notice"]}},
        },
        T0 + timedelta(minutes=5),
    )
    r.seeded["all"] = r.send(
        carol,
        {
            "msgtype": "m.text",
            "body": "请大家今天更新进度 @room",
            "m.mentions": {"room": True, "user_ids": [bob.user_id]},
        },
        T0 + timedelta(minutes=30),
    )
    r.seeded["image"] = r.send(
        alice,
        {"msgtype": "m.image", "body": "进度.png", "url": "mxc://localhost/abc"},
        T0 + timedelta(hours=1),
    )
    yield r


def server_now(server: SynapseServer, user: MatrixUser, room_id: str) -> datetime:
    """The newest ``origin_server_ts`` of any event in the room: the server's clock at the
    room's creation (the bot's own events cannot be backdated)."""
    with server.client(user.access_token) as http:
        resp = http.get(
            f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/messages",
            params={"dir": "b", "limit": 100},
        )
        resp.raise_for_status()
        stamps = [int(e["origin_server_ts"]) for e in resp.json()["chunk"]]
    return datetime.fromtimestamp(max(stamps) / 1000, UTC)
