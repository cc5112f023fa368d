"""Detection as a specification: tables of texts and what they are (Chinese and English, with
near-misses that must not match), floods, duplicates, masking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from groupops.moderation.detect import MessageRules, detect, flood_runs
from groupops.moderation.text import domain_allowed, links, mask, normalise, personal_data
from groupops.policy import Moderation

POLICY = Moderation(
    link_allowlist=["example.com", "feishu.cn"],
    vulgar_words=["傻逼", "他妈的", "fuck", "ass"],
    ad_words=["加微信", "代理", "优惠券", "兼职", "刷单", "免费领取", "free coupon", "dm me"],
)
RULES = MessageRules(POLICY)

# (text, category or None, rule of the first hit)
CASES: list[tuple[str, str | None, str | None]] = [
    # ads: words after normalising width, case and spacing
    ("兼职刷单，日结200，有意向的加微信详聊", "ad", "ad_words"),
    ("加 微 信 领红包", "ad", "ad_words"),
    ("加.微.信：abc123", "ad", "ad_words"),
    ("ＦＲＥＥ ＣＯＵＰＯＮ for everyone", "ad", "ad_words"),
    ("Free   Coupon inside!", "ad", "ad_words"),
    ("DM me for cheap followers", "ad", "ad_words"),
    ("本店优惠券免费领取", "ad", "ad_words"),
    ("点击 https://cheap-deal.top/x 抢购", "ad", "link_domain"),
    ("看这里 www.haohuo.vip", "ad", "link_domain"),
    ("bit.ly/3abc 速领", "ad", "link_domain"),
    ("HTTP://PROMO.SHOP/item?id=1", "ad", "link_domain"),
    # near-misses for ads
    ("请加一下我微信群的公告", None, None),
    ("优惠方案明天评审", None, None),
    ("文档见 https://docs.example.com/s/abc", None, None),
    ("会议纪要在 https://example.com/minutes", None, None),
    ("飞书链接 https://abc.feishu.cn/docx/1", None, None),
    ("有问题发邮件到 li.lei@partner-corp.com", None, None),
    ("路线图.pdf 已上传", None, None),
    ("版本号 v2.10.3 已发布", None, None),
    ("I will dm the team later", None, None),
    # illegal
    ("周末一起去澳门赌博吗", "illegal", "illegal_words"),
    ("可以代开发票，量大从优", "illegal", "illegal_words"),
    ("信用卡套现找我", "illegal", "illegal_words"),
    # vulgar (CJK anywhere, English whole words only)
    ("你是不是傻逼", "vulgar", "vulgar_words"),
    ("他 妈 的又改需求", "vulgar", "vulgar_words"),
    ("What the FUCK is this", "vulgar", "vulgar_words"),
    ("this is an ass move", "vulgar", "vulgar_words"),
    ("first class service", None, None),
    ("please assess the risk", None, None),
    ("passing the test suite", None, None),
    # rumour
    ("听说下个月要裁员", "rumour", "rumour_words"),
    ("据说老板要走了", "rumour", "rumour_words"),
    # confidential: markers
    ("【内部资料】2027年产品路线图（机密）.pdf", "confidential", "confidential_markers"),
    ("This deck is CONFIDENTIAL, do not forward", "confidential", "confidential_markers"),
    ("绝 密 文件", "confidential", "confidential_markers"),
    # confidential: personal data with real validators
    ("我的身份证 11010519491231002X 帮我登记", "confidential", "resident_id"),
    ("身份证号：440308199901010014", None, None),  # wrong check digit: not personal data
    ("订单号 123456789012345678 已发货", None, None),  # 18 digits, not an ID at all
    ("工资卡 6222 0212 3456 7890 128 请打款", "confidential", "bank_card"),
    ("卡号 4111111111111111", "confidential", "bank_card"),
    ("卡号 4111111111111112", None, None),  # Luhn fails
    ("有事打我电话 13812345678", "confidential", "mobile"),
    ("电话 +86 139 1234 5678", "confidential", "mobile"),
    ("工号 12345678901", None, None),  # 12x is no mainland mobile prefix
    ("座机 010-62345678", None, None),  # a landline is not a mobile
    ("订单 138123456789 号", None, None),  # 12 digits: not a mobile
    # precedence: the most serious category wins, the others are listed
    ("加微信买内部资料", "confidential", "confidential_markers"),
    ("赌博网站 https://lucky.bet.top", "illegal", "illegal_words"),
    # ordinary chatter
    ("需求评审改到周三下午", None, None),
    ("OK, will do", None, None),
]


@pytest.mark.parametrize(("text", "category", "rule"), CASES)
def test_detection_table(text: str, category: str | None, rule: str | None) -> None:
    hits = RULES.check(text)
    assert hits.category == category
    if category is not None:
        assert hits.rule() == rule


def test_the_table_is_big_and_bilingual() -> None:
    assert len(CASES) >= 40
    assert sum(1 for _t, c, _r in CASES if c is None) >= 15  # near-misses
    assert any(t.isascii() for t, _c, _r in CASES)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("加 微 信", "加微信"),
        ("ＡＢＣ　ｄｅｆ", "abc def"),
        ("加\u200b微信", "加微信"),
        ("Hello   World", "hello world"),
        ("刷-单", "刷单"),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("example.com", True),
        ("docs.example.com", True),
        ("www.example.com", True),
        ("badexample.com", False),
        ("example.com.evil.top", False),
    ],
)
def test_allowlist_covers_subdomains_only(host: str, allowed: bool) -> None:
    assert domain_allowed(host, ["example.com"]) is allowed


def test_links_skip_email_addresses() -> None:
    assert links("mail a@b-corp.com or see https://x.top/p and c.vip") == ["x.top", "c.vip"]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("身份证 11010519491231002X", "身份证 110105********002X"),
        ("电话13812345678", "电话138****5678"),
        ("卡 4111111111111111 谢谢", "卡 ************1111 谢谢"),
        ("身份证 440308199901010014", "身份证 440308199901010014"),  # not valid: left alone
    ],
)
def test_masking(text: str, masked: str) -> None:
    assert mask(text) == masked


def test_personal_data_kinds_can_be_limited() -> None:
    text = "13812345678 / 4111111111111111"
    assert [h.kind for h in personal_data(text)] == ["mobile", "bank_card"]
    assert [h.kind for h in personal_data(text, ["bank_card"])] == ["bank_card"]


# -- floods and duplicates ----------------------------------------------------------------------

T0 = datetime(2026, 11, 13, 12, 10, tzinfo=UTC)


def frame(rows: list[tuple[str, str, int, str]], kind: str = "text") -> pd.DataFrame:
    """rows: (message_id, sender, seconds after T0, text)"""
    return pd.DataFrame(
        [
            {
                "platform": "wecom",
                "group_id": "g",
                "message_id": mid,
                "sender_id": sender,
                "sent_at": T0 + timedelta(seconds=s),
                "kind": kind,
                "text": text,
            }
            for mid, sender, s, text in rows
        ]
    )


@pytest.mark.parametrize(
    ("times", "limit", "window", "runs"),
    [
        ([0, 4, 8, 12, 16, 20, 24, 28], 8, 60, []),  # exactly 8: not more than 8
        ([0, 4, 8, 12, 16, 20, 24, 28, 32], 8, 60, [(0, 8)]),
        ([0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48], 8, 60, [(0, 12)]),
        ([0, 10, 20, 30, 40, 50, 60, 70, 80], 8, 60, []),  # spread over 80 s
        ([*range(9), *range(500, 509)], 8, 60, [(0, 8), (9, 17)]),  # two bursts
        ([0, 30, 60, 61, 62, 63, 64, 65, 66, 67, 200], 8, 60, [(1, 9)]),
    ],
)
def test_flood_runs(times: list[int], limit: int, window: int, runs: list[tuple[int, int]]) -> None:
    assert flood_runs(times, limit, window) == runs


def test_a_flood_is_one_violation_with_all_its_messages() -> None:
    burst = [(f"m{i:02d}", "duo", 4 * i, "在吗") for i in range(13)]
    other = [("x1", "li", 10, "好的"), ("x2", "li", 20, "收到")]
    (found,) = detect(frame(burst + other), POLICY)
    assert (found.category, found.member_id, found.rule) == ("flood", "duo", "flood")
    assert found.message_ids == tuple(f"m{i:02d}" for i in range(13))
    assert found.at == T0 + timedelta(seconds=48)
    assert found.evidence_key == "msg:m00"


def test_duplicates_within_the_window_only() -> None:
    text = "大家记得明天上午十点准时参加评审会议"
    rows = [
        ("a1", "li", 0, text),
        ("a2", "li", 300, " " + text),  # 5 min later, spacing differs: the same text
        ("a3", "li", 300 + 3600, text),  # an hour later: a new chain of one, no duplicate
        ("b1", "wang", 10, text),  # someone else: not a repost by li
        ("c1", "li", 20, "好的好的"),  # short texts are never duplicates
        ("c2", "li", 25, "好的好的"),
    ]
    (found,) = detect(frame(rows), POLICY)
    assert (found.category, found.member_id, found.message_ids) == ("duplicate", "li", ("a1", "a2"))


def test_a_reposted_ad_is_ads_not_a_duplicate() -> None:
    ad = "兼职刷单日结，有意向的私聊我"
    found = detect(frame([("a1", "x", 0, ad), ("a2", "x", 60, ad)]), POLICY)
    assert [(d.category, d.message_ids) for d in found] == [("ad", ("a1",)), ("ad", ("a2",))]


def test_system_messages_are_never_violations() -> None:
    rows = [(f"s{i}", "system", i, "某某加入了群聊，加微信") for i in range(12)]
    assert detect(frame(rows, kind="system"), POLICY) == []


def test_snippets_mask_personal_data() -> None:
    (found,) = detect(frame([("p1", "li", 0, "我的手机 13812345678 有事找我")]), POLICY)
    assert found.category == "confidential" and "138****5678" in found.snippet
    assert "13812345678" not in found.snippet
