"""The members of the groups (rulebook ch. 1–2: members join only with an admin's approval, use
real names — 实名制 — and people who change jobs or leave are removed).

:mod:`.directory` is the one member directory every report, reminder and notice uses."""

from groupops.roster.directory import Directory, Person

__all__ = ["Directory", "Person"]
