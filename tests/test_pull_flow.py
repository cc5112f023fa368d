"""The pull-activity flow against the local Feishu server, into the test store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from groupops.connectors.watermarks import load_watermark
from groupops.db.models import Message
from groupops.settings import get_settings
from tests.fake_feishu import APP_SECRET, FakeFeishu
from tests.matrix_room import T0 as MATRIX_T0
from tests.matrix_room import Room
from tests.test_connector_feishu import CHAT, T0_MS, seed

NOW = datetime(2025, 11, 3, tzinfo=UTC)
pytestmark = [pytest.mark.flow, pytest.mark.usefixtures("prefect")]


@pytest.fixture
def store(engine: sa.Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[sa.Engine]:
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield engine
    get_settings.cache_clear()


def sources_file(tmp_path: Path, base_url: str, groups: list[str], secret: str) -> str:
    path = tmp_path / "sources.toml"
    path.write_text(
        "[[sources]]\n"
        'name = "feishu-test"\n'
        'kind = "feishu"\n'
        f'base_url = "{base_url}"\n'
        f"groups = {groups!r}\n".replace("'", '"')
        + 'app_id = "cli_test_app"\n'
        + f"app_secret = {secret}\n"
        + "page_size = 2\n"
        + "history_since = 2025-11-01T00:00:00+08:00\n"
    )
    return str(path)


def messages_in(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(Message)).scalar_one())


def test_pull_ingests_then_a_second_run_adds_nothing(
    store: sa.Engine,
    feishu_server: FakeFeishu,
    tmp_path: Path,
) -> None:
    from prefect.blocks.system import Secret

    from flows.pull_activity import pull_activity

    seed(feishu_server)
    Secret(value=APP_SECRET).save("feishu-test-secret", overwrite=True)
    path = sources_file(
        tmp_path, feishu_server.base_url, [CHAT], '{ block = "feishu-test-secret" }'
    )

    (first,) = pull_activity(path, now=NOW)
    assert (first.messages, first.error) == (5, None)
    assert first.loaded == 5 + 1 + 4  # messages, the group, its members
    assert messages_in(store) == 5
    mark = load_watermark(store, "feishu-test", CHAT)
    assert mark is not None and mark.at == datetime.fromtimestamp((T0_MS + 300_000) / 1000, UTC)

    (second,) = pull_activity(path, now=NOW)
    assert (second.messages, second.loaded, second.updated) == (0, 0, 0)
    assert messages_in(store) == 5
    assert feishu_server.seen("/open-apis/im/v1/messages")[-1].query["start_time"] == str(
        (T0_MS + 300_000) // 1000
    )

    feishu_server.add_message(CHAT, "ou_a", T0_MS + 3_600_000, {"text": "新进展"})
    (third,) = pull_activity(path, now=NOW)
    assert (third.messages, third.loaded) == (1, 1) and messages_in(store) == 6


def test_a_failing_group_keeps_its_watermark_and_fails_the_run(
    store: sa.Engine,
    feishu_server: FakeFeishu,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.pull_activity import PullFailed, pull_activity

    seed(feishu_server)
    monkeypatch.setenv("FEISHU_TEST_SECRET", APP_SECRET)
    path = sources_file(
        tmp_path, feishu_server.base_url, ["oc_missing", CHAT], '{ env = "FEISHU_TEST_SECRET" }'
    )
    with pytest.raises(PullFailed, match=r"oc_missing: PlatformError: .*230002"):
        pull_activity(path, now=NOW)
    assert load_watermark(store, "feishu-test", "oc_missing") is None
    assert load_watermark(store, "feishu-test", CHAT) is not None
    assert messages_in(store) == 5


def test_rate_limited_pull_waits_retry_after_then_retries(
    store: sa.Engine,
    feishu_server: FakeFeishu,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import flows.pull_activity as flow_module
    import tasks.pull as pull_tasks

    seed(feishu_server)
    monkeypatch.setenv("FEISHU_TEST_SECRET", APP_SECRET)
    path = sources_file(tmp_path, feishu_server.base_url, [CHAT], '{ env = "FEISHU_TEST_SECRET" }')
    path_text = Path(path).read_text() + "max_inline_wait_s = 0\n"
    Path(path).write_text(path_text)
    waits: list[float] = []
    monkeypatch.setattr(pull_tasks, "_sleep", waits.append)
    monkeypatch.setattr(
        flow_module, "pull_group", pull_tasks.pull_group.with_options(retry_delay_seconds=0)
    )
    feishu_server.rate_limit["/open-apis/im/v1/messages"] = 2
    (result,) = flow_module.pull_activity(path, now=NOW)
    assert waits == [2.0, 2.0]  # x-ogw-ratelimit-reset, before each retry
    assert result.messages == 5 and messages_in(store) == 5


def test_cli_pull_runs_the_flow_and_lists_the_watermark(
    store: sa.Engine,
    feishu_server: FakeFeishu,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json

    from typer.testing import CliRunner

    from cli import app

    seed(feishu_server)
    monkeypatch.setenv("FEISHU_TEST_SECRET", APP_SECRET)
    path = sources_file(tmp_path, feishu_server.base_url, [CHAT], '{ env = "FEISHU_TEST_SECRET" }')
    runner = CliRunner()
    pulled = runner.invoke(app, ["sources", "pull", "--path", path, "--json"])
    assert pulled.exit_code == 0, pulled.output
    assert [(r["group_id"], r["messages"]) for r in json.loads(pulled.stdout)] == [(CHAT, 5)]
    listed = runner.invoke(app, ["sources", "list", "--path", path, "--json"])
    (row,) = json.loads(listed.stdout)
    assert row["watermark"] == datetime.fromtimestamp((T0_MS + 300_000) / 1000, UTC).isoformat()
    assert APP_SECRET not in pulled.output + listed.output


@pytest.mark.synapse
def test_pull_activity_from_a_real_matrix_homeserver(
    store: sa.Engine,
    room: Room,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.pull_activity import pull_activity

    monkeypatch.setenv("MATRIX_TEST_TOKEN", room.bot.access_token)
    path = tmp_path / "sources.toml"
    path.write_text(
        "[[sources]]\n"
        'name = "matrix-test"\n'
        'kind = "matrix"\n'
        f'base_url = "{room.server.base_url}"\n'
        f'groups = ["{room.room_id}"]\n'
        'access_token = { env = "MATRIX_TEST_TOKEN" }\n'
        "page_size = 2\n"
    )
    (first,) = pull_activity(str(path))
    assert (first.messages, first.quarantined, first.error) == (4, 0, None)
    (second,) = pull_activity(str(path))
    assert (second.messages, second.loaded, second.updated) == (0, 0, 0)
    room.send(room.carol, {"msgtype": "m.text", "body": "第三次"}, MATRIX_T0 + timedelta(days=2))
    (third,) = pull_activity(str(path))
    assert (third.messages, messages_in(store)) == (1, 5)
    mark = load_watermark(store, "matrix-test", room.room_id)
    assert mark is not None and mark.at == MATRIX_T0 + timedelta(days=2)


def test_the_shipped_sources_file_pulls_nothing(store: sa.Engine) -> None:
    from flows.pull_activity import pull_activity

    assert pull_activity("data/sources.toml") == []  # its examples are disabled
    assert messages_in(store) == 0
