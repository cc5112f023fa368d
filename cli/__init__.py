"""``groupops``: one entry point; every command has ``--help``."""

from __future__ import annotations

from cli import (
    archive,
    config,
    db,
    deadlines,
    demo,
    digest,
    doctor,
    ingest,
    meetings,
    moderation,
    secrets,
    sources,
    stats,
)
from cli.app import app

#: Importing a command module registers its commands on :data:`app`.
COMMAND_MODULES = (
    archive,
    config,
    db,
    deadlines,
    demo,
    digest,
    doctor,
    ingest,
    meetings,
    moderation,
    secrets,
    sources,
    stats,
)


def main() -> None:
    app()


__all__ = ["app", "main"]
