"""The moderation chapter's scenario (rulebook ch. 6, 违规处理): an ad, confidential text and a
flood. Pure data; times are local ``"MM-DD HH:MM[:SS]"`` in 2026 (Asia/Shanghai)."""

from __future__ import annotations

from typing import Final

from groupops.demo.scenario import Plain

AD: Final = Plain(
    "partner-channel",
    "11-10 20:35:12",
    "yf_chenjie",
    "兼职刷单，日结200-500，在家用手机就能做，有意向的加微信 yf8866 详聊",
)

CONFIDENTIAL: Final[tuple[Plain, ...]] = (
    Plain(
        "prod-ops",
        "11-12 11:10",
        "chenjing",
        "【内部资料】2027年产品路线图（机密，请勿外传）.pdf",
        kind="file",
    ),
    Plain(
        "partner-channel",
        "11-17 14:25",
        "chenkaiwen",
        "这是我们内部资料里的渠道分成测算，大家参考一下",
    ),
)

FLOOD_MEMBER: Final = "qianduoduo"
FLOOD_GROUP: Final = "mkt-ops"
FLOOD_AT: Final = "11-13 20:10:03"
FLOOD_TEXTS: Final[tuple[str, ...]] = (
    "在吗",
    "在吗在吗",
    "有人吗",
    "[表情]",
    "[表情]",
    "活动链接打不开",
    "打不开啊",
    "急",
    "谁能看一下",
    "[表情]",
    "还是打不开",
    "？？？",
    "有人吗？",
)

# -- added with the moderation chapter (issue 9): the ladder, links, duplicates, personal data --
# New plants (the chapter's own id series). The flooding member goes on: an ad link (her
# second violation in 市场运营群: a mute) and a vulgar outburst (her third: removal).
LADDER: Final[tuple[Plain, ...]] = (
    Plain(
        "mkt-ops",
        "11-16 15:20",
        "qianduoduo",
        "朋友新开的网店在搞活动，戳这里 https://quan.haohuo.top/a8 看看",
    ),
    Plain("mkt-ops", "11-18 20:05", "qianduoduo", "这破链接到现在还打不开，傻逼设计"),
)
# The same question posted twice within the duplicate window (a `duplicate`, a warning).
DUPLICATE: Final[tuple[Plain, ...]] = (
    Plain("prod-ops", "11-19 10:02", "dengtao", "有没有人知道预发环境的测试账号在哪里申请"),
    Plain("prod-ops", "11-19 10:05", "dengtao", "有没有人知道预发环境的测试账号在哪里申请"),
)
# A partner posts a mobile number (personal data: `confidential`, severe: removal) …
PERSONAL: Final = Plain(
    "partner-channel", "11-18 16:40", "xh_zhoupeng", "合同细节直接打我手机 13912345678，我都在"
)
# … and near-misses that are no violation: an ID-shaped number whose check digit is wrong, a
# link on the allowlist, a landline.
NEAR_MISSES: Final[tuple[Plain, ...]] = (
    Plain("proj-ops", "11-17 11:12", "xuting", "采购单号 110105194912310021 已提交，等审批"),
    Plain("prod-ops", "11-17 15:40", "lihao", "评审材料在 https://docs.example.com/s/review-1117"),
    Plain("mkt-ops", "11-19 14:10", "liuqian", "供应商座机 010-62345678，下午可以打"),
)
# What the ladder decides at as_of, per planted violation (independent of the code that
# decides it): (category, penalty).
FOUNDING_STEPS: Final[dict[str, tuple[str, str]]] = {
    "ad": ("ad", "warning"),  # yf_chenjie's first in partner-channel
    "flood": ("flood", "warning"),  # qianduoduo's first in mkt-ops
    "confidential": ("confidential", "removal"),  # severe
}
LADDER_STEPS: Final[tuple[tuple[str, str], ...]] = (("ad", "mute"), ("vulgar", "removal"))
DUPLICATE_STEP: Final = ("duplicate", "warning")
PERSONAL_STEP: Final = ("confidential", "removal")
