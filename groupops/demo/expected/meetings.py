"""What the meeting rules (rulebook ch. 5) must find (``meetings``): each meeting with its
notice(s), final time and place, organizer, attendees, leave before and after the start, state,
minutes (published, late, missing or not yet due) and action items with their deadline and
state at ``as_of``; and the obligations left open — action items not done (tasks of the deadline
watcher, ``<minutes id>#<n>``, asked by the organizer when the minutes were posted) and minutes
not published (kind ``minutes``, the organizer's, from the meeting's end).

Everything is computed from the scenario and the working clock, not by reading the texts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from groupops.demo import company
from groupops.demo.builder import Builder, Msg
from groupops.demo.chapter import Chapter, Obligation
from groupops.demo.period import AS_OF, CLOCK, POLICY, SINCE, YEAR, local
from groupops.demo.plants import meetings
from groupops.demo.plants.meetings import (
    Planted,
    PlantedDeclared,
    PlantedHeld,
    PlantedMeeting,
    occurrence_start,
)
from groupops.demo.scenario.meetings import Declared, Held


@dataclass(frozen=True, slots=True)
class Final_:
    """A meeting as it stands at ``as_of`` after its changes."""

    start: datetime
    end: datetime
    place: str
    cancelled: bool
    sequence: int


def _hm(day: datetime, hm: str) -> datetime:
    hour, minute = (int(x) for x in hm.split(":"))
    return day.replace(hour=hour, minute=minute)


def final(m: PlantedMeeting) -> Final_:
    start = local(m.spec.starts)
    end = _hm(start, m.spec.ends)
    place, cancelled = m.spec.place, False
    for change, msg in m.changes:
        if msg.at > AS_OF:
            continue
        if change.cancel:
            cancelled = True
            continue
        assert change.starts is not None and change.ends is not None
        start = local(change.starts)
        end = _hm(start, change.ends)
        place = change.place or place
    return Final_(start, end, place, cancelled, len([c for c in m.changes if c[1].at <= AS_OF]))


def meeting_id(m: PlantedMeeting) -> str:
    return f"{company.PLATFORM}/{m.notice.group_id}/{m.notice.message_id}"


def item_due(deadline: str) -> datetime:
    """ "11月24日" → the end of that working day (a date without a time)."""
    found = re.fullmatch(r"(\d{1,2})月(\d{1,2})日", deadline)
    assert found is not None, deadline
    return CLOCK.end_of_day(date(YEAR, int(found[1]), int(found[2])))


def minutes_due(end: datetime) -> datetime:
    return CLOCK.add_working_minutes(end, POLICY.meetings.minutes_due_working_hours * 60)


def _items(m: PlantedMeeting) -> list[dict[str, Any]]:
    if m.minutes is None:
        return []
    done = {d.sender_id: d for d in m.done if d.at <= AS_OF}
    out = []
    for n, (item, owner, deadline) in enumerate(m.spec.decisions, 1):
        due = item_due(deadline)
        finished = done.get(owner)
        state = "done" if finished else ("overdue" if due < AS_OF else "open")
        out.append(
            {
                "task_id": f"{m.minutes.message_id}#{n}",
                "assignee_id": owner,
                "text": item,
                "due_at": due.isoformat(),
                "state": state,
                "done_message_id": finished.message_id if finished else None,
            }
        )
    return out


def record(planted: Planted, b: Builder) -> dict[str, Any]:
    out = []
    for m in planted.meetings:
        f = final(m)
        leaves = [x for x in m.leaves if x.at <= AS_OF]
        minutes_at = m.minutes.at if m.minutes is not None else None
        due = minutes_due(f.end)
        if f.cancelled:
            state, minutes_state = "cancelled", "not_due"
        else:
            state = "held" if f.start <= AS_OF else "scheduled"
            if minutes_at is not None:
                minutes_state = "late" if minutes_at > due else "published"
            else:
                minutes_state = "missing" if due < AS_OF else "not_due"
        out.append(
            {
                "group_id": m.notice.group_id,
                "notice_id": m.notice.message_id,
                "minutes_id": m.minutes.message_id if m.minutes else None,
                "topic": m.spec.topic,
                "kind": m.spec.kind,
                "starts_at": local(m.spec.starts).isoformat(),
                "leaves": [{"message_id": x.message_id, "member_id": x.sender_id} for x in leaves],
                "meeting_id": meeting_id(m),
                "notice_message_ids": [m.notice.message_id, *(c[1].message_id for c in m.changes)],
                "start": f.start.isoformat(),
                "end": f.end.isoformat(),
                "place": f.place,
                "organizer_id": m.spec.sender,
                "attendees": sorted({m.spec.sender, *m.spec.attendees}),
                "on_leave": [x.sender_id for x in leaves if x.at < f.start],
                "late_leave": [x.sender_id for x in m.late_leaves if x.at <= AS_OF],
                "state": state,
                "sequence": f.sequence,
                "minutes_message_id": m.minutes.message_id if m.minutes else None,
                "minutes_due_at": None if f.cancelled else due.isoformat(),
                "minutes_state": minutes_state,
                "action_items": _items(m),
            }
        )
    out += [entry for d in planted.declared for entry in _declared_records(d)]
    return {"meetings": out}


# -- Declared meetings (data/demo/meetings/*.md) ----------------------------------------------


def declared_starts(d: Declared) -> list[datetime]:
    """The occurrences ``groupops meetings`` knows at ``as_of``: from the bundle's first day to
    ``meetings.declared_days_ahead`` days after ``as_of``; a series' days within its
    since/until that are working days."""
    horizon = AS_OF + timedelta(days=POLICY.meetings.declared_days_ahead)
    if d.weekly is None:
        assert d.start is not None
        start = local(d.start)
        return [start] if SINCE <= start <= horizon else []
    assert d.since is not None and d.until is not None
    weekday, hm = d.weekly
    day, last = local(f"{d.since} {hm}"), local(f"{d.until} {hm}")
    out = []
    while day <= min(last, horizon):
        if day.weekday() == weekday and CLOCK.is_working_day(day.date(), warn=False):
            out.append(day)
        day += timedelta(days=1)
    return out


def _held_at(d: PlantedDeclared, start: datetime) -> PlantedHeld:
    for h in d.held:
        if local(occurrence_start(d.spec, h.spec.day)) == start:
            return h
    return PlantedHeld(Held(f"{start:%m-%d}"))


def _declared_items(d: Declared, h: PlantedHeld) -> list[dict[str, Any]]:
    if h.minutes is None:
        return []
    done = {m.sender_id: m for m in h.done if m.at <= AS_OF}
    out = []
    for n, (item, owner, deadline) in enumerate(h.spec.decisions, 1):
        due = item_due(deadline)
        finished = done.get(owner)
        out.append(
            {
                "task_id": f"{h.minutes.message_id}#{n}",
                "assignee_id": owner,
                "text": item,
                "due_at": due.isoformat(),
                "state": "done" if finished else ("overdue" if due < AS_OF else "open"),
                "done_message_id": finished.message_id if finished else None,
            }
        )
    return out


def declared_id(d: Declared, start: datetime) -> str:
    return f"{company.PLATFORM}/{d.group_id}/{d.stem}/{start:%Y%m%dT%H%M}"


def _declared_records(d: PlantedDeclared) -> list[dict[str, Any]]:
    spec, out = d.spec, []
    for start in declared_starts(spec):
        h = _held_at(d, start)
        end = start + timedelta(minutes=spec.duration)
        leaves = [x for x in h.leaves if x.at <= AS_OF]
        due = minutes_due(end)
        minutes: Msg | None = h.minutes if h.minutes is not None and h.minutes.at <= AS_OF else None
        if minutes is not None:
            minutes_state = "late" if minutes.at > due else "published"
        else:
            minutes_state = "missing" if due < AS_OF else "not_due"
        out.append(
            {
                "group_id": spec.group_id,
                "notice_id": None,
                "minutes_id": minutes.message_id if minutes else None,
                "topic": spec.topic,
                "kind": spec.kind,
                "source": "file",
                "declared_file": f"meetings/{spec.stem}.md",
                "starts_at": start.isoformat(),
                "leaves": [{"message_id": x.message_id, "member_id": x.sender_id} for x in leaves],
                "meeting_id": declared_id(spec, start),
                "notice_message_ids": [],
                "start": start.isoformat(),
                "end": end.isoformat(),
                "place": spec.place,
                "organizer_id": spec.organizer,
                "attendees": sorted({spec.organizer, *spec.attendees}),
                "on_leave": [x.sender_id for x in leaves if x.at < start],
                "late_leave": [x.sender_id for x in leaves if x.at >= start],
                "state": "held" if start <= AS_OF else "scheduled",
                "sequence": 0,
                "minutes_message_id": minutes.message_id if minutes else None,
                "minutes_due_at": due.isoformat(),
                "minutes_state": minutes_state,
                "action_items": _declared_items(spec, h),
            }
        )
    return out


def _declared_obligations(d: PlantedDeclared) -> list[Obligation]:
    out: list[Obligation] = []
    for start in declared_starts(d.spec):
        h = _held_at(d, start)
        end = start + timedelta(minutes=d.spec.duration)
        if h.minutes is not None:
            for item in _declared_items(d.spec, h):
                if item["state"] != "done":
                    out.append(
                        Obligation(
                            "task_done", h.minutes, item["assignee_id"],
                            datetime.fromisoformat(item["due_at"]), message_id=item["task_id"],
                            requester=d.spec.organizer, requested_at=h.minutes.at,
                            own_request=False,
                        )
                    )  # fmt: skip
        elif end <= AS_OF:
            raise AssertionError(f"{d.spec.stem} {start}: plant its minutes (no notice to cite)")
    return out


def obligations(planted: Planted, b: Builder) -> list[Obligation]:
    """Action items not done, and minutes not published, for meetings ended by ``as_of``."""
    out: list[Obligation] = []
    for m in planted.meetings:
        f = final(m)
        if m.minutes is not None:
            for item in _items(m):
                if item["state"] == "done":
                    continue
                out.append(
                    Obligation(
                        "task_done",
                        m.minutes,
                        item["assignee_id"],
                        datetime.fromisoformat(item["due_at"]),
                        message_id=item["task_id"],
                        requester=m.spec.sender,
                        requested_at=m.minutes.at,
                        own_request=False,
                    )
                )
        elif not f.cancelled and f.end <= AS_OF:
            out.append(
                Obligation(
                    "minutes",
                    m.notice,
                    m.spec.sender,
                    minutes_due(f.end),
                    message_id=meeting_id(m),
                    requester=None,
                    requested_at=f.end,
                    own_request=False,
                )
            )
    out += [o for d in planted.declared for o in _declared_obligations(d)]
    return out


CHAPTER: Final = Chapter(
    name="meetings",
    plant=meetings.plant,
    record=record,
    obligations=obligations,
    markers=meetings.MARKERS,
)
