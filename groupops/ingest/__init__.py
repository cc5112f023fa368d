"""Validated, idempotent ingest of canonical activity (see docs/formats.md).

The names below load on first use: the child process preparing an ingest's chunks
(:mod:`groupops.ingest.overlap`) imports this package without the store's run machinery."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from groupops.ingest.bundle import BundleError, open_bundle
    from groupops.ingest.pipeline import EntitySummary, IngestSummary, run_ingest

__all__ = ["BundleError", "EntitySummary", "IngestSummary", "open_bundle", "run_ingest"]
_HOMES = {
    "BundleError": "groupops.ingest.bundle",
    "open_bundle": "groupops.ingest.bundle",
    "EntitySummary": "groupops.ingest.pipeline",
    "IngestSummary": "groupops.ingest.pipeline",
    "run_ingest": "groupops.ingest.pipeline",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
