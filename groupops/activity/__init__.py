"""Member activity (rulebook ch. 2: admins compute each member's activity and report it to the
group's owner): messages, active days, mentions answered, reply times on the working clock."""
