"""Reply and task obligations (rulebook ch. 4: work messages and tasks are answered promptly; a
task's assignee states when and how; completion is reported): deadlines from message text on the
working clock, the escalation ladder, reminders, non-response."""

#: Obligations older than this (by their message) are no longer followed up. Kept here, in the
#: package's light ``__init__``, so the CLI can show it without importing pandas.
DEFAULT_LOOKBACK_DAYS = 90
