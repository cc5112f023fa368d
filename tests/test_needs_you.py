"""Action first: every digest opens with 需要您处理 / Needs you (what the reader must act on,
with the message, the requester's words and a link), then the health of the group (a one-line
verdict and the KPI cards), then detail; the subject carries the numbers."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from groupops.connectors.links import Links, message_link
from groupops.digest import build_digests, digest_period
from groupops.digest.actions import SLOTS, needs_you, verdict
from groupops.digest.context import Digest, DigestScope, Section
from groupops.digest.deliver import standard_providers
from groupops.ingest import open_bundle, run_ingest
from groupops.mail import render_email
from groupops.mail.i18n import Language
from groupops.policy import Policy
from groupops.watch import load_obligations

POLICY = Policy()
MONDAY = datetime(2026, 11, 23, 9, tzinfo=POLICY.tz)  # the week 11-16 .. 11-22 is complete


@pytest.fixture
def demo(engine: sa.Engine) -> sa.Engine:
    run_ingest(open_bundle("data/demo"), engine, POLICY)
    return engine


def test_links_follow_each_platforms_documented_form() -> None:
    assert message_link("matrix", "!abc:example.org", "$ev1") == (
        "https://matrix.to/#/!abc:example.org/$ev1?via=example.org"
    )
    assert message_link("feishu", "oc_41e7bdf4", "om_1") == (
        "https://applink.feishu.cn/client/chat/open?openChatId=oc_41e7bdf4"
    )
    links = Links(slack_workspace="acme", telegram_public={"-100123": "acme_ops"})
    assert message_link("slack", "C0123", "1700000000.123456", links) == (
        "https://acme.slack.com/archives/C0123/p1700000000123456"
    )
    assert message_link("slack", "C0123", "1700000000.123456") is None  # workspace unknown
    assert message_link("telegram", "-100123", "42", links) == "https://t.me/acme_ops/42"
    assert message_link("telegram", "-100999", "42", links) is None  # a private group
    assert message_link("wecom", "proj-ops", "m1", links) is None


def test_slots_keep_their_order_and_count_people_once() -> None:
    block = needs_you([
        {"slot": "cleanup", "group": "g", "who": "notice", "what": "needs.what.minutes",
         "todo": "needs.todo.cleanup"},
        {"slot": "overdue", "group": "g", "who": "李浩", "person_id": "lh",
         "what": "deadline.what.reply", "todo": "needs.todo.overdue"},
        {"slot": "overdue", "group": "g", "who": "李浩", "person_id": "lh",
         "what": "deadline.what.task_done", "todo": "needs.todo.overdue"},
    ])  # fmt: skip
    assert [s["id"] for s in block["slots"]] == list(SLOTS)
    assert [s["count"] for s in block["slots"]] == [2, 0, 0, 0, 0, 1]
    assert block["total"] == 3 and block["late_people"] == 1
    with pytest.raises(ValueError, match="unknown action slot"):
        needs_you([{"slot": "nope"}])


def test_verdict_names_what_needs_attention() -> None:
    good = {"key": "messages", "label_key": "k", "value": 3, "fmt": "num",
            "change": {"direction": "up", "good": True}}  # fmt: skip
    bad = {"key": "answer_rate", "label_key": "r", "value": 0.5, "fmt": "pct",
           "change": {"direction": "down", "good": False}}  # fmt: skip
    assert verdict([good], comparable=True)["tone"] == "good"
    assert [p["label_key"] for p in verdict([good, bad], comparable=True)["points"]] == ["r"]
    assert verdict([good, bad], comparable=False)["tone"] == "good"  # nothing to compare with


def _owner(digests: list[Digest], group: str) -> Digest:
    return next(d for d in digests if d.scope.audience == "owner" and d.scope.groups == (group,))


def test_the_owner_reads_what_needs_them_first(demo: sa.Engine) -> None:
    providers = standard_providers(demo, POLICY, MONDAY)
    digests = build_digests(demo, POLICY, digest_period("week", MONDAY, POLICY),
                            providers=providers, as_of=MONDAY)  # fmt: skip
    obligations = load_obligations(demo, POLICY, MONDAY)
    ov = obligations.overdue
    for digest in digests:
        scope = digest.scope
        step = 2 if scope.audience == "owner" else 1
        mine = ov[ov["group_id"].isin(scope.groups) & (ov["escalation"] >= step)]
        answers = mine[mine["kind"] != "minutes"]
        block = digest.context["needs_you"]
        slots = {s["id"]: s for s in block["slots"]}
        assert slots["overdue"]["count"] == len(answers)
        assert slots["minutes"]["count"] >= int((mine["kind"] == "minutes").sum())
        assert block["late_people"] == answers["assignee_id"].nunique()
        # Members listed in the detail are tied to their overdue items.
        for grp in digest.context["sections"][0]["data"]["groups"]:
            for person in grp["top_members"] + grp["inactive_members"]:
                mine_p = answers[(answers["assignee_id"] == person["member_id"])
                                 & (answers["group_id"] == grp["group_id"])]  # fmt: skip
                assert person["overdue_items"] == len(mine_p), person
        # The subject carries the numbers, computed here from the obligations.
        zh = render_email("digest", digest.context, language="zh-CN", images=digest.images)
        if block["total"]:
            assert f"：{block['total']} 项待处理" in zh.subject
        if len(answers):
            assert f"，{answers['assignee_id'].nunique()} 人逾期未回复" in zh.subject
        # Action first: the block comes before the health cards and the detail.
        assert zh.text.index("需要您处理") < zh.text.index("群健康度") < zh.text.index("活跃概况")
        assert zh.html.index("需要您处理") < zh.html.index("群健康度") < zh.html.index("活跃概况")

    owner = _owner(digests, "proj-ops")
    zh = render_email("digest", owner.context, language="zh-CN", images=owner.images)
    assert zh.subject.startswith("项目运营群周报：")
    items = next(s for s in owner.context["needs_you"]["slots"] if s["id"] == "overdue")["items"]
    assert items and all(i["text"] for i in items)  # each with its message
    # The requester's words about the deadline, where the task stated one.
    for i in items:
        if i["what"] == "deadline.what.task_done" and i["words"]:
            assert i["words"] in zh.text


def test_message_text_is_masked_and_shortened(demo: sa.Engine) -> None:
    from groupops.db.queries import load_groups
    from groupops.digest.overdue import overdue_items
    from groupops.roster import Directory

    obligations = load_obligations(demo, POLICY, MONDAY)
    ov = obligations.overdue
    row = ov[(ov["kind"] != "minutes") & ov["text"].isna()].iloc[0]  # a message, not an item
    secret = "请回电 13812345678，身份证 11010519491231002X 的材料" + "很长的说明" * 30
    texts = {(row["platform"], row["group_id"], row["message_id"]): secret}
    period = digest_period("week", MONDAY, POLICY)
    scope = DigestScope("admin", str(row["platform"]), str(row["group_id"]), ("x",),
                        (str(row["group_id"]),), period)  # fmt: skip
    names = dict(zip(load_groups(demo)["group_id"], load_groups(demo)["name"], strict=True))
    items = overdue_items(obligations, scope, Directory.load(demo), names, POLICY.tz, texts=texts)
    item = next(i for i in items if i["message_id"] == row["message_id"])
    assert "13812345678" not in item["text"] and "11010519491231002X" not in item["text"]
    assert len(item["text"]) <= 80 and item["text"].endswith("…")


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_providers_actions_fill_their_slot(demo: sa.Engine, language: Language) -> None:
    """Any section provider's actions arrive through the same slot mechanism (the archive's
    cleanup provider's own actions: tests/test_archive_flow.py)."""

    def cleanup(scope: DigestScope, lang: Language) -> Section:
        return Section(id="cleanup", template="overdue", title="", has_content=True,
                       data={"items": [], "as_of": MONDAY, "day_minutes": 450, "multi_group": False},
                       actions=({"slot": "cleanup", "group": "项目运营群", "who": "【通知】周五停电",
                                 "what": "needs.what.cleanup", "todo": "needs.todo.cleanup",
                                 "todo_args": {"run_id": "cleanup-1", "n": 1, "group_id": "proj-ops",
                                               "reasons": "expired 1"},
                                 "link": "https://example.org/n/1"},))  # fmt: skip

    digests = build_digests(demo, POLICY, digest_period("week", MONDAY, POLICY),
                            providers=[cleanup], as_of=MONDAY)  # fmt: skip
    owner = _owner(digests, "proj-ops")
    slot = next(s for s in owner.context["needs_you"]["slots"] if s["id"] == "cleanup")
    assert slot["count"] == 1
    out = render_email("digest", owner.context, language=language, images=owner.images)
    title = "待清理的过期通知" if language == "zh-CN" else "Stale notices awaiting cleanup"
    assert title in out.text and title in out.html
    assert 'href="https://example.org/n/1"' in out.html and "https://example.org/n/1" in out.text
    assert "groupops cleanup --group proj-ops --apply" in out.text
