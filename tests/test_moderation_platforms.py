"""`groupops moderate` carrying out its decisions on Feishu and Slack, against local servers
answering the platforms' documented JSON (tests/fake_feishu.py, tests/fake_slack.py): the
notice is posted in the group mentioning the member, the ladder's mute is Feishu's speech
moderation list (Slack cannot mute: an admin to-do), the mute is lifted by the first run after
it ends, removal kicks — each once; a member's reply to the posted notice files an appeal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from typer.testing import CliRunner

from cli import app
from groupops.connectors.feishu import FeishuConnector
from groupops.connectors.slack import SlackConnector
from groupops.ingest import run_ingest
from groupops.moderation import load_violations
from groupops.policy import Policy
from groupops.settings import get_settings
from tests.fake_feishu import APP_ID, APP_SECRET, FakeFeishu
from tests.fake_slack import TOKEN, FakeSlack

RUNNER = CliRunner()
TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 16, 10, 0, tzinfo=TZ)  # a Monday
FIRST_RUN = T0 + timedelta(hours=6)  # 16:00: decides and acts
MUTE_OVER = FIRST_RUN + timedelta(days=1, minutes=30)  # mute_minutes = 1440
AD = "兼职刷单，日结，有意向加微信 abc8866"
AD2 = "优惠券免费领取，名额有限，私聊我"
SECRET = "这是内部资料，大家别外传"


def ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def moderate(as_of: datetime) -> dict[str, Any]:
    result = RUNNER.invoke(app, ["moderate", "--as-of", as_of.isoformat(), "--local", "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def acted(run: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(a["member_id"], a["action"], a["status"]) for a in run["actions"]}


def configure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str, source: str, env: dict[str, str]
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(source, encoding="utf-8")
    for key, value in {
        **env,
        "GROUPOPS_DATABASE_URL": db_url,
        "GROUPOPS_SOURCES_PATH": str(sources),
        "GROUPOPS_OUTBOX_DIR": str(tmp_path / "outbox"),
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()


# -- Feishu -----------------------------------------------------------------------------------

CHAT = "oc_market_ops"


@pytest.fixture
def feishu(
    feishu_server: FakeFeishu,
    engine: sa.Engine,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[FakeFeishu]:
    fake = feishu_server
    fake.add_chat(CHAT, "市场运营群", "ou_owner", ["ou_mgr", "ou_owner"])
    for open_id, name in [("ou_owner", "张总"), ("ou_mgr", "李经理"), ("ou_a", "王五"),
                          ("ou_b", "赵六"), ("ou_c", "孙七")]:  # fmt: skip
        fake.add_member(CHAT, open_id, name)
    fake.add_message(CHAT, "ou_b", ms(T0), {"text": AD})
    fake.add_message(CHAT, "ou_b", ms(T0 + timedelta(hours=1)), {"text": AD2})
    fake.add_message(CHAT, "ou_c", ms(T0 + timedelta(hours=2)), {"text": SECRET})
    fake.add_message(CHAT, "ou_a", ms(T0 + timedelta(hours=3)), {"text": "下午的评审改到三点"})
    pull(fake, engine, FIRST_RUN)
    configure(
        monkeypatch, tmp_path, db_url,
        "[[sources]]\n"
        'name = "feishu-test"\nkind = "feishu"\n'
        f'base_url = "{fake.base_url}"\napp_id = "{APP_ID}"\n'
        f'groups = ["{CHAT}"]\napp_secret = {{ env = "FEISHU_MODERATION_SECRET" }}\n',
        {"FEISHU_MODERATION_SECRET": APP_SECRET},
    )  # fmt: skip
    yield fake
    get_settings.cache_clear()


def pull(fake: FakeFeishu, engine: sa.Engine, now: datetime) -> None:
    with FeishuConnector(fake.base_url, APP_ID, SecretStr(APP_SECRET)) as conn:
        pulled = conn.pull(CHAT, None, now=now)
    run_ingest(pulled, engine, Policy(), now=now)


def writes(fake: FakeFeishu) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in fake.requests if r.method != "GET" and "auth" not in r.path]


def test_feishu_notice_mute_unmute_kick_and_an_appeal_in_reply(
    feishu: FakeFeishu, engine: sa.Engine
) -> None:
    first = moderate(FIRST_RUN)
    decided = {(d["member_id"], d["category"], d["penalty"]) for d in first["decisions"]}
    assert decided == {
        ("ou_b", "ad", "warning"), ("ou_b", "ad", "mute"), ("ou_c", "confidential", "removal"),
    }  # fmt: skip
    assert acted(first) == {
        ("ou_b", "notice", "done"), ("ou_c", "notice", "done"),
        ("ou_b", "mute", "done"), ("ou_c", "remove", "done"),
    }  # fmt: skip

    # the notices: one message per violation, in the chat, @-mentioning the member
    posts = feishu.seen("/open-apis/im/v1/messages", "POST")
    assert len(posts) == 3
    texts = [json.loads(p.body["content"])["text"] for p in posts]
    assert sum(t.startswith('<at user_id="ou_b"></at> ') for t in texts) == 2
    assert sum(t.startswith('<at user_id="ou_c"></at> ') for t in texts) == 1
    assert all("申诉" in t for t in texts)  # how to appeal, and until when
    notices = {v.notice_message_id for v in load_violations(engine)}
    assert None not in notices and len(notices) == 3

    # the mute: speech restricted to a moderator list without ou_b
    setting, speakers = feishu.moderation[CHAT]
    assert setting == "moderator_list" and "ou_b" not in speakers
    assert {"ou_a", "ou_owner", "ou_mgr"} <= set(speakers)
    # the removal: DELETE members with ou_c's open_id
    removal = feishu.seen(f"/open-apis/im/v1/chats/{CHAT}/members", "DELETE")
    assert [(r.query, r.body) for r in removal] == [
        ({"member_id_type": "open_id"}, {"id_list": ["ou_c"]})
    ]
    assert "ou_c" not in {m["member_id"] for m in feishu.members[CHAT]}

    before = writes(feishu)
    assert moderate(FIRST_RUN + timedelta(hours=2))["actions"] == []  # still muted: nothing
    assert writes(feishu) == before

    # ou_b appeals in a reply to the notice of the mute
    mute_notice = next(v.notice_message_id for v in load_violations(engine)
                       if v.penalty == "mute")  # fmt: skip
    assert mute_notice is not None
    feishu.add_message(CHAT, "ou_b", ms(FIRST_RUN + timedelta(hours=17)),
                       {"text": "申诉：第二条是公司活动的优惠券，不是广告"},
                       parent_id=mute_notice)  # fmt: skip
    pull(feishu, engine, FIRST_RUN + timedelta(hours=18))

    lifted = moderate(MUTE_OVER)  # the mute ended: speech is open to everyone again
    assert acted(lifted) == {("ou_b", "unmute", "done")}
    assert feishu.moderation[CHAT] == ("all_members", [])
    assert len(lifted["appeals_filed"]) == 1
    appeals = json.loads(RUNNER.invoke(app, ["appeals", "--as-of", MUTE_OVER.isoformat(),
                                             "--json"]).stdout)  # fmt: skip
    assert [(a["member_id"], a["state"], a["source"]) for a in appeals] == [
        ("ou_b", "pending", "message")
    ]
    before = writes(feishu)
    again = moderate(MUTE_OVER)
    assert (again["decisions"], again["actions"], again["notices"]) == ([], [], [])
    assert writes(feishu) == before


# -- Slack ------------------------------------------------------------------------------------

C = "C0MARKET"


@pytest.fixture
def slack(
    slack_server: FakeSlack,
    engine: sa.Engine,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[FakeSlack]:
    fake = slack_server
    fake.channels[C] = {"name": "marketing-ops", "creator": "U1"}
    fake.members[C] = ["U1", "U2", "U3", "U4"]
    fake.users = [
        {"id": "U1", "name": "lin", "real_name": "林总", "profile": {"display_name": "林总"}, "is_owner": True},
        {"id": "U2", "name": "wu", "real_name": "吴敏", "profile": {"display_name": "吴敏"}, "is_admin": True},
        {"id": "U3", "name": "he", "real_name": "何磊", "profile": {"display_name": "阿磊"}},
        {"id": "U4", "name": "xu", "real_name": "徐静", "profile": {"display_name": "徐静"}},
    ]  # fmt: skip
    fake.history[C] = [
        {"type": "message", "user": "U3", "text": AD, "ts": f"{T0.timestamp():.0f}.000100"},
        {"type": "message", "user": "U3", "text": AD2,
         "ts": f"{(T0 + timedelta(hours=1)).timestamp():.0f}.000100"},
        {"type": "message", "user": "U4", "text": SECRET,
         "ts": f"{(T0 + timedelta(hours=2)).timestamp():.0f}.000100"},
    ]  # fmt: skip
    fake.pins[C] = []
    fake._clock = int(FIRST_RUN.timestamp())  # what the server posts is stamped after the run
    with SlackConnector(fake.base_url, SecretStr(TOKEN)) as conn:
        pulled = conn.pull(C, None, now=FIRST_RUN)
    run_ingest(pulled, engine, Policy(), now=FIRST_RUN)
    configure(
        monkeypatch, tmp_path, db_url,
        "[[sources]]\n"
        'name = "slack-test"\nkind = "slack"\n'
        f'base_url = "{fake.base_url}"\n'
        f'groups = ["{C}"]\ntoken = {{ env = "SLACK_MODERATION_TOKEN" }}\n',
        {"SLACK_MODERATION_TOKEN": TOKEN},
    )  # fmt: skip
    yield fake
    get_settings.cache_clear()


def test_slack_notice_and_kick_with_the_mute_left_to_the_admins(slack: FakeSlack) -> None:
    first = moderate(FIRST_RUN)
    assert acted(first) == {
        ("U3", "notice", "done"), ("U4", "notice", "done"),
        ("U3", "mute", "todo"),  # Slack has no mute: an admin's to-do
        ("U4", "remove", "done"),
    }  # fmt: skip
    posts = slack.called("chat.postMessage")
    assert [p.params["channel"] for p in posts] == [C, C, C]
    assert sum(p.params["text"].startswith("<@U3> ") for p in posts) == 2
    assert [c.params for c in slack.called("conversations.kick")] == [{"channel": C, "user": "U4"}]
    assert "U4" not in slack.members[C]
    todos = json.loads(RUNNER.invoke(app, ["todos", "--as-of", FIRST_RUN.isoformat(),
                                           "--json"]).stdout)  # fmt: skip
    assert [(t["member_id"], t["action"], t["state"]) for t in todos] == [("U3", "mute", "open")]

    calls = len(slack.calls)
    assert moderate(FIRST_RUN + timedelta(hours=2))["actions"] == []
    assert len(slack.calls) == calls  # nothing new is asked of Slack

    lifted = moderate(MUTE_OVER)  # the mute's end: lifting it is the admins' to-do too
    assert acted(lifted) == {("U3", "unmute", "todo")}
    todos = json.loads(RUNNER.invoke(app, ["todos", "--as-of", MUTE_OVER.isoformat(), "--all",
                                           "--json"]).stdout)  # fmt: skip
    assert [(t["action"], t["state"], t["resolved_by"]) for t in todos] == [
        ("mute", "resolved", "mute_ended"), ("unmute", "open", None),
    ]  # fmt: skip
    assert not [c for c in slack.calls[calls:] if c.method in ("conversations.kick",
                                                               "chat.postMessage")]  # fmt: skip


def test_slack_removal_of_a_member_already_gone_is_done(slack: FakeSlack) -> None:
    slack.members[C].remove("U4")  # left before the run
    first = moderate(FIRST_RUN)
    assert ("U4", "remove", "done") in acted(first)
    (kick,) = [a for a in first["actions"] if a["action"] == "remove"]
    assert "not_in_channel" in kick["detail"]
    calls = len(slack.called("conversations.kick"))
    assert moderate(FIRST_RUN + timedelta(hours=1))["actions"] == []  # not retried
    assert len(slack.called("conversations.kick")) == calls
