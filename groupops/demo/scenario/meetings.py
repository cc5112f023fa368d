"""The meetings chapter's scenario (rulebook ch. 5): meeting notices, leave requests and
minutes. Pure data; times are local ``"MM-DD HH:MM"`` in 2026 (Asia/Shanghai)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal


@dataclass(frozen=True, slots=True)
class Meeting:
    group_id: str
    kind: Literal["weekly", "monthly", "adhoc"]
    topic: str
    notice_at: str
    sender: str
    starts: str  # local "MM-DD HH:MM"
    ends: str  # "HH:MM"
    place: str
    attendees: tuple[str, ...]
    agenda: tuple[str, ...]
    minutes_at: str | None
    minutes_by: str
    decisions: tuple[tuple[str, str, str], ...]  # (item, owner member id, deadline "M月D日")
    leaves: tuple[tuple[str, str, str], ...] = ()  # (member id, local time, reason)
    # How the minutes write action items: "owner" (事项——负责人：某人，截止…) or "mention"
    # (@某人 事项 …前).
    minutes_style: Literal["owner", "mention"] = "owner"


_PROJ = ("zhaojianguo", "liuyang", "sunli", "chenxin", "xuting", "gaofeng", "zhangwei", "wangqiang")
_PROD = ("chenjing", "wanglei", "zhouting", "lihao", "yangxue", "hanmei", "zhaolei", "fangyuan")

# fmt: off
MEETINGS: Final[tuple[Meeting, ...]] = (
    Meeting("proj-ops", "weekly", "项目组周例会（10月26日）", "10-26 09:05", "liuyang", "10-26 10:00", "11:00",
            "3楼大会议室", (*_PROJ, "majun"),
            agenda=("上周进展", "双11项目里程碑", "风险与求助"),
            minutes_at="10-26 14:10", minutes_by="liuyang",
            decisions=(("双11项目里程碑表定稿", "chenxin", "10月28日"), ("压测资源申请", "wangqiang", "10月30日")),
            leaves=(("gaofeng", "10-26 09:20", "上午在客户现场"),),
    ),
    Meeting("proj-ops", "weekly", "项目组周例会（11月2日）", "10-30 16:30", "liuyang", "11-02 10:00", "11:00",
            "3楼大会议室", (*_PROJ, "majun"),
            agenda=("双11准备情况", "压测计划", "验收安排"),
            minutes_at="11-02 13:50", minutes_by="sunli",
            decisions=(("压测方案和回滚预案", "wangqiang", "11月4日"), ("验收报告", "majun", "11月6日")),
    ),
    Meeting("proj-ops", "weekly", "项目组周例会（11月9日）", "11-06 17:00", "liuyang", "11-09 10:00", "11:00",
            "腾讯会议 482-731-906", _PROJ,
            agenda=("大促值班安排", "转化数据", "本周重点"),
            minutes_at="11-09 14:20", minutes_by="liuyang",
            decisions=(("大促值班表发群里", "sunli", "11月9日"), ("渠道转化数据汇总", "chenxin", "11月11日")),
            leaves=(("xuting", "11-06 18:20", "周一上午要陪家人看病"), ("zhangwei", "11-09 09:10", "线上有个问题在处理")),
    ),
    Meeting("proj-ops", "weekly", "项目组周例会（11月16日）", "11-13 16:45", "sunli", "11-16 10:00", "11:00",
            "3楼大会议室", _PROJ,
            agenda=("大促复盘", "年底排期", "积分商城上线"),
            minutes_at="11-16 15:05", minutes_by="sunli",
            decisions=(("大促复盘报告", "xuting", "11月16日"), ("年底项目排期表", "gaofeng", "11月18日")),
    ),
    Meeting("prod-ops", "weekly", "产品周会（10月28日）", "10-27 17:20", "zhouting", "10-28 14:00", "15:00",
            "5楼小会议室", _PROD,
            agenda=("会员中心改版", "需求池梳理"),
            minutes_at="10-28 16:40", minutes_by="zhouting",
            decisions=(("会员中心改版需求文档", "lihao", "10月29日"), ("竞品积分体系调研", "yangxue", "10月30日")),
            leaves=(("hanmei", "10-28 09:40", "今天下午去医院复查"),),
    ),
    Meeting("prod-ops", "weekly", "产品周会（11月4日）", "11-03 17:30", "zhouting", "11-04 14:00", "15:00",
            "5楼小会议室", (*_PROD, "songyu"),
            agenda=("签到页埋点", "新人引导流程"),
            minutes_at="11-04 16:20", minutes_by="wanglei",
            decisions=(("签到页埋点方案", "fangyuan", "11月5日"), ("新人引导交互稿", "songyu", "11月10日")),
    ),
    Meeting("prod-ops", "adhoc", "支付页异常兜底方案评审", "11-12 10:00", "wanglei", "11-12 15:00", "16:00",
            "腾讯会议 915-204-388", ("wanglei", "lihao", "zhangwei", "fangyuan", "zhaolei", "chenjing"),
            agenda=("线上异常复盘", "兜底方案评审"),
            minutes_at="11-12 17:15", minutes_by="wanglei",
            decisions=(("支付页异常兜底逻辑", "lihao", "11月16日"), ("支付回调监控告警", "zhangwei", "11月13日")),
    ),
    Meeting("prod-ops", "weekly", "产品周会（11月11日）", "11-10 17:00", "zhouting", "11-11 14:00", "15:00",
            "5楼小会议室", (*_PROD, "songyu", "dengtao"),
            agenda=("推送频控", "12月版本规划"),
            minutes_at="11-11 16:10", minutes_by="zhouting",
            decisions=(("推送频控规则梳理", "dengtao", "11月13日"), ("12月版本需求池", "yangxue", "11月24日")),
    ),
    Meeting("prod-ops", "weekly", "产品周会（11月18日）", "11-17 17:05", "zhouting", "11-18 14:00", "15:00",
            "5楼小会议室", (*_PROD, "songyu"),
            agenda=("首页改版", "12月版本需求池"),
            minutes_at=None, minutes_by="zhouting",
            decisions=(),
    ),
    Meeting("mkt-ops", "monthly", "市场部11月月度复盘", "11-16 11:00", "wumin", "11-19 14:00", "16:00",
            "2楼多功能厅", ("huangzhiqiang", "linxiao", "wumin", "chenkaiwen", "liuqian", "tangjie", "zhenghao", "sunli"),
            agenda=("双11投放复盘", "渠道ROI", "12月品牌活动"),
            minutes_at="11-19 17:20", minutes_by="linxiao",
            decisions=(("双11投放复盘报告", "chenkaiwen", "11月24日"), ("12月品牌活动方案", "liuqian", "11月26日"), ("渠道ROI月报模板", "wumin", "11月27日")),
            leaves=(("zhenghao", "11-18 18:30", "周四下午要去渠道方那边开会"),),
    ),
)
# fmt: on


# New plants (after the split; own id series ``{group}-meetings-NNNN``).
# fmt: off
NEW_MEETINGS: Final[tuple[Meeting, ...]] = (
    # Minutes published late (due 8 working hours after the end: 11-18 15:30), in the @ style.
    Meeting("proj-ops", "adhoc", "积分商城上线评审", "11-17 09:30", "sunli", "11-17 15:00", "16:00",
            "3楼大会议室", ("sunli", "liuyang", "chenxin", "gaofeng", "zhangwei", "wangqiang"),
            agenda=("上线检查", "回滚预案"),
            minutes_at="11-18 17:00", minutes_by="sunli",
            decisions=(("上线检查清单", "zhangwei", "11月19日"), ("回滚演练记录", "wangqiang", "11月25日")),
            minutes_style="mention",
    ),
    # Cancelled before it was held.
    Meeting("prod-ops", "adhoc", "首页改版专题讨论", "11-16 11:30", "wanglei", "11-19 10:00", "11:00",
            "5楼小会议室", ("wanglei", "zhouting", "lihao", "zhaolei", "yangxue"),
            agenda=("首页信息架构", "改版节奏"),
            minutes_at=None, minutes_by="wanglei", decisions=(),
    ),
    # Still to come at as_of, and moved once by a second notice.
    Meeting("mkt-ops", "adhoc", "12月品牌活动方案评审", "11-20 10:00", "wumin", "11-24 14:00", "15:00",
            "2楼多功能厅", ("wumin", "linxiao", "liuqian", "chenkaiwen", "tangjie", "huangzhiqiang"),
            agenda=("活动方案", "预算", "分工"),
            minutes_at=None, minutes_by="wumin", decisions=(),
    ),
)
# fmt: on


@dataclass(frozen=True, slots=True)
class Change:
    """A later notice of a meeting (by its topic): new time and place, or a cancellation."""

    topic: str
    at: str
    starts: str | None = None  # "MM-DD HH:MM"
    ends: str | None = None  # "HH:MM"
    place: str | None = None
    cancel: bool = False


CHANGES: Final[tuple[Change, ...]] = (
    Change("首页改版专题讨论", "11-18 16:40", cancel=True),
    Change("12月品牌活动方案评审", "11-20 15:00", starts="11-25 10:00", ends="11:30",
           place="3楼大会议室"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Said:
    """A message about a meeting: ``late_leave`` (a leave reply to the notice after the start),
    ``leave_mention`` (a leave that @mentions the organizer, answered by them at
    ``answer_at``), or ``done`` (an action item reported done in a reply to the minutes)."""

    topic: str
    kind: Literal["late_leave", "leave_mention", "done"]
    member: str
    at: str
    text: str
    answer_at: str | None = None
    answer: str | None = None


SAID: Final[tuple[Said, ...]] = (
    Said("项目组周例会（11月16日）", "late_leave", "chenxin", "11-16 10:20",
         "抱歉，客户临时来电话，这次会我请假"),
    Said("12月品牌活动方案评审", "leave_mention", "tangjie", "11-20 16:00",
         "周三上午我请假，要去渠道方那边开会", answer_at="11-20 16:10", answer="没事，会后把结论发你"),
    Said("项目组周例会（11月9日）", "done", "sunli", "11-09 17:30", "大促值班表已完成，已经发在群文件里"),
    Said("项目组周例会（11月16日）", "done", "xuting", "11-17 10:30", "大促复盘报告已完成，见共享盘"),
)  # fmt: skip


# -- Regular meetings declared as files (data/demo/meetings/*.md, written by the generator) ----


@dataclass(frozen=True, slots=True)
class Held:
    """What happened around one occurrence of a declared meeting: leave requests that @mention
    the organizer (member id, local time, text without the mention), the minutes (local time,
    author, decisions as in :class:`Meeting`, which name the topic), and action items reported
    done in a reply to the minutes (member id, local time, text)."""

    day: str  # "MM-DD" of the occurrence
    leaves: tuple[tuple[str, str, str], ...] = ()
    minutes_at: str | None = None
    minutes_by: str = ""
    decisions: tuple[tuple[str, str, str], ...] = ()
    done: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Declared:
    """One ``data/demo/meetings/<stem>.md``: a weekly series (``cron``) or a one-off
    (``start``)."""

    stem: str
    kind: Literal["weekly", "adhoc"]
    topic: str
    group_id: str
    organizer: str
    place: str
    duration: int  # minutes
    attendees: tuple[str, ...]
    agenda: tuple[str, ...]
    weekly: tuple[int, str] | None = None  # a series: (weekday, 0 = Monday; "HH:MM")
    since: str | None = None  # "MM-DD", a series' first day
    until: str | None = None  # "MM-DD", its last day
    start: str | None = None  # "MM-DD HH:MM", a one-off
    held: tuple[Held, ...] = ()


# fmt: off
DECLARED: Final[tuple[Declared, ...]] = (
    # A weekly series from 11-10 (Tuesdays 09:30, 45 minutes): minutes on time with one item
    # done and one overdue; minutes a day late; the next one ahead with a leave by @mention.
    Declared("mkt-weekly", "weekly", "市场部周例会", "mkt-ops", "linxiao", "2楼小会议室", 45,
             ("linxiao", "wumin", "chenkaiwen", "liuqian", "tangjie", "zhenghao"),
             agenda=("上周投放数据", "本周重点", "需要协调的事项"),
             weekly=(1, "09:30"), since="11-10", until="12-29",
             held=(
                 Held("11-10", leaves=(("zhenghao", "11-09 18:30", "明早的周例会我请假，要去渠道方那边对合同"),),
                      minutes_at="11-10 11:00", minutes_by="linxiao",
                      decisions=(("双11当天投放监控表", "chenkaiwen", "11月11日"),
                                 ("渠道素材补齐", "liuqian", "11月13日")),
                      done=(("chenkaiwen", "11-11 16:20", "双11当天投放监控表已完成，链接发群文件了"),)),
                 Held("11-17", minutes_at="11-18 17:30", minutes_by="wumin",
                      decisions=(("12月投放预算初稿", "tangjie", "11月25日"),)),
                 Held("11-24", leaves=(("liuqian", "11-20 11:05", "下周二的周例会我请假，那天在外地拍素材"),)),
             )),
    # A one-off declared ahead (upcoming at as_of), with a leave by @mention.
    Declared("partner-sync", "adhoc", "渠道合作伙伴季度沟通会", "partner-channel", "zhenghao",
             "腾讯会议 736-218-405", 90,
             ("zhenghao", "hejia", "tangjie", "xh_zhoupeng", "lj_wangfang", "yf_liming"),
             agenda=("三季度渠道数据回顾", "四季度返点政策", "年度合作续约"),
             start="11-26 15:00",
             held=(Held("11-26", leaves=(("lj_wangfang", "11-19 14:10", "26号下午的沟通会我请假，当天要出差"),)),)),
)
# fmt: on
