"""Meetings (rulebook ch. 5: weekly, monthly and ad-hoc meetings get a notice in the group —
topic, time, place, attendees — an agenda for important ones, leave requests before the start,
and minutes afterwards with who does what by when).

* :mod:`.parse` reads notices, minutes (action items, decisions) and names;
* :mod:`.declared` reads regular meetings declared in ``data/meetings/*.md``;
* :mod:`.meetings` finds the meetings at an ``as_of`` (changes, cancellations, leave, minutes)
  and gives the deadline watcher its second source of tasks (action items) and the minutes due;
* :mod:`.calendar` writes the ``.ics`` invitations; :mod:`.notify` emails invitations,
  reminders, cancellations and minutes through the outbox; :mod:`.store` records the meetings.
"""
