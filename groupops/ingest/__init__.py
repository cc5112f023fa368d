"""Validated, idempotent ingest of canonical activity (see docs/formats.md)."""

from groupops.ingest.bundle import BundleError, open_bundle
from groupops.ingest.pipeline import EntitySummary, IngestSummary, run_ingest

__all__ = ["BundleError", "EntitySummary", "IngestSummary", "open_bundle", "run_ingest"]
