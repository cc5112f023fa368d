"""The demo company's HR roster (rulebook ch. 1–2: 实名制, departures), written as
``data/demo/roster.jsonl``: every employee with their real name, department, status, e-mail and
department head. Partners are not on it (their e-mail domains mark them external in the
policy). Pure data."""

from __future__ import annotations

from typing import Final

#: Department → the head's member id (their e-mail gets the removal notices).
DEPARTMENT_HEADS: Final[dict[str, str]] = {
    "项目部": "zhaojianguo",
    "产品部": "chenjing",
    "市场部": "huangzhiqiang",
    "技术部": "zhangwei",
    "运营部": "hejia",
}
#: HR knows real names the chat directory lacks.
HR_REAL_NAMES: Final[dict[str, str]] = {"qianduoduo": "钱多多"}
#: Left the company: member id → (department before leaving, departure day "MM-DD" of 2026).
DEPARTED: Final[dict[str, tuple[str, str]]] = {"luoxiaoyu": ("市场部", "11-06")}
#: Matched by platform id rather than e-mail (the HR system's own record of the chat account).
BY_PLATFORM_ID: Final[frozenset[str]] = frozenset({"qianduoduo"})
#: Display names that follow the company's convention though they differ from the real name
#: (roster.name_patterns: 赵磊（前端）, 陈杰-云帆).
CONVENTIONAL_NAMES: Final[frozenset[str]] = frozenset({"zhaolei", "yf_chenjie"})
#: Partner companies (not on the roster).
PARTNER_DEPARTMENTS: Final[frozenset[str]] = frozenset({"星河传媒", "蓝鲸互动", "云帆科技"})
