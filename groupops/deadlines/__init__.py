"""Reply and task obligations (rulebook ch. 4: work messages and tasks are answered promptly; a
task's assignee states when and how; completion is reported): deadlines from message text on the
working clock, the escalation ladder, reminders, non-response."""
