"""Group bots (issue 12, "channels managers live in"): digests and reminders as Feishu
interactive cards and WeCom markdown, posted to a local server answering the documented JSON,
stored and posted once like the email outbox."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from activity_data import TZ, load_into, write_bundle
from pydantic import SecretStr

from groupops.chatbots import (
    WECOM_MARKDOWN_MAX_BYTES,
    BotTarget,
    Card,
    enqueue_post,
    feishu_payload,
    feishu_sign,
    load_posts,
    pending_cards,
    post_cards,
    targets_from,
    truncate_lines,
    wecom_payload,
)
from groupops.digest import prepare_digests
from groupops.mail import render_card, render_email
from groupops.policy import Policy, PolicyError, load_policy
from groupops.settings import Settings
from tests.fake_bots import (
    FEISHU_SECRET,
    FEISHU_SIGNED_TOKEN,
    FEISHU_TOKEN,
    WECOM_KEY,
    FakeBots,
)

AS_OF = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
POINTER = "……内容过长已截断，完整内容请查看邮件。"


# -- payloads -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "secret"),
    [(1599360473, "demo"), (1764460800, FEISHU_SECRET), (0, "秘钥-非ASCII")],
)
def test_feishu_sign_is_the_documented_hmac(timestamp: int, secret: str) -> None:
    # key = "timestamp\nsecret", message empty, base64 of the SHA-256 HMAC
    key = (str(timestamp) + "\n" + secret).encode("utf-8")
    expected = base64.b64encode(hmac.new(key, msg=b"", digestmod=hashlib.sha256).digest())
    assert feishu_sign(timestamp, secret) == expected.decode()
    signed = feishu_payload("T", "B", pointer=POINTER, secret=secret, timestamp=timestamp)
    assert (signed["timestamp"], signed["sign"]) == (str(timestamp), expected.decode())


def test_unsigned_feishu_payload_is_an_interactive_card() -> None:
    payload = feishu_payload(
        "项目运营群周报", "**需要您处理**\n- 李浩", pointer=POINTER, tone="red"
    )
    assert payload == {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": "项目运营群周报"},
                       "template": "red"},
            "elements": [{"tag": "markdown", "content": "**需要您处理**\n- 李浩"}],
        },
    }  # fmt: skip


@pytest.mark.parametrize(
    ("lines", "line", "truncated"),
    [
        (10, "- 李浩 · 任务 · 已逾期 2 个工作日", False),  # fits
        (200, "- 李浩 · 任务 · 已逾期 2 个工作日", True),  # ~9 KB of CJK: cut
        (1, "很" * 3000, True),  # one line of 9000 bytes: cut inside it
        (2000, "ok", True),  # many short ASCII lines (6000 bytes)
    ],
)
def test_wecom_markdown_stays_within_4096_bytes(lines: int, line: str, truncated: bool) -> None:
    body = "\n".join([line] * lines)
    content = wecom_payload("周报", body, pointer=POINTER)["markdown"]["content"]
    assert len(content.encode()) <= WECOM_MARKDOWN_MAX_BYTES
    assert content.endswith(POINTER) is truncated
    if not truncated:
        assert content == f"**周报**\n{body}"
    else:  # whole lines kept, then the pointer
        kept = content.removesuffix(POINTER).rstrip("\n").split("\n")[1:]
        assert all(k == line for k in kept[:-1])


@pytest.mark.parametrize(("text", "limit"), [("a\nb\nc", 100), ("一二三\n四五六", 10)])
def test_truncate_lines_keeps_short_text(text: str, limit: int) -> None:
    assert truncate_lines(text, max(limit, len(text.encode())), "…") == text


# -- the card is the email's context, made inert for markdown --------------------------------


def _reminder_context(name: str, text: str) -> dict[str, object]:
    when = datetime(2026, 11, 16, 10, 0, tzinfo=TZ)
    return {
        "company": "示例科技", "step": 1, "working_day_minutes": 450.0, "recipient_names": "王磊",
        "item": {"kind": "task_done", "group_name": "项目运营群", "text": text,
                 "requester_name": "王磊", "assignee_name": name, "requested_at": when,
                 "due_at": when + timedelta(days=1), "asked_due_at": when + timedelta(days=1),
                 "committed_due_at": None, "deadline_words": "明天上午",
                 "overdue_working_minutes": 900.0, "commitment_late_minutes": 0.0},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("name", "text", "forbidden"),
    [
        ("李浩", "请把预算表发我", ()),
        ("<at id=all></at>", "正常", ("<at",)),
        ("李浩", "[点这里](http://evil.example)", ("](", "[点")),
        ("**假标题**", '<font color="warning">红字</font>', ("**假", "<font")),
        ("李浩", "第一行\n> 引用\n# 标题", ("\n> 引用", "\n# 标题")),
    ],
)
def test_reminder_card_from_the_email_context(
    name: str, text: str, forbidden: tuple[str, ...]
) -> None:
    context = _reminder_context(name, text)
    card = render_card("deadline_reminder", context, language="zh-CN")
    assert card.title == render_email("deadline_reminder", context, language="zh-CN").subject
    assert "已逾期 2 个工作日" in card.body  # the one lateness formatter (900 / 450)
    assert "明天上午" in card.body
    for bad in forbidden:
        assert bad not in card.body
    assert card.body.count("**") == 2  # only the template's own bold action line


# -- posting: the documented answers ---------------------------------------------------------


def _targets(fake: FakeBots) -> dict[str, BotTarget]:
    return {
        "pm-feishu": BotTarget("pm-feishu", "feishu", SecretStr(fake.feishu_url)),
        "signed": BotTarget("signed", "feishu", SecretStr(fake.feishu_signed_url),
                            SecretStr(FEISHU_SECRET)),
        "ops-wecom": BotTarget("ops-wecom", "wecom", SecretStr(fake.wecom_url)),
        "bad-secret": BotTarget("bad-secret", "feishu", SecretStr(fake.feishu_signed_url),
                                SecretStr("wrong")),
        "bad-key": BotTarget("bad-key", "wecom",
                             SecretStr(fake.wecom_url.replace(WECOM_KEY, "nope"))),
    }  # fmt: skip


def _card(engine: sa.Engine, bot: str, channel: str, source: str = "digest:w:1") -> str:
    card = Card("项目运营群周报：1 项待处理", "**需要您处理**\n- 李浩 · 任务", POINTER, "red")
    key, created = enqueue_post(engine, card, source_key=source, kind="digest", bot=bot,
                                channel=channel, now=NOW)  # fmt: skip
    assert created
    return key


@pytest.mark.parametrize(
    ("bot", "channel", "script", "status", "transient", "error"),
    [
        ("pm-feishu", "feishu", [], "sent", False, None),
        ("signed", "feishu", [], "sent", False, None),
        ("ops-wecom", "wecom", [], "sent", False, None),
        ("bad-secret", "feishu", [], "failed", False, "code 19021"),
        ("bad-key", "wecom", [], "failed", False, "code 93000"),
        (
            "pm-feishu",
            "feishu",
            [(200, {"code": 9499, "msg": "Bad Request", "data": {}})],
            "failed",
            False,
            "bad request",
        ),
        (
            "pm-feishu",
            "feishu",
            [(200, {"code": 11232, "msg": "frequency limited"})],
            "failed",
            True,
            "rate limited",
        ),
        (
            "ops-wecom",
            "wecom",
            [(200, {"errcode": 45009, "errmsg": "api freq out of limit"})],
            "failed",
            True,
            "code 45009",
        ),
        (
            "ops-wecom",
            "wecom",
            [(503, {"errcode": -1, "errmsg": "system busy"})],
            "failed",
            True,
            "HTTP 503",
        ),
        (
            "pm-feishu",
            "feishu",
            [(429, {"code": 99991400, "msg": "too many requests"})],
            "failed",
            True,
            "HTTP 429",
        ),
    ],
)
def test_a_post_and_the_documented_answers(
    engine: sa.Engine, fake_bots: FakeBots, bot: str, channel: str,
    script: list[tuple[int, dict[str, object]]], status: str, transient: bool, error: str | None,
) -> None:  # fmt: skip
    key = _card(engine, bot, channel)
    fake_bots.script = list(script)
    result = post_cards(engine, [key], _targets(fake_bots))
    (row,) = load_posts(engine)
    assert row["status"] == status and row["attempts"] == 1
    assert (key in result.sent) is (status == "sent")
    assert (key in result.transient) is transient
    if error is None:
        assert row["last_error"] is None and len(fake_bots.accepted) == 1
        payload = fake_bots.accepted[0]["payload"]
        shown = (payload["card"]["header"]["title"]["content"] if channel == "feishu"
                 else payload["markdown"]["content"])  # fmt: skip
        assert "项目运营群周报" in shown
    else:
        assert error in str(row["last_error"]) and error in result.failed[key]
        assert bot in result.failed[key]
        # The webhook URL is a credential: never in an error.
        for secret in (fake_bots.base_url, FEISHU_TOKEN, FEISHU_SIGNED_TOKEN, WECOM_KEY):
            assert secret not in str(row["last_error"])
        assert key in pending_cards(engine)  # failed: sendable again by the next run


def test_network_failure_is_transient_and_names_no_url(engine: sa.Engine) -> None:
    key = _card(engine, "gone", "wecom")
    url = "http://127.0.0.1:9/cgi-bin/webhook/send?key=secret-key-123"  # discard port: refused
    result = post_cards(engine, [key], {"gone": BotTarget("gone", "wecom", SecretStr(url))})
    assert result.transient == [key]
    assert "network error" in result.failed[key] and "secret-key-123" not in result.failed[key]


def test_a_card_is_posted_once_and_waits_without_a_webhook(
    engine: sa.Engine, fake_bots: FakeBots
) -> None:
    posted, waiting = _card(engine, "ops-wecom", "wecom"), _card(engine, "later", "feishu")
    targets = _targets(fake_bots)
    first = post_cards(engine, [posted, waiting], targets)
    assert first.sent == [posted] and first.waiting == {waiting: "later"}
    again = post_cards(engine, [posted, waiting], targets)
    assert again.sent == [posted] and len(fake_bots.accepted) == 1 and fake_bots.requests == 1
    # Enqueuing the same card again stores nothing; force makes it pending again.
    card = Card("t", "b", POINTER)
    assert not enqueue_post(engine, card, source_key="digest:w:1", kind="digest",
                            bot="ops-wecom", channel="wecom", now=NOW)[1]  # fmt: skip
    assert enqueue_post(engine, card, source_key="digest:w:1", kind="digest", bot="ops-wecom",
                        channel="wecom", now=NOW, force=True)[1]  # fmt: skip
    assert post_cards(engine, [posted], targets).sent == [posted]
    assert len(fake_bots.accepted) == 2
    assert "1 waiting (no webhook configured for later)" in first.describe()


# -- digests: the policy routes them, one context, never twice ------------------------------


POLICY = {
    "chatbots": {
        "pm-feishu": {"kind": "feishu", "groups": ["wecom:proj"]},
        "ops-wecom": {"kind": "wecom", "groups": ["prod"], "audiences": ["admin"]},
        "quiet": {"kind": "wecom", "groups": ["*"], "digests": False},
    }
}


def test_digests_go_to_the_bots_of_their_groups(
    engine: sa.Engine, tmp_path: Path, fake_bots: FakeBots
) -> None:
    load_into(engine, write_bundle(tmp_path / "bundle"))
    policy = Policy.model_validate(POLICY)

    def run() -> list[tuple[str, tuple[str, ...]]]:
        outcomes = prepare_digests(engine, policy, kind="week", as_of=AS_OF,
                                   outbox_dir=tmp_path / "outbox", sender="g@example.com",
                                   providers=[])  # fmt: skip
        return [(o.key.split(":", 3)[3], o.cards) for o in outcomes]

    first = run()
    assert first == [
        ("owner:wecom:u01", ("digest:week:2026-W47:owner:wecom:u01@pm-feishu",)),
        ("owner:wecom:u05", ()),
        ("admin:wecom:mkt", ()),
        ("admin:wecom:prod", ("digest:week:2026-W47:admin:wecom:prod@ops-wecom",)),
        ("admin:wecom:proj", ("digest:week:2026-W47:admin:wecom:proj@pm-feishu",)),
    ]
    assert run() == [(k, ()) for k, _ in first]  # already queued: no second card
    keys = [k for _, cards in first for k in cards]
    webhooks = {"pm-feishu": SecretStr(fake_bots.feishu_url),
                "ops-wecom": SecretStr(fake_bots.wecom_url)}  # fmt: skip
    targets = targets_from(policy, webhooks)
    assert sorted(targets) == ["ops-wecom", "pm-feishu"]
    assert post_cards(engine, keys, targets).sent == keys
    assert post_cards(engine, pending_cards(engine), targets).sent == []
    assert [a["bot"] for a in fake_bots.accepted] == ["feishu", "wecom", "feishu"]

    # The card says what the email says: its subject is the card's title.
    with engine.connect() as conn:
        subjects = dict(conn.execute(sa.text("SELECT key, subject FROM outbox")).all())
    owner = fake_bots.accepted[0]["payload"]["card"]
    assert owner["header"]["title"]["content"] == subjects["digest:week:2026-W47:owner:wecom:u01"]
    assert "需要您处理" in owner["elements"][0]["content"]
    wecom = fake_bots.accepted[1]["payload"]["markdown"]["content"]
    assert wecom.startswith(f"**{subjects['digest:week:2026-W47:admin:wecom:prod']}**")


# -- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "error"),
    [
        ('[chatbots.pm]\nkind = "dingtalk"\ngroups = ["*"]\n', "chatbots.pm.kind"),
        ('[chatbots.pm]\nkind = "feishu"\ngroups = []\n', "chatbots.pm.groups"),
        ('[chatbots.pm]\nkind = "feishu"\ngroups = ["*"]\nurl = "https://x"\n', "chatbots.pm.url"),
        ('[chatbots."PM Bot"]\nkind = "feishu"\ngroups = ["*"]\n', "chatbots"),
    ],
)
def test_bad_bot_config_names_the_key(tmp_path: Path, toml: str, error: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(PolicyError, match=error.replace(".", r"\.")):
        load_policy(path)


def test_webhooks_are_masked_in_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=very-secret-key"
    monkeypatch.setenv("GROUPOPS_CHATBOT_WEBHOOKS", json.dumps({"ops-wecom": url}))
    monkeypatch.setenv("GROUPOPS_CHATBOT_SECRETS", json.dumps({"pm-feishu": "sign-secret"}))
    settings = Settings()
    assert settings.chatbot_webhooks["ops-wecom"].get_secret_value() == url
    shown = json.dumps(settings.redacted(), default=str) + repr(settings) + str(settings)
    assert "very-secret-key" not in shown and "sign-secret" not in shown
    assert settings.redacted()["chatbot_webhooks"] == {"ops-wecom": "**********"}
    target = BotTarget("ops-wecom", "wecom", settings.chatbot_webhooks["ops-wecom"])
    assert "very-secret-key" not in repr(target)


# -- reminders: the same steps as the emails, each card once --------------------------------


def test_reminders_and_the_requester_notice_go_to_the_group_bot(
    engine: sa.Engine, tmp_path: Path, fake_bots: FakeBots
) -> None:
    from groupops.deadlines.reminders import load_obligations, send_reminders
    from tests.test_commitments import at, seed

    seed(engine, "收到，11月24日前完成")
    policy = Policy.model_validate({"chatbots": {
        "pm": {"kind": "wecom", "groups": ["wecom:g1"], "digests": False},
        "digests-only": {"kind": "feishu", "groups": ["*"], "reminders": False},
    }})  # fmt: skip
    targets = targets_from(policy, {"pm": SecretStr(fake_bots.wecom_url),
                                    "digests-only": SecretStr(fake_bots.feishu_url)})  # fmt: skip
    posted: list[str] = []
    for day, hour in [(11, 10), (12, 10), (23, 17), (25, 10), (25, 11)]:
        obligations = load_obligations(engine, policy, at(day, hour))
        send_reminders(engine, obligations, policy, sender="g@example.com",
                       outbox_dir=tmp_path / "outbox", now=at(day, hour))  # fmt: skip
        posted += post_cards(engine, pending_cards(engine), targets).sent
    # The notice to 王磊 (commitment later than asked), the reminder to 李浩, the admins' step:
    # each posted once, only to the bot that takes this group's reminders.
    assert [k.split(":")[1] for k in posted] == ["commitment", "task_done", "task_done"]
    assert all(k.endswith("@pm") for k in posted)
    contents = [a["payload"]["markdown"]["content"] for a in fake_bots.accepted]
    assert {a["bot"] for a in fake_bots.accepted} == {"wecom"}
    assert "晚 6 个工作日" in contents[0] and "下周一前" in contents[0]
    assert "11月16日 18:00" in contents[1] and "11月24日 18:00" in contents[1]
    assert "已逾期 1 工作小时" in contents[2]
    # The card's title is the email's subject.
    with engine.connect() as conn:
        subjects = [s for (s,) in conn.execute(sa.text("SELECT subject FROM outbox ORDER BY id"))]
    assert [c.split("\n", 1)[0] for c in contents] == [f"**{s}**" for s in subjects]


# -- the flows: targets from the environment or a Secret block, retries, a failed run --------


@pytest.fixture
def flow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from groupops.db import make_engine, upgrade
    from groupops.settings import get_settings

    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    engine = make_engine(url)
    load_into(engine, write_bundle(tmp_path / "bundle"))
    engine.dispose()
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[chatbots.pm-feishu]\nkind = "feishu"\ngroups = ["wecom:proj"]\n'
        '[chatbots.ops-wecom]\nkind = "wecom"\ngroups = ["prod"]\naudiences = ["admin"]\n',
        encoding="utf-8",
    )
    for name, value in {
        "DATABASE_URL": url,
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "MAIL_FROM": "groupops@example.com",
        "POLICY_PATH": str(policy),
    }.items():
        monkeypatch.setenv(f"GROUPOPS_{name}", value)  # fmt: skip
    monkeypatch.delenv("GROUPOPS_SMTP_HOST", raising=False)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@pytest.mark.flow
@pytest.mark.usefixtures("prefect")
def test_send_digests_posts_each_card_once(
    flow_store: str, fake_bots: FakeBots, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.blocks.system import Secret

    from flows.send_digests import send_digests
    from groupops.settings import get_settings

    # One bot from the environment, the signed Feishu bot from its Secret block.
    monkeypatch.setenv("GROUPOPS_CHATBOT_WEBHOOKS", json.dumps({"ops-wecom": fake_bots.wecom_url}))
    Secret(value={"url": fake_bots.feishu_signed_url, "secret": FEISHU_SECRET}).save(
        "chatbot-pm-feishu", overwrite=True
    )
    get_settings.cache_clear()
    first = send_digests(period="week", as_of=AS_OF, send=True)
    assert sorted(first.cards_posted) == [
        "digest:week:2026-W47:admin:wecom:prod@ops-wecom",
        "digest:week:2026-W47:admin:wecom:proj@pm-feishu",
        "digest:week:2026-W47:owner:wecom:u01@pm-feishu",
    ]
    assert all(a["payload"].get("sign") for a in fake_bots.accepted if a["bot"] == "feishu")
    second = send_digests(period="week", as_of=AS_OF, send=True)
    assert second.cards_posted == [] and len(fake_bots.accepted) == 3


@pytest.mark.flow
@pytest.mark.usefixtures("prefect")
def test_a_rejected_card_fails_the_run_with_the_platform_error(
    flow_store: str, fake_bots: FakeBots, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.blocks.system import Secret

    from flows.send_digests import send_digests
    from groupops.chatbots import CardsNotPosted
    from groupops.settings import get_settings

    Secret(value={"url": fake_bots.feishu_signed_url, "secret": "stale-secret"}).save(
        "chatbot-pm-feishu", overwrite=True
    )
    monkeypatch.setenv("GROUPOPS_CHATBOT_WEBHOOKS", json.dumps({"ops-wecom": fake_bots.wecom_url}))
    get_settings.cache_clear()
    with pytest.raises(CardsNotPosted, match=r"code 19021.*signature check failed"):
        send_digests(period="week", as_of=AS_OF, send=True)
    # A permanent error is not retried: one request per card.
    assert fake_bots.requests == 3 and [a["bot"] for a in fake_bots.accepted] == ["wecom"]


@pytest.mark.flow
@pytest.mark.usefixtures("prefect")
def test_watch_deadlines_posts_the_reminder_cards_once(
    tmp_path: Path, fake_bots: FakeBots, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.blocks.system import Secret

    from flows.watch_deadlines import watch_deadlines
    from groupops.db import make_engine, upgrade
    from groupops.settings import get_settings
    from tests.test_commitments import at, seed

    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    engine = make_engine(url)
    seed(engine, "收到，11月24日前完成")
    policy = tmp_path / "policy.toml"
    policy.write_text('[chatbots.pm]\nkind = "feishu"\ngroups = ["wecom:g1"]\n', encoding="utf-8")
    for name, value in {
        "DATABASE_URL": url,
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "MAIL_FROM": "groupops@example.com",
        "POLICY_PATH": str(policy),
    }.items():
        monkeypatch.setenv(f"GROUPOPS_{name}", value)  # fmt: skip
    monkeypatch.delenv("GROUPOPS_SMTP_HOST", raising=False)
    monkeypatch.delenv("GROUPOPS_CHATBOT_WEBHOOKS", raising=False)
    # What `groupops secrets set chatbot-pm` stores: the JSON as text.
    block = json.dumps({"url": fake_bots.feishu_signed_url, "secret": FEISHU_SECRET})
    Secret(value=block).save("chatbot-pm", overwrite=True)
    get_settings.cache_clear()
    try:
        first = watch_deadlines(as_of=at(11, 10))  # the requester's notice
        again = watch_deadlines(as_of=at(11, 11))
        later = watch_deadlines(as_of=at(23, 17))  # the reminder to 李浩
    finally:
        get_settings.cache_clear()
        engine.dispose()
    assert (first.cards_posted, again.cards_posted, later.cards_posted) == (1, 0, 1)
    cards = [a["payload"] for a in fake_bots.accepted]
    assert [c["card"]["header"]["template"] for c in cards] == ["orange", "red"]
    assert all(c["sign"] for c in cards)
    assert "晚 6 个工作日" in cards[0]["card"]["elements"][0]["content"]
