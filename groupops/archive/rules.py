"""The archive's rules (rulebook ch. 3(四)), pure: which messages are important, what a notice
and its title are, which messages are stale (cleanup candidates, one reason each) and which of
those are exempt. Frames or plain values in, plain values out; ``as_of`` is an argument.

* **Notice**: a message holding a ``notices.markers`` word, or a pinned message (an
  announcement). Its **title** is its text after the (first) marker up to the first line break
  or colon (``：``/``:``), without a trailing （更新）/（修订）/（更正）/(updated); titles compare
  normalised (:func:`normalise`).
* **Candidates**, one reason each, in this order of precedence:

  - ``off_topic``: flagged by moderation as ``ad`` or ``vulgar`` (not revoked);
  - ``duplicate``: a notice, or any message of at least ``notices.duplicate_min_chars``
    normalised characters, whose normalised text was already posted in the same group within
    ``notices.duplicate_window_days`` before it: the first copy stays, later copies go;
  - ``superseded``: a notice followed (up to ``as_of``) by a notice in the same group with the
    same title and a different normalised text;
  - ``expired``: a notice whose text states a validity end (有效期至…, 截止…, valid until …) or
    an event time (于…举行/召开, …召开) that has passed at ``as_of``, read with
    :mod:`groupops.clock.deadline_text`; or, stating none, older than
    ``notices.retention_days``.
* **Exempt** (listed with why, never purged): still pinned, under a legal hold, or newer than
  ``notices.min_age_hours``.
* **Guard**: a run whose purge would take more than ``notices.max_purge_fraction`` of a group's
  messages (its stored, not purged messages up to ``as_of``) refuses without ``force``.
* **Important** (archived): pinned (``importance.archive_pinned``), @all from the group's owner
  or an admin (``importance.archive_mention_all``), an ``importance.markers`` word, meeting
  minutes (``meetings.minutes_markers`` or the minutes the meetings record knows), task
  messages and their completion reports, violation evidence.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

from groupops.policy import Policy

if TYPE_CHECKING:
    # The rules run on frames and the working clock (numpy); the register's readers (archive
    # list/search) import neither.
    import pandas as pd

    from groupops.clock.workclock import WorkClock

#: The reasons, in order of precedence (a message gets the first that applies).
REASONS: Final = ("off_topic", "duplicate", "superseded", "expired")
#: Moderation's categories that make a message off-topic for the cleanup.
OFF_TOPIC_CATEGORIES: Final = ("ad", "vulgar")

Key = tuple[str, str, str]  # (platform, group_id, message_id)

_REVISION_SUFFIX = re.compile(
    r"\s*[（(]\s*(?:更新|修订|修正|更正|updated?|revised)\s*[)）]\s*$", re.I
)
_TITLE_END = re.compile(r"[\r\n：:]")
_PUNCT_OR_SPACE = frozenset("PZ")


def normalise(text: str | None) -> str:
    """Width, case, spacing and punctuation folded: the text two copies share."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(
        ch
        for ch in folded
        if unicodedata.category(ch)[0] not in _PUNCT_OR_SPACE and not ch.isspace()
        and unicodedata.category(ch) != "Cf"
    )  # fmt: skip


@lru_cache(maxsize=64)
def _marker_pattern(markers: tuple[str, ...]) -> re.Pattern[str]:
    from groupops.activity.answers import marker_regex  # pandas: only when rules run

    return re.compile(marker_regex(markers))


def _first_marker(text: str, markers: Sequence[str]) -> re.Match[str] | None:
    if not markers:
        return None
    return _marker_pattern(tuple(markers)).search(text)


def is_notice(text: str | None, pinned: bool, markers: Sequence[str]) -> bool:
    """A notice: a ``notices.markers`` word, or a pinned message (an announcement)."""
    return bool(pinned) or (bool(text) and _first_marker(str(text), markers) is not None)


def notice_title(text: str | None, markers: Sequence[str]) -> str:
    """The title: the text after the first marker up to the first line break or colon, without
    a trailing （更新）/（修订）/（更正）/(updated)."""
    if not text:
        return ""
    m = _first_marker(text, markers)
    rest = text[m.end() :] if m else text
    rest = rest.lstrip(" \t：:")
    title = _TITLE_END.split(rest, maxsplit=1)[0].strip()
    while True:
        stripped = _REVISION_SUFFIX.sub("", title).strip()
        if stripped == title:
            return title
        title = stripped


# -- stated ends ----------------------------------------------------------------------------

_CLAUSE_END = re.compile(r"[，,。；;！!？?\n]")
_VALIDITY = re.compile(
    r"有效期(?:至|到|截至|截止)|有效期\s*[：:]|有效至|截止(?:到|至|日期\s*[：:]?)?|截至"
    r"|\bvalid\s+(?:until|till|through|to)\b|\bexpires?(?:\s+on)?\b",
    re.I,
)
_EVENT = re.compile(r"举行|召开")
_RANGE_SEP = re.compile(r"(?:至|到|~|～|〜|—|–)")


@dataclass(frozen=True, slots=True)
class StatedEnd:
    """An end a notice states: ``validity`` (有效期至…, 截止…) or ``event`` (…举行/召开)."""

    kind: str
    at: datetime
    text: str


def _clause(text: str, start: int) -> str:
    m = _CLAUSE_END.search(text, start)
    return text[start : m.start() if m else len(text)]


def stated_end(text: str | None, sent_at: datetime, clock: WorkClock) -> StatedEnd | None:
    """The validity end or event time ``text`` states, read relative to ``sent_at`` with the
    deadline parser; the end of a range (``14:00-16:00``, ``11月10日至11月12日``) counts."""
    from groupops.clock.deadline_text import find_when

    if not text:
        return None
    for m in _VALIDITY.finditer(text):
        span = _clause(text, m.end()).strip(" ：:")
        if m.group(0).startswith("有效期") and _RANGE_SEP.search(span):
            span = _RANGE_SEP.split(span)[-1]
        found = find_when(span, sent_at, clock)
        if found is not None:
            return StatedEnd("validity", found.until or found.at, (m.group(0) + span).strip())
    for m in _EVENT.finditer(text):
        start = max((e.end() for e in _CLAUSE_END.finditer(text, 0, m.start())), default=0)
        span = text[start : m.start()]
        yu = span.rfind("于")
        if yu >= 0:
            span = span[yu + 1 :]
        found = find_when(span, sent_at, clock)
        if found is not None:
            return StatedEnd("event", found.until or found.at, (span + m.group(0)).strip())
    return None


# -- candidates -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    platform: str
    group_id: str
    message_id: str
    reason: str
    detail: str
    sent_at: datetime

    @property
    def key(self) -> Key:
        return (self.platform, self.group_id, self.message_id)


@dataclass(frozen=True, slots=True)
class Exempt:
    platform: str
    group_id: str
    message_id: str
    why: str
    reason: str  # the reason it would have been purged for
    detail: str

    @property
    def key(self) -> Key:
        return (self.platform, self.group_id, self.message_id)


@dataclass(frozen=True, slots=True)
class Flag:
    """A moderation verdict making a message off-topic."""

    category: str
    rule: str
    violation_id: int


@dataclass(frozen=True, slots=True)
class Hold:
    reason: str
    held_by: str


@dataclass(frozen=True, slots=True)
class GuardCheck:
    platform: str
    group_id: str
    messages: int
    purge: int
    limit: float

    @property
    def fraction(self) -> float:
        return self.purge / self.messages if self.messages else 0.0

    @property
    def over(self) -> bool:
        return self.purge > 0 and self.fraction > self.limit


@dataclass
class Plan:
    """What a cleanup at ``as_of`` would do: candidates to purge, exempt ones, the guard."""

    as_of: datetime
    candidates: list[Candidate] = field(default_factory=list)
    exempt: list[Exempt] = field(default_factory=list)
    guard: list[GuardCheck] = field(default_factory=list)

    @property
    def refused(self) -> list[GuardCheck]:
        return [g for g in self.guard if g.over]


def _local(value: datetime, clock: WorkClock) -> str:
    return value.astimezone(clock.tz).strftime("%Y-%m-%d %H:%M")


def _records(messages: pd.DataFrame) -> list[dict[str, Any]]:
    import pandas as pd

    frame = messages.sort_values(["sent_at", "message_id"], kind="stable")
    out: list[dict[str, Any]] = [
        {str(k): v for k, v in r.items()} for r in frame.to_dict("records")
    ]
    for r in out:
        at = r["sent_at"]
        r["sent_at"] = at.to_pydatetime() if isinstance(at, pd.Timestamp) else at
        r["text"] = "" if r.get("text") is None or r.get("text") != r.get("text") else r["text"]
    return out


def plan_cleanup(
    messages: pd.DataFrame,
    policy: Policy,
    as_of: datetime,
    *,
    clock: WorkClock | None = None,
    purged: Iterable[Key] = (),
    flagged: Mapping[Key, Flag] | None = None,
    holds: Mapping[Key, Hold] | None = None,
) -> Plan:
    """The cleanup plan at ``as_of`` over ``messages`` (the groups' stored messages with
    ``platform, group_id, message_id, sender_id, sent_at, kind, text, pinned``): every stale
    message once, with its reason and a detail, split into candidates and exempt; and the guard
    per group. ``purged``: messages already purged (never candidates again, still the first
    copy of a duplicate)."""
    from groupops.clock.workclock import WorkClock

    clock = clock or WorkClock.from_policy(policy)
    notices = policy.notices
    flagged = flagged or {}
    holds = holds or {}
    done = set(purged)
    rows = [r for r in _records(messages) if r["sent_at"] <= as_of]

    reason: dict[Key, tuple[str, str]] = {}

    def propose(key: Key, why: str, detail: str) -> None:
        if key in done:
            return
        current = reason.get(key)
        if current is None or REASONS.index(why) < REASONS.index(current[0]):
            reason[key] = (why, detail)

    by_key = {(r["platform"], r["group_id"], r["message_id"]): r for r in rows}
    for key, flag in flagged.items():
        if key in by_key:
            propose(
                key,
                "off_topic",
                f"flagged {flag.category} ({flag.rule}), violation {flag.violation_id}",
            )

    window = timedelta(days=notices.duplicate_window_days)
    seen: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    notice_rows: list[dict[str, Any]] = []
    for r in rows:
        key = (r["platform"], r["group_id"], r["message_id"])
        text = str(r["text"])
        notice = r.get("kind") != "system" and is_notice(
            text, bool(r.get("pinned")), notices.markers
        )
        norm = normalise(text)
        r["_norm"] = norm
        if notice:
            notice_rows.append(r)
        if r.get("kind") == "system" or not norm:
            continue
        if not notice and len(norm) < notices.duplicate_min_chars:
            continue
        copies = seen.setdefault((r["platform"], r["group_id"], norm), [])
        recent = [c for c in copies if r["sent_at"] - c["sent_at"] <= window]
        if recent:
            first = copies[0]
            propose(
                key, "duplicate",
                f"same text as {first['message_id']} ({_local(first['sent_at'], clock)})",
            )  # fmt: skip
        copies.append(r)

    titles: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in notice_rows:
        title = normalise(notice_title(str(r["text"]), notices.markers))
        if title:
            titles.setdefault((r["platform"], r["group_id"], title), []).append(r)
    for same in titles.values():
        for i, r in enumerate(same):
            later = next((n for n in same[i + 1 :] if n["_norm"] != r["_norm"]), None)
            if later is not None:
                propose(
                    (r["platform"], r["group_id"], r["message_id"]), "superseded",
                    f"superseded by {later['message_id']} ({_local(later['sent_at'], clock)}): "
                    f"same title 「{notice_title(str(r['text']), notices.markers)}」",
                )  # fmt: skip

    retention = timedelta(days=notices.retention_days)
    for r in notice_rows:
        key = (r["platform"], r["group_id"], r["message_id"])
        end = stated_end(str(r["text"]), r["sent_at"], clock)
        if end is not None:
            if end.at < as_of:
                label = "valid until" if end.kind == "validity" else "event at"
                propose(key, "expired", f"{label} {_local(end.at, clock)} (「{end.text}」), passed")
        elif r["sent_at"] < as_of - retention:
            propose(
                key, "expired",
                f"states no end; older than {notices.retention_days} days "
                f"(sent {_local(r['sent_at'], clock)})",
            )  # fmt: skip

    plan = Plan(as_of=as_of)
    min_age = timedelta(hours=notices.min_age_hours)
    for key in sorted(reason, key=lambda k: (by_key[k]["sent_at"], k)):
        r = by_key[key]
        why, detail = reason[key]
        whys: list[str] = []
        if r.get("pinned"):
            whys.append("still pinned")
        if key in holds:
            whys.append(f"legal hold: {holds[key].reason} (by {holds[key].held_by})")
        if r["sent_at"] > as_of - min_age:
            whys.append(f"newer than {notices.min_age_hours:g} h (notices.min_age_hours)")
        if whys:
            plan.exempt.append(Exempt(*key, "; ".join(whys), why, detail))
        else:
            plan.candidates.append(Candidate(*key, why, detail, r["sent_at"]))

    totals: dict[tuple[str, str], int] = {}
    for r in rows:
        k = (r["platform"], r["group_id"], r["message_id"])
        if k not in done:
            totals[(r["platform"], r["group_id"])] = (
                totals.get((r["platform"], r["group_id"]), 0) + 1
            )
    purging: dict[tuple[str, str], int] = {}
    for c in plan.candidates:
        purging[(c.platform, c.group_id)] = purging.get((c.platform, c.group_id), 0) + 1
    plan.guard = [
        GuardCheck(p, g, n, purging.get((p, g), 0), notices.max_purge_fraction)
        for (p, g), n in sorted(totals.items())
    ]
    return plan


# -- importance -----------------------------------------------------------------------------

#: The importance rules, as the register names them.
IMPORTANCE_RULES: Final = (
    "pinned",
    "mention_all_by_admin",
    "importance_marker",
    "meeting_minutes",
    "task",
    "task_completion",
    "violation_evidence",
)


def important_messages(
    messages: pd.DataFrame,
    groups: pd.DataFrame,
    policy: Policy,
    *,
    minutes_ids: Iterable[Key] = (),
    evidence_ids: Iterable[Key] = (),
) -> dict[Key, list[str]]:
    """Every important message of ``messages`` with the rules it matches (in
    :data:`IMPORTANCE_RULES` order). ``groups``: ``platform, group_id, owner_id, admin_ids``;
    ``minutes_ids``: minutes the meetings record knows; ``evidence_ids``: violation
    evidence."""
    from groupops.activity.answers import marker_regex

    imp = policy.importance
    staff: dict[tuple[str, str], set[str]] = {}
    for g in groups.to_dict("records"):
        people = {str(a) for a in (g.get("admin_ids") or [])}
        if g.get("owner_id"):
            people.add(str(g["owner_id"]))
        staff[(str(g["platform"]), str(g["group_id"]))] = people
    marker = re.compile(marker_regex(imp.markers)) if imp.markers else None
    minutes = re.compile(marker_regex(policy.meetings.minutes_markers))
    task = re.compile(marker_regex(policy.tasks.markers))
    completion = re.compile(marker_regex(policy.tasks.completion_markers))
    minutes_set, evidence_set = set(minutes_ids), set(evidence_ids)

    rows = _records(messages) if not messages.empty else []
    task_ids = {
        (r["platform"], r["group_id"], r["message_id"])
        for r in rows
        if r.get("kind") != "system" and task.search(str(r["text"]))
    }
    out: dict[Key, list[str]] = {}
    for r in rows:
        key: Key = (r["platform"], r["group_id"], r["message_id"])
        text = str(r["text"])
        rules: list[str] = []
        if imp.archive_pinned and r.get("pinned"):
            rules.append("pinned")
        if (
            imp.archive_mention_all
            and r.get("mention_all")
            and str(r["sender_id"]) in staff.get((r["platform"], r["group_id"]), set())
        ):
            rules.append("mention_all_by_admin")
        if marker is not None and marker.search(text):
            rules.append("importance_marker")
        if key in minutes_set or (r.get("kind") != "system" and minutes.search(text)):
            rules.append("meeting_minutes")
        if key in task_ids:
            rules.append("task")
        reply_to = r.get("reply_to")
        if (
            reply_to
            and reply_to == reply_to
            and (r["platform"], r["group_id"], str(reply_to)) in task_ids
            and completion.search(text)
        ):
            rules.append("task_completion")
        if key in evidence_set:
            rules.append("violation_evidence")
        if rules:
            out[key] = rules
    return out
