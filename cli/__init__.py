"""``groupops``: one entry point; every command has ``--help``."""

from __future__ import annotations

from cli import config as _config  # noqa: F401  (registers commands)
from cli import db as _db  # noqa: F401
from cli import deadlines as _deadlines  # noqa: F401
from cli import demo as _demo  # noqa: F401
from cli import digest as _digest  # noqa: F401
from cli import ingest as _ingest  # noqa: F401
from cli import moderation as _moderation  # noqa: F401
from cli import sources as _sources  # noqa: F401
from cli import stats as _stats  # noqa: F401
from cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
