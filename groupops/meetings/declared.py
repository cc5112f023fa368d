"""Regular meetings declared in files: ``data/meetings/*.md`` (``Settings.meetings_dir``).

Each file is one meeting series: YAML front matter, then the agenda (its list lines, or every
non-empty line)::

    ---
    topic: 项目组周例会
    group: proj-ops
    organizer: liuyang          # member id or name
    cron: "0 10 * * 1"          # or: start: 2026-11-30 15:00 (one meeting)
    duration: 60                # minutes; default meetings.default_minutes
    place: 3楼大会议室
    attendees: [zhaojianguo, 刘洋, sunli]   # ids or names, or "@all"
    since: 2026-10-26           # optional, cron only: first and last day
    until: 2026-12-31
    platform: wecom             # optional when the group id is on one platform only
    ---
    - 上周进展
    - 本周计划

Cron is read in the policy zone; an occurrence on a day that is not a working day (a holiday)
is skipped. A bad file is reported (file, line, field) and skipped; the others still load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from cronsim import CronSim, CronSimError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from groupops.clock.timeparse import parse_instant
from groupops.clock.workclock import WorkClock

__all__ = ["DeclaredMeeting", "load_declared", "occurrences", "read_declared"]

_LIST_LINE = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.、)])\s+(?P<item>.+?)\s*$")


class _Front(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: str = Field(min_length=1)
    group: str = Field(min_length=1)
    organizer: str = Field(min_length=1)
    platform: str | None = None
    start: datetime | str | None = None
    cron: str | None = None
    duration: int | None = Field(default=None, gt=0, le=24 * 60)
    place: str | None = None
    attendees: list[str] | str = []
    since: date | None = None
    until: date | None = None

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                CronSim(value, datetime(2026, 1, 1, tzinfo=UTC))
            except CronSimError as exc:
                raise ValueError(f"not a cron expression: {exc}") from exc
        return value

    @field_validator("attendees", mode="before")
    @classmethod
    def _as_strings(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [str(v) for v in value]
        return value

    @model_validator(mode="after")
    def _one_schedule(self) -> _Front:
        if (self.start is None) == (self.cron is None):
            raise ValueError("give exactly one of start (one meeting) or cron (a series)")
        return self


@dataclass(frozen=True)
class DeclaredMeeting:
    """One file's meeting series (``start`` for a single meeting, else ``cron``)."""

    file: str
    stem: str
    topic: str
    group_id: str
    platform: str | None
    organizer: str
    start: datetime | None
    cron: str | None
    duration_minutes: int | None
    place: str | None
    attendees: tuple[str, ...]
    attendees_all: bool
    agenda: tuple[str, ...]
    since: date | None
    until: date | None


def _split(text: str) -> tuple[str, str, int]:
    """(front matter, body, line number where the front matter starts)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise ValueError("line 1: front matter: the file must start with a '---' line")
    for n, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return "\n".join(lines[1:n]), "\n".join(lines[n + 1 :]), 2
    raise ValueError("front matter: no closing '---' line")


def read_declared(path: Path, tz: ZoneInfo) -> DeclaredMeeting:
    """One file; raises ``ValueError`` naming the file, line and field on bad input."""
    try:
        front_text, body, first = _split(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    try:
        raw = yaml.safe_load(front_text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + first}: " if mark is not None else ""
        raise ValueError(f"{path}: {where}front matter is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: line {first}: front matter must be a mapping of fields")
    try:
        front = _Front.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(front matter)"
            line = _line_of(front_text, str(err["loc"][0]) if err["loc"] else "", first)
            problems.append(f"{path}: {line}{key}: {err['msg']}")
        raise ValueError("\n".join(problems)) from exc
    start = None
    if front.start is not None:
        try:
            start = _instant(front.start, tz)
        except ValueError as exc:
            line = _line_of(front_text, "start", first)
            raise ValueError(f"{path}: {line}start: {exc}") from exc
    attendees = front.attendees if isinstance(front.attendees, list) else [front.attendees]
    everyone = any(
        a.strip().lstrip("@").lower() in ("all", "所有人", "全体成员") for a in attendees
    )
    names = tuple(a.strip() for a in attendees if a.strip() and not _is_all(a))
    agenda = [m["item"] for line in body.splitlines() if (m := _LIST_LINE.match(line))]
    if not agenda:
        agenda = [
            line.strip() for line in body.splitlines() if line.strip() and not line.startswith("#")
        ]
    return DeclaredMeeting(
        file=str(path),
        stem=path.stem,
        topic=front.topic.strip(),
        group_id=front.group,
        platform=front.platform,
        organizer=front.organizer.strip(),
        start=start,
        cron=front.cron,
        duration_minutes=front.duration,
        place=front.place,
        attendees=names,
        attendees_all=everyone,
        agenda=tuple(agenda),
        since=front.since,
        until=front.until,
    )


def _is_all(value: str) -> bool:
    return value.strip().lstrip("@").lower() in ("all", "所有人", "全体成员")


def _line_of(front_text: str, key: str, first: int) -> str:
    for n, line in enumerate(front_text.splitlines()):
        if key and re.match(rf"\s*{re.escape(key)}\s*:", line):
            return f"line {n + first}: "
    return ""


def _instant(value: datetime | str, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    return parse_instant(value, tz)


def load_declared(folder: Path | None, tz: ZoneInfo) -> tuple[list[DeclaredMeeting], list[str]]:
    """Every ``*.md`` in ``folder`` (sorted), and a message per file that could not be read.
    A missing folder declares nothing."""
    if folder is None or not folder.is_dir():
        return [], []
    found, problems = [], []
    for path in sorted(folder.glob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        try:
            found.append(read_declared(path, tz))
        except ValueError as exc:
            problems.append(str(exc))
    return found, problems


def occurrences(
    meeting: DeclaredMeeting,
    since: datetime,
    until: datetime,
    clock: WorkClock,
) -> list[datetime]:
    """The meeting's starts with ``since <= start <= until`` (aware, policy zone); a series
    skips days that are not working days."""
    if meeting.start is not None:
        return [meeting.start] if since <= meeting.start <= until else []
    assert meeting.cron is not None
    tz = clock.tz
    lo = since.astimezone(tz)
    if meeting.since is not None:
        lo = max(lo, datetime.combine(meeting.since, time(0, 0), tzinfo=tz))
    hi = until.astimezone(tz)
    if meeting.until is not None:
        hi = min(hi, datetime.combine(meeting.until + timedelta(days=1), time(0, 0), tzinfo=tz))
    out: list[datetime] = []
    if lo > hi:
        return out
    # cronsim yields starts strictly after its base: begin a microsecond before ``lo``.
    for start in CronSim(meeting.cron, lo - timedelta(microseconds=1)):
        aware = start.astimezone(tz)
        if aware > hi:
            break
        if clock.is_working_day(aware.date(), warn=False):
            out.append(aware)
        if len(out) > 1000:
            break  # a cron firing every minute is not a meeting series
    return out
