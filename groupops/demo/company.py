"""Who the demo company is: its four operation groups and about forty members.

Pure data. ``activity`` is a relative weight of how much a member chats (very active ~10,
normal ~3, quiet ~1); ``active_until`` is the local day after which a member falls silent
everywhere (the planted inactive members).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

PLATFORM: Final = "wecom"
TIMEZONE: Final = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class Person:
    member_id: str
    display_name: str
    real_name: str | None
    department: str
    email: str | None
    activity: float = 3.0
    active_until: str | None = None  # "MM-DD HH:MM" local: no message after this instant


@dataclass(frozen=True, slots=True)
class GroupSpec:
    group_id: str
    name: str
    category: str
    owner_id: str
    admin_ids: tuple[str, ...]
    members: tuple[str, ...]  # everyone at some point in the group, owner and admins included
    daily_conversations: float  # mean conversations on a working day
    topics: tuple[tuple[str, float], ...]  # chatter topic -> weight


def _p(
    member_id: str,
    display: str,
    real: str | None,
    dept: str,
    domain: str | None = "example.com",
    activity: float = 3.0,
    active_until: str | None = None,
) -> Person:
    email = f"{member_id.split('_')[-1]}@{domain}" if domain else None
    return Person(member_id, display, real, dept, email, activity, active_until)


PEOPLE: Final[tuple[Person, ...]] = (
    # 项目部
    _p("zhaojianguo", "赵建国", "赵建国", "项目部", activity=4),
    _p("liuyang", "刘洋", "刘洋", "项目部", activity=9),
    _p("chenxin", "陈欣", "陈欣", "项目部", activity=5),
    _p("majun", "马骏", "马骏", "项目部", activity=2, active_until="11-03 11:30"),
    _p("xuting", "徐婷", "徐婷", "项目部", activity=3),
    _p("gaofeng", "高峰", "高峰", "项目部", activity=2),
    # 产品部
    _p("chenjing", "陈静", "陈静", "产品部", activity=5),
    _p("wanglei", "王磊", "王磊", "产品部", activity=10),
    _p("zhouting", "周婷", "周婷", "产品部", activity=4),
    _p("lihao", "李浩", "李浩", "产品部", activity=3),
    _p("yangxue", "杨雪", "杨雪", "产品部", activity=3),
    _p("hanmei", "Mei", "韩梅", "产品部", activity=2),
    _p("songyu", "宋宇", "宋宇", "产品部", activity=1.5),
    # 市场部
    _p("huangzhiqiang", "黄志强", "黄志强", "市场部", activity=4),
    _p("linxiao", "林晓", "林晓", "市场部", activity=8),
    _p("wumin", "吴敏", "吴敏", "市场部", activity=5),
    _p("zhenghao", "郑浩", "郑浩", "市场部", activity=7),
    _p("chenkaiwen", "Kevin", "陈凯文", "市场部", activity=4),
    _p("liuqian", "刘倩", "刘倩", "市场部", activity=3),
    _p("tangjie", "唐杰", "唐杰", "市场部", activity=3),
    # 技术部
    _p("zhangwei", "张伟", "张伟", "技术部", activity=4),
    _p("wangqiang", "王强", "王强", "技术部", activity=3),
    _p("lijing", "李静", "李静", "技术部", activity=2),
    _p("zhaolei", "赵磊（前端）", "赵磊", "技术部", activity=2),
    _p("fangyuan", "方圆", "方圆", "技术部", activity=2),
    _p("dengtao", "邓涛", "邓涛", "技术部", activity=1.5),
    # 运营部
    _p("hejia", "何佳", "何佳", "运营部", activity=6),
    _p("sunli", "孙丽", "孙丽", "运营部", activity=5),
    _p("qianduoduo", "多多", None, "运营部", activity=2),
    _p("luoxiaoyu", "罗小雨", "罗小雨", "已离职", activity=2, active_until="11-04 16:00"),
    # external partners
    _p("xh_zhoupeng", "周鹏", "周鹏", "星河传媒", "xinghe-media.com", activity=3),
    _p("xh_lina", "李娜", "李娜", "星河传媒", "xinghe-media.com", activity=2),
    _p("xh_guohui", "郭辉", "郭辉", "星河传媒", "xinghe-media.com", 1.5, "11-05 11:00"),
    _p("lj_wangfang", "王芳", "王芳", "蓝鲸互动", "lanjing-interactive.com", activity=3),
    _p("lj_sunqi", "孙琪", "孙琪", "蓝鲸互动", "lanjing-interactive.com", activity=1.5),
    _p("lj_xiaoma", "小马哥", None, "蓝鲸互动", None, activity=2),
    _p("yf_liming", "黎鸣", "黎鸣", "云帆科技", "yunfan-tech.com", activity=2),
    _p("yf_caiwen", "蔡文", "蔡文", "云帆科技", "yunfan-tech.com", activity=2),
    _p("yf_hujun", "胡俊", "胡俊", "云帆科技", "yunfan-tech.com", activity=1.5),
    _p("yf_chenjie", "陈杰-云帆", "陈杰", "云帆科技", "yunfan-tech.com", activity=0),
)

PEOPLE_BY_ID: Final[dict[str, Person]] = {p.member_id: p for p in PEOPLE}

GROUPS: Final[tuple[GroupSpec, ...]] = (
    GroupSpec(
        "proj-ops",
        "项目运营群",
        "project",
        "zhaojianguo",
        ("liuyang", "sunli"),
        (
            "zhaojianguo",
            "liuyang",
            "sunli",
            "chenxin",
            "majun",
            "xuting",
            "gaofeng",
            "zhangwei",
            "wangqiang",
            "lijing",
            "wanglei",
            "linxiao",
            "qianduoduo",
            "chenjing",
        ),
        daily_conversations=18,
        topics=(("project", 5), ("release", 3), ("data", 2), ("daily", 2)),
    ),
    GroupSpec(
        "prod-ops",
        "产品运营群",
        "product",
        "chenjing",
        ("wanglei", "zhouting"),
        (
            "chenjing",
            "wanglei",
            "zhouting",
            "lihao",
            "yangxue",
            "hanmei",
            "songyu",
            "zhangwei",
            "zhaolei",
            "fangyuan",
            "dengtao",
            "liuyang",
            "zhaojianguo",
            "hejia",
        ),
        daily_conversations=19,
        topics=(("review", 5), ("release", 4), ("data", 2), ("daily", 2)),
    ),
    GroupSpec(
        "mkt-ops",
        "市场运营群",
        "marketing",
        "huangzhiqiang",
        ("linxiao", "wumin"),
        (
            "huangzhiqiang",
            "linxiao",
            "wumin",
            "chenkaiwen",
            "liuqian",
            "tangjie",
            "zhenghao",
            "luoxiaoyu",
            "sunli",
            "zhouting",
            "qianduoduo",
            "lijing",
            "hejia",
        ),
        daily_conversations=18,
        topics=(("campaign", 5), ("channel", 3), ("data", 3), ("daily", 2)),
    ),
    GroupSpec(
        "partner-channel",
        "渠道合作伙伴群",
        "partner",
        "zhenghao",
        ("hejia", "tangjie"),
        (
            "zhenghao",
            "hejia",
            "tangjie",
            "huangzhiqiang",
            "chenkaiwen",
            "liuqian",
            "xh_zhoupeng",
            "xh_lina",
            "xh_guohui",
            "lj_wangfang",
            "lj_sunqi",
            "lj_xiaoma",
            "yf_liming",
            "yf_caiwen",
            "yf_hujun",
            "yf_chenjie",
        ),
        daily_conversations=10.5,
        topics=(("channel", 6), ("campaign", 2), ("data", 1), ("partner_daily", 2)),
    ),
)

GROUPS_BY_ID: Final[dict[str, GroupSpec]] = {g.group_id: g for g in GROUPS}

#: When founding members joined (before the period); the owner's own join is the group's
#: creation and is approved by themself.
FOUNDED: Final[dict[str, str]] = {
    "proj-ops": "2025-03-03T10:00:00+08:00",
    "prod-ops": "2025-04-14T09:30:00+08:00",
    "mkt-ops": "2025-05-06T14:00:00+08:00",
    "partner-channel": "2026-02-24T11:00:00+08:00",
}
