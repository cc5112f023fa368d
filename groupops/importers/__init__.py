"""Export importers: each turns one platform's export into the canonical records
(:class:`groupops.canonical.Source`) that the validated ingest loads.

``open_source(path, format="auto")`` picks the importer; see docs/importers.md."""

from __future__ import annotations

from groupops.importers.detect import (
    FORMATS,
    OPTIONS,
    UnknownFormatError,
    detect_format,
    open_source,
)

__all__ = ["FORMATS", "OPTIONS", "UnknownFormatError", "detect_format", "open_source"]
