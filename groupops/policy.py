"""The company's rulebook as numbers and word lists, loaded from ``data/policy.toml``.

Every key is validated on load; a bad file raises :class:`PolicyError` whose message names the
file, the dotted key and the problem, e.g.
``data/policy.toml: replies.deadline_working_hours: Input should be greater than 0 (got -1)``.
"""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from groupops.configfile import read_toml, validation_message

PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(gt=0, lt=1)]
NonEmptyWords = Annotated[list[str], Field(min_length=1)]


class PolicyError(ValueError):
    """The policy file is missing, unreadable or invalid."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkingTime(_Section):
    """Working hours on a working day, plus company overrides of the official calendar."""

    periods: list[tuple[time, time]] = Field(
        default=[(time(9, 0), time(12, 0)), (time(13, 30), time(18, 0))], min_length=1
    )
    extra_days_off: list[date] = []
    extra_workdays: list[date] = []
    # Optional iCalendar file of company overrides (all-day events; see docs/policy.md).
    overrides_ical: Path | None = None

    @field_validator("periods")
    @classmethod
    def _ordered(cls, periods: list[tuple[time, time]]) -> list[tuple[time, time]]:
        last_end: time | None = None
        for start, end in periods:
            if start >= end:
                raise ValueError(f"period {start:%H:%M}-{end:%H:%M} ends before it starts")
            if last_end is not None and start < last_end:
                raise ValueError(f"period starting {start:%H:%M} overlaps the previous one")
            last_end = end
        return periods


class Replies(_Section):
    # "any_message": the mentioned member's next message in the group answers;
    # "reply_only": only an explicit reply to the message does.
    reply_mode: Literal["any_message", "reply_only"] = "any_message"
    deadline_working_hours: PositiveFloat = 4


class Tasks(_Section):
    markers: NonEmptyWords = ["【任务】", "#任务", "[task]"]
    # An assignee acknowledges a task by replying to it, or (reply_mode "any_message") by a
    # message in the group that holds one of these words; a stated time becomes the commitment.
    ack_markers: NonEmptyWords = [
        "收到",
        "好的",
        "明白",
        "没问题",
        "ok",
        "received",
        "will do",
        "on it",
    ]
    completion_markers: NonEmptyWords = [
        "已完成",
        "完成了",
        "已搞定",
        "已处理",
        "done",
        "completed",
    ]
    default_deadline_working_days: PositiveInt = 3
    ack_deadline_working_hours: PositiveFloat = 4
    # Remind the assignee once this fraction of the time to the deadline has passed.
    reminder_fraction: Fraction = 0.75
    # After admins were told of an overdue item, tell the owner this much working time later.
    owner_escalation_working_hours: PositiveFloat = 8
    # This many missed replies/tasks in one period count as a "non-response" violation.
    non_response_violation_threshold: PositiveInt = 3


class Activity(_Section):
    # A member with no message for this many days, or fewer than min_messages in the period,
    # is inactive.
    inactive_days: PositiveInt = 14
    min_messages: Annotated[int, Field(ge=0)] = 3


class Notices(_Section):
    markers: NonEmptyWords = ["【通知】", "【公告】", "通知：", "公告："]
    # A notice older than this is stale and may be purged (after preview; restorable).
    retention_days: PositiveInt = 14
    # Purged items stay restorable for this many days; then a later applied cleanup deletes them.
    restore_window_days: PositiveInt = 30
    # A message of at least this many characters (normalised), or any notice, whose text was
    # already posted in the same group within duplicate_window_days is a duplicate.
    duplicate_min_chars: PositiveInt = 10
    duplicate_window_days: PositiveInt = 7
    # Nothing newer than this is purged (it is listed as exempt).
    min_age_hours: Annotated[float, Field(ge=0)] = 24
    # A cleanup that would purge more than this share of a group's messages refuses without --force.
    max_purge_fraction: Annotated[float, Field(gt=0, le=1)] = 0.2


class Importance(_Section):
    markers: NonEmptyWords = ["【重要】", "重要", "紧急", "【决议】", "【纪要】"]
    archive_pinned: bool = True
    archive_mention_all: bool = True


class Meetings(_Section):
    notice_markers: NonEmptyWords = ["【会议通知】", "会议通知", "[meeting]", "meeting notice"]
    minutes_markers: NonEmptyWords = ["【会议纪要】", "会议纪要", "[minutes]", "meeting minutes"]
    leave_markers: NonEmptyWords = ["请假", "on leave", "can't attend", "cannot attend"]
    # A notice holding one of these (outside its topic and agenda) cancels the meeting.
    cancel_markers: NonEmptyWords = ["取消", "cancelled", "canceled", "called off"]
    # A meeting without a stated end lasts this long.
    default_minutes: PositiveInt = 60
    # Minutes are due this much working time after the meeting's end; missing minutes go up the
    # escalation ladder of an overdue task (organizer, admins, owner).
    minutes_due_working_hours: PositiveFloat = 8
    # Attendees get a reminder email this long before the start.
    reminder_minutes_before: PositiveInt = 30
    # Regular meetings declared in data/meetings/*.md are known (and invited) this far ahead.
    declared_days_ahead: PositiveInt = 7


ModerationCategory = Literal[
    "illegal",
    "ad",
    "rumour",
    "vulgar",
    "flood",
    "duplicate",
    "confidential",
    "non_response",
    "other",
]
PersonalDataKind = Literal["resident_id", "bank_card", "mobile"]


class Moderation(_Section):
    """Chapter 6 (违规处理): what is detected, the penalty ladder and appeals (docs/moderation.md)."""

    confidential_markers: NonEmptyWords = ["机密", "绝密", "保密", "内部资料", "confidential"]
    # Personal data that counts as `confidential` (validated: ID check digit, Luhn, real mobiles).
    personal_data: list[PersonalDataKind] = ["resident_id", "bank_card", "mobile"]
    illegal_words: list[str] = ["赌博", "博彩", "毒品", "代开发票", "洗钱", "裸聊", "枪支", "套现"]
    ad_words: NonEmptyWords = ["加微信", "代理", "优惠券", "兼职", "刷单", "免费领取"]
    # Links to these domains (and their subdomains) are not ad evidence; any other link is.
    link_allowlist: list[str] = ["example.com"]
    vulgar_words: list[str] = ["傻逼", "他妈的", "操你", "fuck", "shit"]
    rumour_words: list[str] = ["据说", "听说", "内部消息"]
    flood_messages: PositiveInt = 8
    flood_window_seconds: PositiveInt = 60
    # The same text (normalised, at least duplicate_min_chars long) reposted by one member in one
    # group within this many minutes is a `duplicate`.
    duplicate_window_minutes: PositiveInt = 10
    duplicate_min_chars: PositiveInt = 8
    mute_minutes: PositiveInt = 60 * 24
    # Violations older than this no longer count on the ladder (and show as `expired`).
    ladder_window_days: PositiveInt = 90
    # These go to `removal` at once and are flagged to the owner.
    severe_categories: list[ModerationCategory] = ["illegal", "confidential"]
    appeal_window_working_days: PositiveInt = 3
    appeal_answer_working_days: PositiveInt = 3
    # A message by a sanctioned member holding one of these, replying to the notice or
    # mentioning an admin, files an appeal.
    appeal_markers: NonEmptyWords = ["申诉", "appeal"]
    # An admin's (or the owner's) reply to an appeal message holding one of these answers it:
    # upheld (the violation is revoked) or rejected (it stands); holding both answers nothing.
    appeal_uphold_markers: NonEmptyWords = ["申诉成立", "撤销处理", "撤销处罚", "appeal upheld"]
    appeal_reject_markers: NonEmptyWords = ["申诉驳回", "驳回申诉", "维持原处理", "appeal rejected"]


class Roster(_Section):
    """Chapters 1–2: 实名制, approved joins, departed people removed (docs/roster.md)."""

    # A display name is fine when it is the real name or matches one of these patterns, where
    # {real_name} stands for the (escaped) real name: by default 陈杰-云帆, 赵磊（前端）.
    name_patterns: NonEmptyWords = [r"^{real_name}$", r"^{real_name}\s*[-－_（(].*$"]
    # Members whose e-mail domain is one of these are external partners, not unknown people.
    external_email_domains: list[str] = [
        "xinghe-media.com",
        "lanjing-interactive.com",
        "yunfan-tech.com",
    ]
    # A departed employee must be removed from every group within this many working days.
    removal_working_days: PositiveInt = 1

    @field_validator("name_patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern.replace("{real_name}", "x"))
            except re.error as exc:
                raise ValueError(
                    f"name pattern {pattern!r} is not a regular expression: {exc}"
                ) from exc
        return patterns


class Ingest(_Section):
    # Timestamps before this year or more than this many days after the run are implausible.
    earliest_year: Annotated[int, Field(ge=1990, le=2100)] = 2000
    max_future_days: Annotated[int, Field(ge=0)] = 1


class Ops(_Section):
    """Production operations (docs/operations.md)."""

    # A source (a live connector source, or a group fed by imports) with no new message for
    # longer than this many working hours is stale: `groupops doctor` fails and the health-check
    # flow emails `alert_emails` (once per silence).
    stale_after_working_hours: PositiveFloat = 16
    # Who hears about stale data and other operational alarms; empty: nobody is emailed (the
    # alarm still shows in `groupops doctor` and the flow run fails).
    alert_emails: list[str] = []


BotName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,47}$")]


class ChatBot(_Section):
    """A Feishu custom bot or a WeCom group robot that digests and reminders are posted to as a
    card (docs/digests.md). Its webhook URL (and Feishu signing secret) are secrets: they come
    from ``GROUPOPS_CHATBOT_WEBHOOKS`` / ``GROUPOPS_CHATBOT_SECRETS`` or a Prefect Secret block
    ``chatbot-<name>``, never from this file."""

    kind: Literal["feishu", "wecom"]
    # The groups whose digests and reminders go to this bot, as "platform:group_id" (or a bare
    # group id on any platform); "*" is every group.
    groups: NonEmptyWords
    digests: bool = True  # the owner's and admins' digests of those groups
    reminders: bool = True  # overdue reminders and the requester's notice of a late commitment
    audiences: list[Literal["owner", "admin"]] = ["owner", "admin"]  # which digests

    def covers(self, platform: str, group_id: str) -> bool:
        """Whether the group's digests and reminders go to this bot."""
        return any(g in ("*", group_id, f"{platform}:{group_id}") for g in self.groups)


class Policy(_Section):
    language: Literal["zh-CN", "en"] = "zh-CN"
    timezone: str = "Asia/Shanghai"
    company: str = "示例科技有限公司"
    working_time: WorkingTime = WorkingTime()
    replies: Replies = Replies()
    tasks: Tasks = Tasks()
    activity: Activity = Activity()
    notices: Notices = Notices()
    importance: Importance = Importance()
    meetings: Meetings = Meetings()
    moderation: Moderation = Moderation()
    roster: Roster = Roster()
    ingest: Ingest = Ingest()
    ops: Ops = Ops()
    # Group bots by name (``[chatbots.pm-feishu]``): which groups' digests and reminders go there.
    chatbots: dict[BotName, ChatBot] = {}

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _overrides_disjoint(self) -> Policy:
        both = set(self.working_time.extra_days_off) & set(self.working_time.extra_workdays)
        if both:
            days = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"working_time: days both off and on: {days}")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_policy(path: Path | str | None = None) -> Policy:
    """Load and validate the policy file; ``None`` means the built-in defaults."""
    if path is None:
        return Policy()
    path = Path(path)
    raw = read_toml(path, "policy", PolicyError)
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        raise PolicyError(
            validation_message(
                path, exc, unknown_key="unknown key (check the spelling against docs/policy.md)"
            )
        ) from exc
