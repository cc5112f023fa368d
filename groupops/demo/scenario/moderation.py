"""The moderation chapter's scenario (rulebook ch. 6, 违规处理): an ad, confidential text and a
flood. Pure data; times are local ``"MM-DD HH:MM[:SS]"`` in 2026 (Asia/Shanghai)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

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

# -- appeals (申诉): written in the groups after the notice, @mentioning an admin ---------------
# `groupops demo` catches moderation up over the period (a run at the end of every working day),
# so each violation is notified at the end of the working day it was complete on; an appeal
# names the member's latest notified violation in that group. An admin answers in a reply to
# the appeal: a decision (an uphold or reject marker), or only a holding reply (no marker).


@dataclass(frozen=True, slots=True)
class AppealPlant:
    group_id: str
    member: str  # the sanctioned member
    at: str  # local "MM-DD HH:MM"
    admin: str  # the admin (or owner) the appeal @mentions, who replies to it
    text: str  # after "@admin "
    reply_at: str
    reply: str  # the admin's reply: holds a decision marker unless the appeal stays open
    category: str  # the appealed violation's category (the member's latest notified one)
    state: Literal["upheld", "rejected", "late", "answer_overdue"]


APPEALS: Final[tuple[AppealPlant, ...]] = (
    # Filed in time against the mute (her flood and the link were notified by the same run;
    # the link is the later one), only a holding reply: the answer, due 11-19 18:00, is overdue
    # at as_of.
    AppealPlant("mkt-ops", "qianduoduo", "11-16 19:05", "linxiao",
                "申诉：那个链接是朋友新开的网店，我没有打广告的意思，禁言能不能解除",
                "11-16 19:20", "我先看一下链接的情况，稍后答复你", "ad", "answer_overdue"),
    # Filed the day after the appeal window closed (notified 11-12 18:00, window to 11-17 18:00).
    AppealPlant("prod-ops", "chenjing", "11-18 09:30", "wanglei",
                "申诉：路线图只是发给产品组同步的，群里都是自己同事，请重新考虑",
                "11-18 09:50", "陈总，这个我先记下，按流程走", "confidential", "late"),
    # Rejected by the admin in a reply.
    AppealPlant("partner-channel", "chenkaiwen", "11-18 10:00", "tangjie",
                "申诉：分成测算的口径是和渠道方一起定的，对方本来就有这份数据",
                "11-18 15:00", "申诉驳回：测算表是公司文件，不能发到合作伙伴群，维持原处理",
                "confidential", "rejected"),
    # Upheld by the admin: the duplicate warning is revoked.
    AppealPlant("prod-ops", "dengtao", "11-20 09:40", "zhouting",
                "申诉：第二条是网络卡住后客户端自动重发的，不是我故意刷屏",
                "11-20 11:00", "申诉成立，确实是客户端重发，这次警告撤销", "duplicate", "upheld"),
)  # fmt: skip
