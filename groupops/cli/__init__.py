"""``groupops``: one entry point; every command has ``--help``."""

from __future__ import annotations

from groupops.cli import config as _config  # noqa: F401  (registers commands)
from groupops.cli import db as _db  # noqa: F401
from groupops.cli import deadlines as _deadlines  # noqa: F401
from groupops.cli import demo as _demo  # noqa: F401
from groupops.cli import digest as _digest  # noqa: F401
from groupops.cli import ingest as _ingest  # noqa: F401
from groupops.cli import sources as _sources  # noqa: F401
from groupops.cli import stats as _stats  # noqa: F401
from groupops.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
