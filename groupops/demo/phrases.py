"""Chatter templates for the demo company, by topic, with ``{slot}`` placeholders.

Chatter must never hold a task, acknowledgement or completion marker, nor a notice, meeting,
importance, confidentiality, advertising or rumour word (收到, 好的, 明白, 没问题, 已完成, 请假,
重要, 内部资料, 加微信 … see ``groupops/policy.py``): those are planted deliberately, and the
generator refuses to write a bundle where chatter contains one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from random import Random
from typing import Final


@dataclass(frozen=True, slots=True)
class Topic:
    starters: tuple[str, ...]
    followups: tuple[str, ...]
    questions: tuple[str, ...]  # asked with an @mention
    answers: tuple[str, ...]  # the mentioned member's answer


TOPICS: Final[dict[str, Topic]] = {
    "project": Topic(
        starters=(
            "双11项目的里程碑我更新到共享盘了，大家看一下各自负责的节点",
            "今天{time}和{dept}对一下项目进度，相关同学留意一下",
            "{partner}那边的合同盖章版已经回来了，我放在项目目录下",
            "客户那边问{feature}的交付能不能提前{n}天，我先评估一下",
            "项目看板上还有{n}个卡片没更新状态，麻烦各位今天更新一下",
            "本周风险：{risk}，我先记在风险清单里",
            "{feature}的验收标准我整理了一版，有补充的直接在文档里改",
            "供应商说物料{day}能到，比原计划晚{n}天",
            "项目预算目前用了{pct}%，后面的投放要控制一下节奏",
            "跟{partner}的周会改到{day}{time}了",
            "客户刚来电话，对{feature}的进度挺满意",
            "{feature}的排期我调整了一下，测试往后挪了{n}天",
            "下周要去{city}出差见客户，项目上的事找刘洋",
            "项目周报这周我来汇总，大家{day}前把进展填到表里",
        ),
        followups=(
            "我这边的节点没变化",
            "这个时间可以",
            "我看了一下，有两个节点要往后挪",
            "风险清单我补充一条：测试资源紧张",
            "建议先跟客户沟通一下再定",
            "那我这边按新的时间排",
            "这个节点我来跟",
            "我下午跟{dept}确认一下",
            "表格我填了",
            "提前{n}天有点紧，得加人",
            "合同我看一下付款节点",
            "看板我刚更新",
            "物料晚到会影响{day}的布展吗？",
        ),
        questions=(
            "{feature}的进度怎么样了？",
            "明天的客户会你能参加吗？",
            "看板上你那张卡片的状态更新一下？",
            "{partner}的对接人联系方式发我一下？",
            "测试排期定下来了吗？",
            "周报里你那部分填了吗？",
        ),
        answers=(
            "进度正常，预计{day}能提测",
            "可以参加",
            "刚更新了，你刷新看看",
            "稍等，我找一下发你",
            "还在和测试那边对，下午给你准信",
            "填了，在第二页",
            "定了，{day}开始",
        ),
    ),
    "release": Topic(
        starters=(
            "v{version}今晚{evening}发布，发布期间大家留意一下线上告警",
            "灰度{pct}%已经放出去了，目前监控正常",
            "v{version}的提测包已经给到测试了",
            "回滚方案准备好了，在发布文档第四节",
            "今晚的发布窗口调整到{evening}",
            "线上有个偶现的{bug}，已经在排查",
            "这个版本一共修了{n}个缺陷，还剩{m}个低优先级的放到下个版本",
            "测试环境刚部署了最新代码，大家可以验证了",
            "v{version}的发布说明写好了，产品同学帮忙看一下措辞",
            "{feature}的开关今天打开，先放{pct}%用户",
            "昨晚发布顺利，监控一切正常",
        ),
        followups=(
            "监控我盯着",
            "这边验证通过",
            "我这边复现不了，有截图吗",
            "发布前再跑一遍回归吧",
            "可以发",
            "日志我看了，应该是超时",
            "先不要合代码，等发布完",
            "测试用例都过了",
            "晚上我在线",
            "措辞我改了两处",
            "辛苦各位",
            "灰度数据明早我看一下",
        ),
        questions=(
            "这个缺陷今天能修吗？",
            "发布单提了吗？",
            "灰度的数据看过了吗？",
            "测试环境的账号能给我一个吗？",
            "{bug}有结论了吗？",
        ),
        answers=(
            "可以，下午修掉",
            "提了，在审批",
            "看了，转化率和对照组差不多",
            "私聊发你了",
            "今天排不上，明天上午修",
            "定位到了，是缓存的问题",
        ),
    ),
    "data": Topic(
        starters=(
            "昨天{channel}新增用户{num}，环比{updown}{pct}%",
            "今天的数据日报有点延迟，预计{time}出",
            "DAU {num2}万，次日留存{pct2}%，和上周基本持平",
            "数据日报发到邮箱了，{channel}的转化率{updown}得比较明显",
            "{channel}的获客成本这周涨到{cost}元了",
            "周末两天的活跃比工作日低{pct}%，正常波动",
            "看板上{metric}的口径改了，以后按新口径看",
            "上周的GMV是{num2}万，完成目标的{pct3}%",
            "{city}的用户增长这周最快，环比上涨{pct}%",
            "数据日报：新增{num}，活跃{num2}万，付费转化{pct2}%",
        ),
        followups=(
            "是不是统计口径的问题？",
            "这个涨幅有点意外",
            "我拉一下分渠道的明细",
            "和投放节奏对得上",
            "下周继续观察",
            "能按城市拆一下吗",
            "数据看板链接再发一下",
            "👍",
            "我这边也看到了",
            "{metric}这块要重点看一下",
        ),
        questions=(
            "{channel}昨天的数据能单独拉一下吗？",
            "这个口径是按自然日算的吗？",
            "留存下降的原因查到了吗？",
            "周报里的数据更新了吗？",
        ),
        answers=(
            "可以，稍后发你",
            "是按自然日",
            "初步看是新用户质量的问题，还在细看",
            "刚更新，刷新一下",
        ),
    ),
    "review": Topic(
        starters=(
            "{feature}的需求文档写好了，{day}{time}评审，大家提前看一下",
            "这个需求的优先级我建议放到下个迭代",
            "交互稿还差{n}个页面，{day}补齐",
            "用户反馈里提得最多的是{pain}，建议排进需求池",
            "{feature}的原型更新了，主要改了{part}",
            "需求池里有{n}个需求还没有评估工作量",
            "{feature}这个需求，技术那边评估要{n}人天",
            "{feature}的埋点文档补了，大家看下字段有没有遗漏",
            "竞品最近上了类似{feature}的功能，截图我放文档里了",
        ),
        followups=(
            "我看过了，有几个边界情况没写",
            "同意放下个迭代",
            "这个交互还可以再简化",
            "工作量评估我下午给",
            "埋点需求也一起加上吧",
            "文档里的流程图有点看不清",
            "赞同",
            "我补充了几条评论",
            "先做最小版本吧",
            "{pain}这个问题确实很多用户提",
            "这个字段后端要加接口",
        ),
        questions=(
            "这个需求的验收标准能再细化一下吗？",
            "{feature}的工作量评估好了吗？",
            "交互稿什么时候能出？",
            "这个字段后端能支持吗？",
        ),
        answers=(
            "可以，我今天补上",
            "评估了，大概{n}人天",
            "{day}出",
            "能支持，需要加个接口",
        ),
    ),
    "campaign": Topic(
        starters=(
            "双11活动方案第{n}版更新了，大家有意见直接在文档里批注",
            "活动主视觉有两个方向，大家投个票",
            "{channel}那边的活动预算能再压一下吗？现在是{num3}万",
            "落地页的利益点还可以再突出一点",
            "活动时间初步定在{date}到{date2}",
            "直播间的嘉宾定了，{day}彩排",
            "活动规则里的满减门槛建议调到{cost}元",
            "海报文案我改了一版：{slogan}",
            "{city}的线下快闪店选址有两个备选，{day}去看场地",
            "品牌联名的打样回来了，质感不错",
        ),
        followups=(
            "我投A",
            "B方向更年轻一点",
            "预算我再算一下",
            "文案可以再短一点",
            "这个门槛有点高",
            "彩排我到",
            "利益点放首屏吧",
            "👍",
            "挺不错",
            "同意",
            "场地我也一起去看",
        ),
        questions=(
            "活动规则的法务审核过了吗？",
            "海报的尺寸有哪些？",
            "嘉宾的档期确认了吗？",
            "预算表能发一下吗？",
        ),
        answers=(
            "过了，没有修改意见",
            "主要是竖版和方版两种",
            "确认了，{day}全天都可以",
            "发你邮箱了",
        ),
    ),
    "channel": Topic(
        starters=(
            "{channel}这周的投放ROI是{roi}",
            "第二批素材{day}上线",
            "{channel}的账户余额还剩{num}元，需要充值",
            "{channel}的点击率这两天掉得厉害，我换一批素材试试",
            "下周在{channel}加投，预算{num3}万",
            "{partner}那边的排期表发过来了，我转到群文件",
            "{city}的地推活动{day}开始",
            "这周的投放日报：曝光{num2}万，点击{num}，CTR {pct2}%",
            "{channel}的达人合作报价出来了，比上次贵{pct}%",
        ),
        followups=(
            "ROI还行",
            "素材我这边准备好了",
            "充值走流程吧",
            "换素材后再观察两天",
            "{city}那边的物料够吗",
            "这个CTR偏低",
            "排期我看了，没冲突",
            "我跟{partner}确认一下",
            "👍",
            "报价可以再谈谈",
        ),
        questions=(
            "{channel}的后台账号能开一个给我吗？",
            "下周的素材什么时候给到？",
            "这周的消耗是多少？",
            "结算单出来了吗？",
        ),
        answers=(
            "开了，账号私信你",
            "{day}给到",
            "消耗{num}元左右",
            "出来了，发你邮箱",
        ),
    ),
    "daily": Topic(
        starters=(
            "中午有人一起订饭吗",
            "{room}下午有人用吗",
            "打印机又卡纸了，行政同学看一下",
            "楼下咖啡店今天第二杯半价",
            "今天下雨，大家出门带伞",
            "共享盘的权限谁能帮我开一下",
            "电脑突然连不上内网了",
            "下午茶到了，在前台",
        ),
        followups=(
            "我一起",
            "+1",
            "不用了，我带饭了",
            "我们{time}要用",
            "谢谢提醒",
            "我也连不上",
            "重启一下试试",
            "哈哈",
            "[表情]",
            "走起",
        ),
        questions=(
            "{room}是你订的吗？",
            "下午茶放在哪个位置？",
            "你的显示器是哪个型号的？",
        ),
        answers=(
            "是的，三点之后就空出来了",
            "前台左手边",
            "回头发你链接",
        ),
    ),
    "partner_daily": Topic(
        starters=(
            "各位伙伴早上好，今天的投放数据稍后同步",
            "我们这边{day}有个培训，回复可能会慢一点",
            "{city}的活动现场照片，大家参考",
            "合同的电子版已经发到邮箱了",
            "发票已经开出，快递单号稍后发",
            "上次说的联合海报，我们设计做好了初稿",
        ),
        followups=(
            "辛苦",
            "感谢",
            "谢谢，已查收",
            "效果不错",
            "海报挺好看的",
            "我们这边也同步一下",
            "👍",
        ),
        questions=(
            "合同的纸质版什么时候寄出？",
            "发票抬头需要改一下，可以吗？",
            "下周能安排一次线上沟通吗？",
        ),
        answers=(
            "{day}寄出",
            "可以，把新的抬头发我",
            "可以，{day}下午我们都在",
        ),
    ),
}

#: Short follow-ups any topic may use.
GENERIC_FOLLOWUPS: Final[tuple[str, ...]] = (
    "嗯嗯",
    "行",
    "可以的",
    "我看看",
    "稍等",
    "了解",
    "👍",
    "辛苦了",
    "谢谢",
    "有道理",
    "同意",
    "+1",
    "[表情]",
    "我晚点看",
)

#: Non-text chatter: (kind, text template).
MEDIA: Final[tuple[tuple[str, str], ...]] = (
    ("image", ""),
    ("image", ""),
    ("image", "活动海报初稿"),
    ("image", "数据截图"),
    ("image", "现场照片"),
    ("file", "{feature}需求文档v{n}.docx"),
    ("file", "{channel}投放日报.xlsx"),
    ("file", "项目周报.pptx"),
    ("link", "{feature}原型 https://axure.example.com/p/{hex}"),
    ("link", "https://docs.example.com/s/{hex}"),
    ("voice", ""),
    ("video", "直播彩排录屏"),
)

#: Answers of mentioned members who do reply to a planted mention.
PLANTED_ANSWERS: Final[tuple[str, ...]] = (
    "下周三上线，今天跟测试过最后一轮",
    "我这边确认了，按原计划走",
)


def _int(lo: int, hi: int) -> Callable[[Random], str]:
    return lambda r: str(r.randint(lo, hi))


def _pick(*values: str) -> Callable[[Random], str]:
    return lambda r: r.choice(values)


SLOTS: Final[dict[str, Callable[[Random], str]]] = {
    "channel": _pick(
        "抖音", "小红书", "朋友圈广告", "视频号", "百度信息流", "B站", "知乎", "快手", "微博"
    ),
    "partner": _pick("星河传媒", "蓝鲸互动", "云帆科技"),
    "feature": _pick(
        "会员中心", "积分商城", "签到页", "新人引导", "消息中心", "搜索推荐", "支付页", "个人主页"
    ),
    "dept": _pick("技术部", "产品部", "市场部", "运营部", "财务部"),
    "risk": _pick("测试资源不足", "第三方接口不稳定", "设计稿延期", "服务器扩容审批慢"),
    "day": _pick("周一", "周二", "周三", "周四", "周五", "明天", "后天"),
    "time": _pick("上午10点", "下午2点", "下午3点半", "下午4点"),
    "evening": _pick("22:00", "22:30", "23:00"),
    "version": lambda r: f"3.{r.randint(8, 12)}.{r.randint(0, 5)}",
    "bug": _pick("登录态失效的问题", "图片加载慢的问题", "列表页白屏", "推送重复的问题"),
    "n": _int(2, 6),
    "m": _int(1, 4),
    "num": _int(1200, 19800),
    "num2": _int(12, 180),
    "num3": _int(5, 80),
    "pct": _int(2, 30),
    "pct2": lambda r: f"{r.uniform(1.2, 9.8):.1f}",
    "pct3": _int(85, 120),
    "updown": _pick("上涨", "下降"),
    "cost": _int(20, 150),
    "metric": _pick("活跃用户数", "转化率", "客单价", "复购率"),
    "pain": _pick("加载太慢", "找不到入口", "积分规则看不懂", "推送太频繁"),
    "part": _pick("首页入口", "结算流程", "个人设置", "引导弹窗"),
    "date": lambda r: f"11月{r.randint(8, 11)}日",
    "date2": lambda r: f"11月{r.randint(12, 15)}日",
    "slogan": _pick("好物不等待，双11提前购", "把日子过得更有意思", "这个冬天，温暖到家"),
    "roi": lambda r: f"1:{r.uniform(2.1, 4.8):.1f}",
    "city": _pick("上海", "杭州", "成都", "武汉", "深圳", "南京"),
    "room": _pick("3楼大会议室", "5楼小会议室", "2楼多功能厅", "1号洽谈室"),
    "hex": lambda r: f"{r.getrandbits(32):08x}",
}
