"""Production operations: health checks (``groupops doctor``) and the stale-data alarm."""
