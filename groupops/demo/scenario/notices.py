"""The archive chapter's scenario (rulebook ch. 3(四)): notices, some reposted, and important
messages. Pure data; times are local ``"MM-DD HH:MM"`` in 2026 (Asia/Shanghai)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from groupops.demo.scenario import Plain


@dataclass(frozen=True, slots=True)
class Notice:
    group_id: str
    at: str
    sender: str
    text: str
    mention_all: bool = False
    repost_at: str | None = None  # reposted later …
    repost_text: str | None = None  # … with this text (None: exactly the same text)
    # Added for the cleanup (issue 10; data only, the text is unchanged): the end the text
    # states ("MM-DD HH:MM": a validity end or an event time), and whether a changed repost
    # says the same (it differs only in punctuation, width or spacing).
    ends: str | None = None
    repost_same: bool | None = None


NOTICES: Final[tuple[Notice, ...]] = (
    Notice(
        "proj-ops",
        "10-26 09:12",
        "sunli",
        "【通知】本周五（10月30日）15:00 园区消防演练，届时请大家配合疏散，提前保存好手头的工作。",
        True,
    ),
    Notice(
        "proj-ops",
        "10-30 17:40",
        "liuyang",
        "【通知】下周起项目周报统一用新模板，模板已上传共享盘 项目/模板 目录。",
        repost_at="11-02 09:20",
    ),
    Notice(
        "proj-ops",
        "11-12 16:30",
        "sunli",
        "【通知】11月16日起，报销单据统一走线上审批，纸质单据不再受理。",
        True,
    ),
    Notice(
        "prod-ops",
        "10-27 09:35",
        "zhouting",
        "【公告】产品需求统一在需求池登记，群里提的需求不再单独排期。",
        True,
        repost_at="10-29 10:05",
        repost_text="【公告】产品需求统一在需求池登记，群里提的需求不再单独排期！",
        repost_same=True,
    ),
    Notice(
        "prod-ops",
        "11-03 17:10",
        "wanglei",
        "【通知】测试环境本周四晚20:00-22:00停机升级，请提前安排。",
    ),
    Notice(
        "prod-ops",
        "11-16 09:40",
        "chenjing",
        "【通知】12月版本需求冻结时间为11月27日，请各位在此之前提交。",
        True,
    ),
    Notice(
        "mkt-ops",
        "10-28 10:10",
        "wumin",
        "【通知】双11期间（11月10日至11月12日）对外发布的物料，统一由林晓审核后发出。",
        True,
        repost_at="11-09 09:30",
        repost_text="【通知】再次提醒：双11期间（11月10日至11月12日）对外发布的物料，统一由林晓审核后发出。",
        repost_same=False,
    ),
    Notice(
        "mkt-ops",
        "11-05 15:20",
        "linxiao",
        "【通知】市场部11月的费用预算已下发，请各位在系统里查看自己负责的科目。",
    ),
    Notice(
        "mkt-ops",
        "11-17 10:15",
        "huangzhiqiang",
        "【公告】下周一起市场部周会改到周一下午14:00。",
        True,
    ),
    Notice(
        "partner-channel",
        "10-26 10:00",
        "zhenghao",
        "【公告】各位伙伴好，11月结算周期调整为每月5日对账、15日付款。",
        True,
    ),
    Notice(
        "partner-channel",
        "11-02 14:00",
        "hejia",
        "【通知】双11联合活动的素材规范已更新，请以群文件里的v2版本为准。",
        repost_at="11-06 10:00",
    ),
    Notice(
        "partner-channel",
        "11-13 11:30",
        "zhenghao",
        "【通知】下周三（11月18日）下午召开渠道季度沟通会，具体安排会后续发出。",
        True,
        ends="11-18 18:00",  # 下午 alone: the end of that working day
    ),
)


IMPORTANT: Final[tuple[Plain, ...]] = (
    Plain(
        "proj-ops",
        "10-26 09:30",
        "zhaojianguo",
        "【重要】群规：1. 工作时间内消息请在4小时内回复；2. 派活请写明负责人和截止时间，负责人需回复完成时间和方式；3. 群内禁止发布与工作无关的广告。",
        pinned=True,
    ),
    Plain(
        "mkt-ops",
        "11-02 09:15",
        "huangzhiqiang",
        "【重要】双11大促期间所有对外投放必须走审批流程，未审批的素材一律不得上线。",
        pinned=True,
        mention_all=True,
    ),
    Plain(
        "partner-channel",
        "10-27 11:00",
        "zhenghao",
        "【重要】合作期间的数据和素材仅限本次合作使用，请勿转发到其他群。",
        pinned=True,
    ),
    Plain(
        "prod-ops", "11-11 21:40", "zhangwei", "紧急：支付回调偶发超时，已临时扩容，明早再看监控。"
    ),
)


# -- added for the cleanup (issue 10): new plants in the chapter's own series -------------------


@dataclass(frozen=True, slots=True)
class StaleNotice:
    """A notice stating an end (``ends``, "MM-DD HH:MM"): expired once that has passed."""

    group_id: str
    at: str
    sender: str
    text: str
    ends: str


@dataclass(frozen=True, slots=True)
class Revision:
    """A notice and, later, its revision (same title, new text): the first is superseded."""

    group_id: str
    sender: str
    at: str
    text: str
    revised_at: str
    revised_text: str


@dataclass(frozen=True, slots=True)
class Repeat:
    """The same text posted twice in one group (a notice or a long message): the second copy
    is a duplicate when it came within ``notices.duplicate_window_days``."""

    group_id: str
    text: str
    first: tuple[str, str]  # (sender, "MM-DD HH:MM")
    again: tuple[str, str]
    notice: bool


STALE_NOTICES: Final[tuple[StaleNotice, ...]] = (
    StaleNotice(
        "proj-ops", "11-09 10:30", "sunli",
        "【通知】10月份的打车票报销有效期至11月15日，逾期财务不再受理。", "11-15 18:00",
    ),
    StaleNotice(
        "prod-ops", "10-29 14:00", "chenjing",
        "【通知】年度体检预约有效期至12月31日，请尽快在系统里预约。", "12-31 18:00",
    ),
    StaleNotice(
        "prod-ops", "11-12 16:00", "zhouting",
        "【通知】产品评审会于11月17日下午3点在三楼大会议室召开，请相关同学准时参加。", "11-17 15:00",
    ),
    StaleNotice(
        "mkt-ops", "11-19 11:00", "linxiao",
        "【通知】部门年会于12月18日晚上7点在酒店宴会厅举行，届时请准时到场。", "12-18 19:00",
    ),
)  # fmt: skip

REVISIONS: Final[tuple[Revision, ...]] = (
    Revision(
        "mkt-ops", "wumin", "11-13 10:00", "【通知】双12物料提交时间：11月25日前发到市场部邮箱",
        "11-16 15:00", "【通知】双12物料提交时间（更新）：11月24日中午前发到市场部邮箱",
    ),
    Revision(
        "partner-channel", "zhenghao", "11-10 10:00", "【公告】对接人安排：渠道一组、渠道二组",
        "11-17 09:30", "【公告】对接人安排（修订）：渠道一组、渠道三组",
    ),
)  # fmt: skip

REPEATS: Final[tuple[Repeat, ...]] = (
    Repeat(
        "proj-ops", "【通知】本周起代码评审统一放在周三下午，请提前准备好评审材料。",
        ("liuyang", "11-16 09:30"), ("liuyang", "11-18 09:30"), notice=True,
    ),
    Repeat(
        "prod-ops", "线上告警处理手册已经更新到知识库，值班同学先看一遍",
        ("wanglei", "11-17 14:00"), ("zhouting", "11-18 10:00"), notice=False,
    ),
    Repeat(
        "partner-channel", "双12联合活动的报名表已经放到群文件，请伙伴们查收",
        ("hejia", "11-19 09:00"), ("zhenghao", "11-20 10:00"), notice=False,
    ),
)  # fmt: skip
