"""Rulebook ch. 3(四): important messages are archived (the register), stale notices,
duplicates and off-topic messages are cleaned out — previewed first, restorable, audited
(docs/archive.md).

``rules`` (pure: notices, titles, stated ends, candidates, exemptions, the guard, importance),
``store`` (register, holds, purged messages, run log, platform actions), ``cleanup`` (one run).
"""
