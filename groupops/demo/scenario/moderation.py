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
