"""Deadlines stated in chat text (Chinese and English) → an aware instant in the policy zone.

``find_deadline(text, sent_at, clock)`` reads expressions such as 截止11月30日、本周五前、
明天下午3点、2026-11-30 18:00、下周一前、月底前、今天下班前、3个工作日内、by Friday、
tomorrow 3pm、before 30 Nov、within 2 working days, relative to the message's own time.

Rules:
* a date without a time means the end of that working day (the last working period's end,
  18:00 by default); 上午 alone means 12:00, 下班前 the end of the day, 今晚 23:59;
* a bare weekday (周五, Friday) is its next occurrence, today included; 本周五 is this week's
  Friday, 下周一 next week's Monday (weeks start on Monday); 周末前 means by Friday;
* a month and day without a year is the next such date unless it was at most 60 days ago
  (then it is that past date, and the task is simply late);
* an hour from 1 to 7 without 上午/am is in the afternoon (下午), as people mean at work;
* when the text holds several expressions, the first with a deadline cue (前, 之前, 截止, 内,
  by, before, due, until…) wins, else the first;
* a weekday written after a date is read with it (10月26日（周一）10:00, 11月20日周五下午3点);
* a time followed by a second time is a **range** (11月20日 14:00-15:30, 下午3点到4点半,
  2pm-3:30pm): ``until`` is the second time on the same day (an hour up to 11 without 上午/am
  that would end the range before it starts is read in the afternoon), else ``None``.

:func:`find_when` reads a text that *is* a time (a meeting notice's 时间/Time line): the same
rules, and English calendar phrases need no cue there (``Friday 3pm``, ``Nov 20 2pm-3:30pm``).

Hand-written patterns read the Chinese forms and the English relative ones; ``dateparser``
reads English calendar dates (``30 Nov``, ``Dec 3rd 2026``) — only on the extracted span, since
it is slow on whole messages.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from groupops.clock.workclock import WorkClock

__all__ = ["Deadline", "find_deadline", "find_when"]


@dataclass(frozen=True, slots=True)
class Deadline:
    """A deadline read from text: the instant, where it was found, whether a time was given,
    and (for a range such as ``14:00-15:30``) the instant the range ends."""

    at: datetime
    start: int
    end: int
    text: str
    has_time: bool
    cued: bool
    until: datetime | None = None


_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
_NUM = r"(?:\d{1,2}|[零一二两三四五六七八九十]{1,3})"
# 周末前 (before the weekend) means by Friday.
_WEEKDAYS_CN = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 4}
_WEEKDAYS_EN = {
    "mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3, "fri": 4, "sat": 5,
    "sun": 6, "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
    "saturday": 5, "sunday": 6,
}  # fmt: skip
_FULLWIDTH = str.maketrans("０１２３４５６７８９：／－．", "0123456789:/-.")


def _num(token: str) -> int:
    """An Arabic or small Chinese number (一..九十九)."""
    if token.isdigit():
        return int(token)
    if "十" in token:
        tens, _, units = token.partition("十")
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)
    return _CN_DIGITS[token]


# -- the patterns ---------------------------------------------------------------------------

_CN_TIME = (
    r"(?P<ap>上午|早上|早晨|早|中午|下午|傍晚|晚上|晚)?\s*"
    r"(?:(?P<h>" + _NUM + r")\s*(?:[点點時时]\s*(?P<mi>\d{1,2}|半|一刻|三刻)?\s*分?"
    r"|:(?P<mi2>\d{2}))"
    r"|(?P<ap_only>上午|中午|下午|晚上|下班))"
)
_EN_TIME = (
    r"(?:at\s+)?(?:(?P<eh>\d{1,2})(?::(?P<emi>\d{2}))?\s*(?P<eap>[ap]\.?m\.?)\b"
    r"|(?P<eh2>\d{1,2}):(?P<emi2>\d{2})\b|(?P<noon>noon|midday)\b)"
)

_CN_DATE = re.compile(
    r"(?P<iso>(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?)"
    r"|(?P<md>(?P<m2>" + _NUM + r")\s*月\s*(?P<d2>" + _NUM + r")\s*[日号]?)"
    r"|(?P<slash>(?<![\d/])(?P<m3>\d{1,2})/(?P<d3>\d{1,2})(?![\d/]))"
    r"|(?P<rel>今天|今日|今晚|明天|明日|明早|明晚|大后天|后天)"
    r"|(?P<wk>(?P<wkp>本|这个?|下下个?|下个?)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天末]))"
    r"|(?P<eow>(?P<eowp>本周|这周|下周)(?:内|之内))"
    r"|(?P<eom>(?P<eomp>本月|这个?月|下个?月)?(?:月底|月末|底)|(?P<eom2>本月|这个?月)内)"
    r"|(?P<eoy>年底|年末)"
    r"|(?P<dom>(?<![\d月第])(?P<d4>\d{1,2}|[一二三四五六七八九十]{1,3})\s*号)"
    r"|(?P<within>(?P<wn>\d{1,3}|[一二两三四五六七八九十]{1,3})\s*个?\s*"
    r"(?P<wu>工作日|工作天|天|日|小时|個小時)\s*(?:之内|以内|内))"
    r"|(?P<eod>下班(?:之前|以前|前))"
)
# A weekday written after a date: 10月26日（周一）, 11月20日周五.
_WEEKDAY_TAIL = re.compile(
    r"\s*(?:[（(]\s*(?:周|星期|礼拜)[一二三四五六日天]\s*[)）]|(?:周|星期|礼拜)[一二三四五六日天](?![一二三四五六日天]))"
)
_CN_TIME_RE = re.compile(r"\s*(?:的)?\s*" + _CN_TIME)
_CN_TIME_ALONE = re.compile(
    r"(?<![\d:])(?P<ap>上午|早上|中午|下午|傍晚|晚上)?\s*"
    r"(?:(?P<h>" + _NUM + r")\s*(?:[点點]\s*(?P<mi>\d{1,2}|半|一刻|三刻)?\s*分?)"
    r"|(?P<h2>\d{1,2}):(?P<mi2>\d{2}))"
)
_EN_TRIGGER = re.compile(
    r"\b(?P<cue>by|before|due(?:\s+(?:by|on|date:?))?|until|till|no\s+later\s+than|deadline:?)\s+"
    r"(?P<span>[^,;!?\n()]{1,40}?)(?=\s*(?:[,;!?\n()]|\.(?:\s|$)|$|\s+(?:and|or|to|for|please|pls)\b))",
    re.IGNORECASE,
)
_EN_STANDALONE = re.compile(
    r"\b(?P<span>(?:today|tonight|tomorrow|tmrw?|eod|cob)\b(?:\s+" + _EN_TIME + r")?"
    r"|next\s+(?:mon|tues?|wed|thu(?:rs?)?|fri|sat|sun)[a-z]*\b"
    r"|within\s+\d{1,3}\s+(?:working\s+|business\s+)?(?:days?|hours?)\b)",
    re.IGNORECASE,
)
_EN_TIME_RE = re.compile(_EN_TIME, re.IGNORECASE)
_CUE_BEFORE = re.compile(
    r"(截止|截至|截止到|截止日期|最迟|最晚|务必|请于|请在|需在|要在|于)\s*[:：]?\s*$"
)
# The second half of a time range: "-15:30", "到4点半", " to 3:30pm", "~下午5点".
_RANGE_SEP = r"\s*(?:-|–|—|~|～|〜|至|到|to\b|until\b)\s*"
_RANGE_CN = re.compile(
    _RANGE_SEP + r"(?P<ap>上午|早上|中午|下午|傍晚|晚上)?\s*"
    r"(?:(?P<h>" + _NUM + r")\s*(?:[点點]\s*(?P<mi>\d{1,2}|半|一刻|三刻)?\s*分?)"
    r"|(?P<h2>\d{1,2}):(?P<mi2>\d{2}))"
)
_RANGE_EN = re.compile(
    _RANGE_SEP + r"(?:(?P<eh>\d{1,2})(?::(?P<emi>\d{2}))?\s*(?P<eap>[ap]\.?m\.?)(?![A-Za-z])"
    r"|(?P<eh2>\d{1,2}):(?P<emi2>\d{2})\b|(?P<noon>noon|midday)\b)",
    re.IGNORECASE,
)
_CUE_AFTER = re.compile(r"\s*(?:之前|以前|前|为止|内|之内|截止|完成|交|提交|给)")


# -- public ---------------------------------------------------------------------------------


def find_deadline(text: str | None, sent_at: datetime, clock: WorkClock) -> Deadline | None:
    """The deadline stated in ``text``, relative to ``sent_at``; ``None`` when there is none."""
    if not text:
        return None
    if sent_at.tzinfo is None:
        raise ValueError("find_deadline needs an aware sent_at")
    norm = text.translate(_FULLWIDTH)
    local = sent_at.astimezone(clock.tz)
    found = _chinese(norm, local, clock) + _english(norm, local, clock)
    if not found:
        return None
    found.sort(key=lambda d: (not d.cued, d.start))
    return found[0]


def find_when(text: str | None, sent_at: datetime, clock: WorkClock) -> Deadline | None:
    """The instant (or range) that ``text`` states as a whole, e.g. a meeting notice's time line
    (``11月20日 14:00-15:30``, ``本周五下午3点``, ``Friday 3pm``, ``Nov 20 2pm-3:30pm``).

    English calendar phrases are read without a cue here; everything else as
    :func:`find_deadline` reads it."""
    if not text:
        return None
    if sent_at.tzinfo is None:
        raise ValueError("find_when needs an aware sent_at")
    norm = text.translate(_FULLWIDTH).strip()
    local = sent_at.astimezone(clock.tz)
    if re.search(r"[A-Za-z]{3}", norm):
        head = norm
        tail: re.Match[str] | None = None
        for m in _RANGE_EN.finditer(norm):
            tail = m  # the last "- 3:30pm" is the end of a range
        if tail is not None and not norm[tail.end() :].strip(" .,;)）"):
            head = norm[: tail.start()]
        head = head.strip(" .,;，；")
        parsed = _en_span(head, local, clock)
        if parsed is not None:
            at, has_time = parsed
            until = _range_end(norm, len(head), at, clock) if has_time else None
            return Deadline(at, 0, len(head), head, has_time, True, until)
    return find_deadline(norm, sent_at, clock)


# -- Chinese --------------------------------------------------------------------------------


def _chinese(text: str, now: datetime, clock: WorkClock) -> list[Deadline]:
    out: list[Deadline] = []
    taken: list[tuple[int, int]] = []
    for m in _CN_DATE.finditer(text):
        if taken and m.start() < taken[-1][1]:
            continue
        resolved = _cn_date(m, now, clock)
        if resolved is None:
            continue
        day, fixed = resolved
        end = m.end()
        tm: time | None = None
        if fixed is not None:
            at = fixed
        else:
            dated = m.group("iso") or m.group("md") or m.group("slash") or m.group("rel")
            if dated and (wd_match := _WEEKDAY_TAIL.match(text, end)):
                end = wd_match.end()
            t_match = _CN_TIME_RE.match(text, end)
            if t_match and (tm := _cn_time(t_match, clock)) is not None:
                end = t_match.end()
            at = _combine(day, tm, clock)
            if m.group("rel") == "今晚" and tm is None:
                at = datetime.combine(day, time(23, 59), tzinfo=clock.tz)
            if m.group("eod"):
                at = clock.end_of_day(day)
        until = _range_end(text, end, at, clock) if tm is not None else None
        out.append(
            _make(text, m.start(), end, at, tm is not None or fixed is not None, until=until)
        )
        taken.append((m.start(), end))
    for m in _CN_TIME_ALONE.finditer(text):
        if any(s <= m.start() < e for s, e in taken):
            continue
        ranged = _RANGE_CN.match(text, m.end()) or _RANGE_EN.match(text, m.end())
        if not (m.group("ap") or _CUE_AFTER.match(text, m.end()) or m.group("h2") or ranged):
            continue  # a bare "3点" with no cue is more likely a count than a time
        tm = _cn_time(m, clock)
        if tm is None:
            continue
        day = now.date()
        if datetime.combine(day, tm, tzinfo=clock.tz) <= now:
            day += timedelta(days=1)
        at = _combine(day, tm, clock)
        out.append(
            _make(text, m.start(), m.end(), at, True, until=_range_end(text, m.end(), at, clock))
        )
    return out


def _range_end(text: str, pos: int, start: datetime, clock: WorkClock) -> datetime | None:
    """The end of a time range written right after ``pos`` ("-15:30", "到4点半"), on the day
    of ``start``; ``None`` when there is none or it does not end after ``start``."""
    tm: time | None = None
    if m := _RANGE_EN.match(text, pos):
        tm = _en_time(m)
    elif m := _RANGE_CN.match(text, pos):
        tm = _cn_time(m, clock)
    if tm is None:
        return None
    until = datetime.combine(start.date(), tm, tzinfo=start.tzinfo)
    if until <= start and tm.hour < 12:
        until += timedelta(hours=12)  # 晚上7点-9点, 11:00-1:00
    return until if until > start else None


def _cn_date(
    m: re.Match[str], now: datetime, clock: WorkClock
) -> tuple[date, datetime | None] | None:
    """The date an expression names, or a complete instant for durations (…小时内)."""
    today = now.date()
    try:
        if m.group("iso"):
            return date(int(m["y"]), int(m["m"]), int(m["d"])), None
        if m.group("md"):
            return _month_day(_num(m["m2"]), _num(m["d2"]), today), None
        if m.group("slash"):
            return _month_day(int(m["m3"]), int(m["d3"]), today), None
    except (ValueError, KeyError):
        return None
    if rel := m.group("rel"):
        offset = {"今": 0, "明": 1, "后": 2, "大": 3}[rel[0]]
        return today + timedelta(days=offset), None
    if m.group("wk"):
        prefix = m.group("wkp") or ""
        weekday = _WEEKDAYS_CN[m["wd"]]
        weeks = 2 if prefix.startswith("下下") else 1 if prefix.startswith("下") else 0
        if not prefix:
            return today + timedelta(days=(weekday - today.weekday()) % 7), None
        return _week_day(today, weeks, weekday), None
    if m.group("eow"):
        return _week_day(today, 1 if m["eowp"].startswith("下") else 0, 4), None
    if m.group("eom") or m.group("eom2"):
        prefix = m.group("eomp") or ""
        if m.group("eom") and not prefix and m.group("eom").startswith("底"):
            return None  # a lone 底 (bottom) is not a date
        months = 1 if prefix.startswith("下") else 0
        return _month_end(today, months), None
    if m.group("eoy"):
        return date(today.year, 12, 31), None
    if m.group("dom"):
        day_no = _num(m["d4"])
        if not 1 <= day_no <= 31:
            return None
        return _day_of_month(day_no, today), None
    if m.group("within"):
        n = _num(m["wn"])
        unit = m["wu"]
        if "小时" in unit or "小時" in unit:
            return today, now + timedelta(hours=n)
        if unit.startswith("工作"):
            return _nth_working_day(today, n, clock), None
        return today + timedelta(days=n), None
    if m.group("eod"):
        return today, None
    return None


def _cn_time(m: re.Match[str], clock: WorkClock) -> time | None:
    groups = m.groupdict()
    ap = groups.get("ap") or ""
    if only := groups.get("ap_only"):
        return {"上午": time(12, 0), "中午": time(12, 0), "下午": None, "晚上": time(23, 59)}.get(
            only, clock.periods[-1][1]
        )
    h_tok = groups.get("h") or groups.get("h2")
    if h_tok is None:
        return None
    hour = _num(h_tok)
    mi_tok = groups.get("mi") or groups.get("mi2")
    minute = {"半": 30, "一刻": 15, "三刻": 45}.get(mi_tok or "")
    if minute is None:
        minute = int(mi_tok) if mi_tok and mi_tok.isdigit() else 0
    if (
        (ap in ("下午", "傍晚", "晚上", "晚") and hour < 12)
        or (ap == "中午" and hour < 6)
        or (not ap and 1 <= hour <= 7)
    ):
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


# -- English --------------------------------------------------------------------------------


def _english(text: str, now: datetime, clock: WorkClock) -> list[Deadline]:
    out: list[Deadline] = []
    taken: list[tuple[int, int]] = []
    for m in _EN_TRIGGER.finditer(text):
        span = m.group("span").strip()
        parsed = _en_span(span, now, clock)
        if parsed is None:
            continue
        at, has_time = parsed
        start = m.start()
        out.append(_make(text, start, m.start("span") + len(span), at, has_time, cued=True))
        taken.append((start, m.end()))
    for m in _EN_STANDALONE.finditer(text):
        if any(s <= m.start() < e for s, e in taken):
            continue
        parsed = _en_span(m.group("span"), now, clock)
        if parsed is not None:
            until = _range_end(text, m.end(), parsed[0], clock) if parsed[1] else None
            out.append(_make(text, m.start(), m.end(), parsed[0], parsed[1], until=until))
    return out


def _en_span(span: str, now: datetime, clock: WorkClock) -> tuple[datetime, bool] | None:
    """A deadline phrase after "by"/"before"/… → (instant, has_time)."""
    low = span.lower().strip().rstrip(".")
    tm: time | None = None
    t_match = _EN_TIME_RE.search(low)
    if t_match:
        tm = _en_time(t_match)
        low = (low[: t_match.start()] + " " + low[t_match.end() :]).strip()
    low = re.sub(r"^(?:the|this coming)\s+", "", low)
    low = re.sub(r"\s+", " ", low)
    today = now.date()
    day: date | None = None
    words = low.split()
    if low in ("", "today", "tonight", "eod", "cob", "end of day", "end of the day",
               "close of business", "end of today"):  # fmt: skip
        if low == "" and tm is None:
            return None
        day = today
        if low == "tonight" and tm is None:
            return datetime.combine(today, time(23, 59), tzinfo=clock.tz), False
        if low == "" and tm is not None:
            candidate = datetime.combine(today, tm, tzinfo=clock.tz)
            return (candidate if candidate > now else candidate + timedelta(days=1)), True
    elif low in ("tomorrow", "tmr", "tmrw", "end of tomorrow", "tomorrow eod", "eod tomorrow"):
        day = today + timedelta(days=1)
    elif low in ("end of week", "end of the week", "end of this week", "eow", "this week"):
        day = _week_day(today, 0, 4)
    elif low in ("end of next week", "next week"):
        day = _week_day(today, 1, 4)
    elif low in ("end of month", "end of the month", "end of this month", "month end", "eom"):
        day = _month_end(today, 0)
    elif low in ("end of next month",):
        day = _month_end(today, 1)
    elif low in ("end of year", "end of the year", "year end"):
        day = date(today.year, 12, 31)
    elif (
        len(words) in (1, 2)
        and words[-1] in _WEEKDAYS_EN
        and words[0] in (words[-1], "this", "next")
    ):
        weekday = _WEEKDAYS_EN[words[-1]]
        if words[0] == "next":
            day = _week_day(today, 1, weekday)
        elif words[0] == "this":
            day = _week_day(today, 0, weekday)
        else:
            day = today + timedelta(days=(weekday - today.weekday()) % 7)
    elif within := re.fullmatch(
        r"(?:within|in)\s+(\d{1,3})\s+(working\s+|business\s+)?(day|days|hour|hours)", low
    ):
        n = int(within.group(1))
        if within.group(3).startswith("hour"):
            return now + timedelta(hours=n), True
        day = _nth_working_day(today, n, clock) if within.group(2) else today + timedelta(days=n)
    else:
        day = _dateparser_day(low, today)
    if day is None:
        return None
    return _combine(day, tm, clock), tm is not None


def _en_time(m: re.Match[str]) -> time | None:
    if m.group("noon"):
        return time(12, 0)
    h_tok = m.group("eh") or m.group("eh2")
    mi_tok = m.group("emi") or m.group("emi2")
    hour, minute = int(h_tok), int(mi_tok) if mi_tok else 0
    ap = (m.group("eap") or "").replace(".", "").lower()
    if ap == "pm" and hour < 12:
        hour += 12
    elif ap == "am" and hour == 12:
        hour = 0
    elif not ap and 1 <= hour <= 7:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


_EN_DATE_HINT = re.compile(r"\d|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec", re.IGNORECASE)


def _dateparser_day(span: str, today: date) -> date | None:
    """A calendar date in English via ``dateparser`` (month names, day-first numbers)."""
    if not _EN_DATE_HINT.search(span) or len(span) > 30:
        return None
    parsed = _dateparser_cached(span, today)
    if parsed is None:
        return None
    if parsed < today - timedelta(days=60) and not re.search(r"\d{4}", span):
        try:
            parsed = parsed.replace(year=parsed.year + 1)
        except ValueError:  # 29 February: the next one is not a year later
            return None
    return parsed


@lru_cache(maxsize=4096)
def _dateparser_cached(span: str, today: date) -> date | None:
    import dateparser

    base = datetime.combine(today, time(12, 0))
    result = dateparser.parse(
        span,
        languages=["en"],
        settings={
            "RELATIVE_BASE": base,
            "PREFER_DATES_FROM": "current_period",
            "PREFER_DAY_OF_MONTH": "first",
            "DATE_ORDER": "DMY",
            "RETURN_AS_TIMEZONE_AWARE": False,
            "STRICT_PARSING": False,
            "REQUIRE_PARTS": ["day", "month"],
        },
    )
    return result.date() if result is not None else None


# -- calendar helpers -----------------------------------------------------------------------


def _make(
    text: str,
    start: int,
    end: int,
    at: datetime,
    has_time: bool,
    *,
    cued: bool = False,
    until: datetime | None = None,
) -> Deadline:
    if not cued:
        before = _CUE_BEFORE.search(text[max(0, start - 8) : start])
        cued = bool(before or _CUE_AFTER.match(text, end))
    return Deadline(at, start, end, text[start:end], has_time, cued, until)


def _combine(day: date, tm: time | None, clock: WorkClock) -> datetime:
    if tm is None:
        return clock.end_of_day(day)
    return datetime.combine(day, tm, tzinfo=clock.tz)


def _month_day(month: int, day: int, today: date) -> date:
    candidate = date(today.year, month, day)
    if candidate < today - timedelta(days=60):
        candidate = date(today.year + 1, month, day)
    return candidate


def _day_of_month(day_no: int, today: date) -> date:
    year, month = today.year, today.month
    if day_no < today.day:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day_no, last))


def _week_day(today: date, weeks: int, weekday: int) -> date:
    monday = today - timedelta(days=today.weekday())
    return monday + timedelta(weeks=weeks, days=weekday)


def _month_end(today: date, months: int) -> date:
    year, month = today.year, today.month + months
    while month > 12:
        year, month = year + 1, month - 12
    return date(year, month, calendar.monthrange(year, month)[1])


def _nth_working_day(today: date, n: int, clock: WorkClock) -> date:
    """The n-th working day after ``today`` (n = 0: today)."""
    day, left = today, n
    while left > 0:
        day += timedelta(days=1)
        if clock.is_working_day(day):
            left -= 1
    return day
