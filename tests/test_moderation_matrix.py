"""`groupops moderate` against a real Matrix Synapse: the ladder mutes (power levels), lifts the
mute on the first run after it ends, and kicks on removal — each once, re-runs do nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli import app
from groupops.ingest import run_ingest
from groupops.policy import Policy
from groupops.settings import get_settings
from tests.matrix_room import T0, Room
from tests.synapse import MatrixUser

pytestmark = [pytest.mark.synapse, pytest.mark.flow, pytest.mark.usefixtures("prefect")]
RUNNER = CliRunner()


@pytest.fixture
def configured(
    room: Room,
    engine: sa.Engine,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Room]:
    """The room's history in the store, and the sources file pointing moderation at it."""
    room.send(room.bob, {"msgtype": "m.text", "body": "兼职刷单，日结，有意向加微信 bob8866"},
              T0 + timedelta(hours=2))  # fmt: skip
    room.send(room.bob, {"msgtype": "m.text", "body": "优惠券免费领取，名额有限"},
              T0 + timedelta(hours=3))  # fmt: skip
    room.send(room.carol, {"msgtype": "m.text", "body": "这是内部资料，大家别外传"},
              T0 + timedelta(hours=4))  # fmt: skip
    with room.connector() as conn:
        pulled = conn.pull(room.room_id, None, now=room.now)
    run_ingest(pulled, engine, Policy(), now=room.now)
    sources = tmp_path / "sources.toml"
    sources.write_text(
        "[[sources]]\n"
        'name = "synapse-test"\n'
        'kind = "matrix"\n'
        f'base_url = "{room.server.base_url}"\n'
        f'groups = ["{room.room_id}"]\n'
        'access_token = { env = "MATRIX_MODERATION_TOKEN" }\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("MATRIX_MODERATION_TOKEN", room.bot.access_token)
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", db_url)
    monkeypatch.setenv("GROUPOPS_SOURCES_PATH", str(sources))
    monkeypatch.setenv("GROUPOPS_OUTBOX_DIR", str(tmp_path / "outbox"))
    get_settings.cache_clear()
    yield room
    get_settings.cache_clear()


def can_send(r: Room, user: MatrixUser, text: str) -> bool:
    with httpx.Client(base_url=r.server.base_url, timeout=30,
                      headers={"Authorization": f"Bearer {user.access_token}"}) as http:  # fmt: skip
        resp = http.put(
            f"/_matrix/client/v3/rooms/{r.room_id}/send/m.room.message/{text}-{id(text)}",
            json={"msgtype": "m.text", "body": text},
        )
    return resp.status_code == 200


def joined(r: Room) -> set[str]:
    with r.connector() as conn:
        return {m.member_id for m in conn.list_members(r.room_id)}


def moderate(as_of: datetime) -> dict[str, object]:
    result = RUNNER.invoke(app, ["moderate", "--as-of", as_of.isoformat(), "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_moderate_mutes_unmutes_after_the_mute_and_kicks(configured: Room) -> None:
    r = configured
    first_run = T0 + timedelta(days=1)
    assert can_send(r, r.bob, "before")

    first = moderate(first_run)
    decided = {(d["member_id"], d["category"], d["penalty"]) for d in first["decisions"]}
    assert decided == {
        (r.bob.user_id, "ad", "warning"),
        (r.bob.user_id, "ad", "mute"),
        (r.carol.user_id, "confidential", "removal"),
    }
    acted = {(a["member_id"], a["action"], a["status"]) for a in first["actions"]}
    assert {(r.bob.user_id, "mute", "done"), (r.carol.user_id, "remove", "done")} <= acted
    assert not can_send(r, r.bob, "muted")
    assert r.carol.user_id not in joined(r)

    assert moderate(first_run + timedelta(hours=12))["actions"] == []  # still muted: nothing
    assert not can_send(r, r.bob, "still-muted")

    lifted = moderate(first_run + timedelta(days=1, minutes=30))  # the mute ended
    assert [(a["member_id"], a["action"], a["status"]) for a in lifted["actions"]] == [
        (r.bob.user_id, "unmute", "done")
    ]
    assert can_send(r, r.bob, "after")
    again = moderate(first_run + timedelta(days=1, minutes=30))
    assert (again["decisions"], again["actions"], again["notices"]) == ([], [], [])
