"""The deadlines chapter's scenario (rulebook ch. 4): tasks with their acknowledgements and
completions, and @mentions that are never answered. Pure data; times are local
``"MM-DD HH:MM"`` in 2026 (Asia/Shanghai)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from groupops.demo.scenario import When


@dataclass(frozen=True, slots=True)
class Flow:
    """How one assignee handles a task. ``ack``/``done``: local times or ``None`` (never).
    ``ack_text`` may hold ``{c}`` for the committed deadline. ``*_reply``: sent as a reply
    to the task (otherwise a plain message in the group, matched by its marker)."""

    ack: str | None
    ack_text: str = ""
    commit: When | None = None
    done: str | None = None
    done_text: str = ""
    ack_reply: bool = True
    done_reply: bool = True


@dataclass(frozen=True, slots=True)
class TaskPlan:
    group_id: str
    at: str
    requester: str
    text: str  # after 【任务】 and the @mentions; ``{d}`` is where the deadline is written
    deadline: When | None
    flows: dict[str, Flow] = field(default_factory=dict)


_NONE = Flow(None)  # never acknowledged, never done

# fmt: off
TASKS: Final[tuple[TaskPlan, ...]] = (
    # ---- 项目运营群 ----
    TaskPlan("proj-ops", "10-26 10:05", "liuyang", "请整理双11项目里程碑表，{d}", When("md", (10, 28), "hm", (18, 0), cutoff=True), {
        "chenxin": Flow("10-26 10:31", "收到，我{c}先出初稿，再跟各组对一遍", When("week", 2, "eod"), "10-27 17:42", "里程碑表已完成，放在共享盘 项目/双11 目录下了"),
    }),
    TaskPlan("proj-ops", "10-27 14:20", "zhaojianguo", "麻烦{d}把10月各渠道的项目周报汇总一份发我", When("this_week", 5), {
        "xuting": Flow("10-27 14:52", "好的，我{c}给您，先把各渠道数据拉齐", When("tomorrow", 0, "am", 10), "10-28 11:36", "周报汇总完成了，晚了一点，文件发您邮箱了", done_reply=False),
    }),
    TaskPlan("proj-ops", "10-29 09:40", "sunli", "供应商报价单再核对一遍，{d}给我结论", When("tomorrow", 0, "pm", 3), {
        "gaofeng": Flow("10-29 10:16", "收到，先比对三家的报价明细", None, "11-02 10:21", "报价核对完成了，抱歉拖到今天，结论在表格第二页"),
    }),
    TaskPlan("proj-ops", "11-02 10:30", "liuyang", "活动页压测方案和回滚预案各出一份，{d}", When("md", (11, 4), "hm", (18, 0), cutoff=True), {
        "wangqiang": Flow("11-02 10:47", "收到，压测方案我{c}排好", When("today", 0, "eod"), "11-02 17:35", "压测方案已完成，见共享盘"),
        "lijing": Flow("11-02 11:20", "好的，回滚预案我来写，先梳理依赖的服务", None, "11-04 16:02", "回滚预案已完成，评审意见也改好了"),
    }),
    TaskPlan("proj-ops", "11-03 15:00", "zhaojianguo", "双11项目验收报告请在{d}提交", When("iso", (11, 6), "hm", (18, 0)), {
        "majun": _NONE,
    }),
    TaskPlan("proj-ops", "11-09 11:00", "liuyang", "把本周各渠道的转化数据做一个汇总分析，发群里", None, {
        "chenxin": Flow("11-09 11:22", "收到，我{c}完成，先核对各渠道数据再做汇总", When("week", 3, "eod")),
    }),
    TaskPlan("proj-ops", "11-11 14:00", "sunli", "大促复盘的数据分析部分交给你，{d}给初稿", When("next_week", 1), {
        "xuting": Flow("11-11 16:34", "好的，先拉数据再写分析", None, "11-17 10:05", "复盘数据分析完成了，比预期晚了一天，请孙老师看下"),
    }),
    TaskPlan("proj-ops", "11-16 09:50", "zhaojianguo", "年底项目排期表更新一版，{d}", When("this_week", 5), {
        "gaofeng": Flow("11-16 10:12", "收到，我{c}给到", When("week", 3, "eod")),
    }),
    TaskPlan("proj-ops", "11-19 10:00", "liuyang", "会员积分兑换功能提测，{d}", When("md", (11, 24), "hm", (18, 0), cutoff=True), {
        "wangqiang": Flow("11-19 10:33", "收到，{c}提测，先把联调问题清掉", When("next_week", 1, "eod")),
    }),
    TaskPlan("proj-ops", "11-20 15:30", "zhaojianguo", "下周一的客户演示环境准备一下，{d}", When("next_week", 3), {
        "zhangwei": _NONE,
    }),
    # ---- 产品运营群 ----
    TaskPlan("prod-ops", "10-26 11:00", "wanglei", "会员中心改版的需求文档，{d}", When("md", (10, 29), "hm", (18, 0), cutoff=True), {
        "lihao": Flow("10-26 11:14", "收到，{c}给初版", When("week", 3, "eod"), "10-28 17:03", "需求文档初版已完成，链接在群公告里"),
    }),
    TaskPlan("prod-ops", "10-28 14:30", "chenjing", "竞品的积分体系调研，{d}出一份对比", When("this_week", 5), {
        "yangxue": Flow("10-28 15:02", "好的，先看三家头部竞品", None, "10-30 16:45", "竞品调研已完成，对比表发群文件了"),
    }),
    TaskPlan("prod-ops", "10-30 10:00", "zhouting", "帮忙整理一下10月用户反馈的分类统计", None, {
        "hanmei": _NONE,
    }),
    TaskPlan("prod-ops", "11-04 09:45", "wanglei", "签到页的埋点方案，{d}", When("tomorrow", 0, "pm", 3), {
        "fangyuan": Flow("11-04 16:01", "收到，抱歉刚看到，{c}给你", When("tomorrow", 0, "noon"), "11-05 11:40", "埋点方案已完成，字段说明在文档第三节"),
    }),
    TaskPlan("prod-ops", "11-05 14:00", "chenjing", "新人引导流程的交互稿，{d}", When("iso", (11, 10), "hm", (18, 0)), {
        "songyu": Flow("11-05 14:26", "收到，先对齐需求再排期"),
    }),
    TaskPlan("prod-ops", "11-10 10:20", "zhouting", "消息推送的频控规则梳理一下，{d}", When("md", (11, 13), "hm", (12, 0), cutoff=True), {
        "dengtao": Flow("11-10 10:41", "好的，我{c}提交，先查一下现在的推送日志", When("week", 4, "pm", 4), "11-13 10:02", "频控规则梳理完成了，比说好的晚了点", ack_reply=False),
    }),
    TaskPlan("prod-ops", "11-12 16:00", "wanglei", "支付页的异常兜底逻辑，{d}", When("next_week", 1), {
        "lihao": Flow("11-12 16:18", "收到，这个要和支付那边联调，{c}完成", When("md", (11, 24))),
    }),
    TaskPlan("prod-ops", "11-17 11:00", "chenjing", "12月版本的需求池排个优先级，{d}", When("this_week", 5), {
        "yangxue": Flow("11-17 11:31", "收到，{c}给初稿", When("week", 4, "noon"), "11-19 11:20", "需求池优先级已完成，文档链接见上"),
    }),
    TaskPlan("prod-ops", "11-18 09:30", "wanglei", "首页改版的切图，{d}", When("tomorrow", 0, "pm", 3), {
        "zhaolei": _NONE,
    }),
    # ---- 市场运营群 ----
    TaskPlan("mkt-ops", "10-26 15:00", "huangzhiqiang", "双11整体营销方案，{d}", When("md", (10, 30), "hm", (18, 0), cutoff=True), {
        "liuqian": Flow("10-26 15:21", "收到，{c}交，先出框架再补预算", When("week", 4, "eod"), "10-29 17:50", "营销方案已完成，发到群文件了"),
    }),
    TaskPlan("mkt-ops", "10-27 10:00", "linxiao", "KOL投放名单和报价，{d}汇总", When("this_week", 5), {
        "chenkaiwen": Flow("10-27 10:12", "好的，{c}给你", When("tomorrow", 0, "pm", 4), "10-28 15:30", "KOL名单已完成，附了报价"),
        "tangjie": Flow("10-27 10:40", "收到，我这边负责报价部分", None, "10-30 17:02", "报价部分完成了"),
    }),
    TaskPlan("mkt-ops", "11-02 09:30", "wumin", "活动海报和落地页文案，{d}", When("iso", (11, 4), "hm", (18, 0)), {
        "luoxiaoyu": Flow("11-02 09:58", "收到，先做海报再做落地页", None, "11-04 11:00", "海报和文案已完成，见附件"),
    }),
    TaskPlan("mkt-ops", "11-04 14:00", "huangzhiqiang", "把上个月的品牌曝光数据整理成一页纸", None, {
        "sunli": Flow("11-04 14:30", "收到，我{c}完成", When("next_week", 1, "eod"), "11-10 10:02", "一页纸完成了，晚了半天，抱歉"),
    }),
    TaskPlan("mkt-ops", "11-09 10:00", "linxiao", "社群运营周报模板做一版，{d}", When("md", (11, 11), "hm", (18, 0), cutoff=True), {
        "qianduoduo": _NONE,
    }),
    TaskPlan("mkt-ops", "11-11 15:00", "huangzhiqiang", "12月品牌活动的创意提案，{d}", When("this_week", 5), {
        "liuqian": Flow("11-11 15:26", "收到，{c}给初稿", When("week", 4, "am", 10)),
    }),
    TaskPlan("mkt-ops", "11-16 10:00", "wumin", "直播间的话术脚本，{d}", When("md", (11, 18)), {
        "tangjie": Flow("11-16 16:30", "好的，刚开完会，马上开始写", None, "11-18 17:30", "话术脚本完成了，请吴敏看一下"),
    }),
    TaskPlan("mkt-ops", "11-17 10:30", "huangzhiqiang", "年终总结的案例素材收集一下，{d}", When("next_week", 3), {
        "sunli": _NONE,
    }),
    TaskPlan("mkt-ops", "11-19 14:00", "linxiao", "年会物料的供应商比价，{d}", When("next_week", 2), {
        "zhouting": Flow("11-19 14:20", "收到，先问三家报价"),
    }),
    # ---- 渠道合作伙伴群 ----
    TaskPlan("partner-channel", "10-28 10:30", "zhenghao", "11月的投放排期表请发一下，{d}", When("md", (10, 30), "hm", (12, 0), cutoff=True), {
        "xh_zhoupeng": Flow("10-28 10:44", "收到，{c}发您", When("week", 5, "am", 10), "10-30 09:50", "排期表已完成，已发邮件"),
    }),
    TaskPlan("partner-channel", "10-29 15:00", "hejia", "麻烦{d}提供一下10月的结算对账单", When("this_week", 5), {
        "lj_wangfang": Flow("10-29 15:17", "好的，财务那边在出", None, "11-02 11:00", "对账单已完成，盖章版下午寄出"),
    }),
    TaskPlan("partner-channel", "11-03 11:00", "zhenghao", "双11素材的版权授权书，{d}回传", When("iso", (11, 5), "hm", (18, 0)), {
        "xh_guohui": _NONE,
    }),
    TaskPlan("partner-channel", "11-05 10:00", "zhenghao", "下周的联合直播，两边的分工和流程确认一下，{d}", When("next_week", 1), {
        "yf_liming": Flow("11-05 10:16", "收到，{c}给到", When("next_week", 1, "am", 10), "11-09 09:40", "流程表已完成，请郑总过目"),
        "yf_caiwen": Flow("11-05 10:35", "收到，我们这边先排人员"),
    }),
    TaskPlan("partner-channel", "11-10 14:00", "hejia", "团购券的核销数据导一份，{d}", When("tomorrow", 0, "pm", 3), {
        "lj_xiaoma": Flow("11-10 14:09", "ok，{c}发", When("tomorrow", 0, "noon"), "11-11 14:30", "核销数据已完成导出，发群文件了", done_reply=False),
    }),
    TaskPlan("partner-channel", "11-13 10:00", "zhenghao", "12月的合作报价方案，{d}", When("md", (11, 17), "hm", (18, 0), cutoff=True), {
        "xh_lina": Flow("11-13 10:22", "收到，{c}交", When("next_week", 1, "pm", 4), "11-17 10:30", "报价方案已完成，晚了半天，请查收"),
    }),
    TaskPlan("partner-channel", "11-16 15:00", "tangjie", "联合直播的数据回收表，{d}", When("next_week", 1), {
        "yf_hujun": Flow("11-16 15:40", "收到，等直播结束后整理"),
    }),
    TaskPlan("partner-channel", "11-20 16:30", "zhenghao", "年度框架协议的修改意见，{d}", When("md", (11, 25), "hm", (18, 0), cutoff=True), {
        "lj_wangfang": _NONE,
    }),
)
# fmt: on


@dataclass(frozen=True, slots=True)
class Mention:
    """A planted @mention that is never answered (``assignee`` sends nothing in the group
    after it). Pending ones are asked in the last working hours before ``as_of``."""

    group_id: str
    at: str
    requester: str
    assignees: tuple[str, ...]
    text: str  # after the @mentions
    answered_by: tuple[str, ...] = ()  # mentioned members who do answer


UNANSWERED: Final[tuple[Mention, ...]] = (
    Mention(
        "proj-ops",
        "11-09 10:20",
        "liuyang",
        ("majun",),
        "上周的验收报告放在哪个目录了？我这边找不到",
    ),
    Mention(
        "mkt-ops",
        "11-10 14:05",
        "linxiao",
        ("luoxiaoyu",),
        "渠道物料的源文件能再发一份吗？设计那边要改尺寸",
    ),
    Mention(
        "partner-channel",
        "11-12 11:00",
        "zhenghao",
        ("xh_guohui",),
        "郭总，11月下半月的排期表麻烦确认一下",
    ),
    Mention(
        "proj-ops",
        "11-16 11:00",
        "zhaojianguo",
        ("wangqiang", "lijing"),
        "积分商城的上线时间确定了吗？",
        ("wangqiang",),
    ),
    Mention("prod-ops", "11-17 15:00", "chenjing", ("zhangwei",), "接口性能的问题查到原因了吗？"),
    Mention(
        "mkt-ops",
        "11-18 10:00",
        "huangzhiqiang",
        ("chenkaiwen",),
        "上周KOL投放的效果数据出来了吗？",
    ),
    # pending at as_of: asked in the last working hours
    Mention(
        "prod-ops", "11-20 16:10", "wanglei", ("fangyuan",), "接口文档更新了吗？下周一要给前端"
    ),
    Mention("mkt-ops", "11-20 17:20", "wumin", ("liuqian",), "下周的选题会材料准备得怎么样了？"),
)

#: What the members who do answer a planted mention say (in turn).
PLANTED_ANSWERS: Final[tuple[str, ...]] = (
    "下周三上线，今天跟测试过最后一轮",
    "我这边确认了，按原计划走",
)
