"""Planting, one module per chapter of the rulebook: each reads its tables in
:mod:`groupops.demo.scenario` (same module name), writes their messages and facts with a
:class:`groupops.demo.builder.Planter`, and returns what it planted for
:mod:`groupops.demo.expected` (same module name). How to add to a chapter: docs/demo.md."""
