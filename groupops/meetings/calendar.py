"""iCalendar invitations (RFC 5545 / iTIP) for meetings, written with ``icalendar``.

One VEVENT per meeting with a UID that never changes (``<meeting_id>@groupops``) and a
SEQUENCE that grows with each change: ``METHOD:REQUEST`` for an invitation or an update,
``METHOD:CANCEL`` (``STATUS:CANCELLED``) for a cancellation. Times carry the policy zone
(with its VTIMEZONE); DTSTAMP is the instant of the notice that made this version, so the
same meeting state always gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from icalendar import Calendar, Event, vCalAddress, vText

from groupops.mail import Recipient
from groupops.meetings.meetings import Meeting

Method = Literal["REQUEST", "CANCEL"]
PRODID = "-//groupops//meetings//ZH"


def _address(person: Recipient, role: str | None = None) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.address}")
    if person.name:
        address.params["cn"] = vText(person.name)
    if role is not None:
        address.params["role"] = vText(role)
        address.params["partstat"] = vText("NEEDS-ACTION")
        address.params["rsvp"] = vText("FALSE")
    return address


def meeting_calendar(
    meeting: Meeting,
    method: Method,
    *,
    organizer: Recipient | None,
    attendees: Sequence[Recipient],
    stamp: datetime,
    description: str = "",
) -> bytes:
    """The ``.ics`` bytes of one meeting in one state."""
    if stamp.tzinfo is None:
        raise ValueError("stamp must be timezone-aware")
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    event = Event()
    event.add("uid", meeting.uid)
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", meeting.start)
    event.add("dtend", meeting.end)
    event.add("summary", meeting.topic)
    if meeting.place:
        event.add("location", meeting.place)
    if description:
        event.add("description", description)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    if organizer is not None:
        event.add("organizer", _address(organizer))
    for person in attendees:
        event.add("attendee", _address(person, "REQ-PARTICIPANT"), encode=False)
    cal.add_component(event)
    cal.add_missing_timezones()
    return bytes(cal.to_ical())
