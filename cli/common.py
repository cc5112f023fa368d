"""Helpers shared by the commands: settings, policy, an upgraded engine, time arguments."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import typer

from groupops.clock.timeparse import parse_instant
from groupops.db import make_engine, upgrade
from groupops.policy import Policy, PolicyError, load_policy
from groupops.settings import Settings, get_settings


def settings() -> Settings:
    return get_settings()


def policy() -> Policy:
    try:
        return load_policy(settings().policy_path)
    except PolicyError as exc:
        raise typer.BadParameter(str(exc), param_hint="policy") from exc


def engine(*, migrate: bool = True) -> sa.Engine:
    """The configured store, migrated to the newest schema (cheap and idempotent)."""
    url = settings().database_url
    if migrate:
        upgrade(url)
    return make_engine(url)


def instant_option(value: str | None, pol: Policy, *, name: str = "--as-of") -> datetime | None:
    """Parse an ``--as-of``/``--since``/``--until`` value: ISO 8601 (naive = policy zone) or a
    date (midnight in the policy zone)."""
    if value is None:
        return None
    try:
        return parse_instant(value, pol.tz)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=name) from exc
