"""Open any supported input as a :class:`~groupops.canonical.Source`."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import cast

from groupops.canonical import Source
from groupops.ingest.bundle import open_bundle, open_roster


def open_source(path: str | Path, format_: str, options: Mapping[str, str] | None = None) -> Source:
    """The reader for ``path``: the canonical bundle reader, or an export importer (issue 5)
    with its ``options`` (see docs/importers.md)."""
    if format_ == "canonical" and not options:
        return open_bundle(Path(path))
    if format_ == "roster" and not options:
        return open_roster(Path(path))
    try:
        importers = importlib.import_module("groupops.importers")
    except ImportError as exc:
        raise ValueError(f"format {format_!r} is not supported by this installation") from exc
    source, _chosen = importers.open_source(Path(path), format_, **(options or {}))
    return cast(Source, source)
