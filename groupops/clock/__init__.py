"""The working-time clock of the rulebook: Chinese working days (holidays and 调休 make-up days),
the policy's working hours, reporting periods, and instants read from input or message text.

Every rule that says "within N working hours/days" asks this package."""
