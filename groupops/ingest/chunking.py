"""An entity's records in chunks (:func:`source_chunks`), as the ingest reads them: in the
parent (:mod:`groupops.ingest.pipeline`) or in the child preparing them
(:mod:`groupops.ingest.overlap`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

import pandas as pd

from groupops.canonical import Entity, RawRecord, Source

#: A chunk of records read one at a time (the export importers) also ends once its records'
#: raw text passes this many characters: 100,000 long messages would otherwise hold about a
#: gigabyte (issue 14). Measured on a 125 MB Telegram export of 100,000 messages: peak 685 MB
#: at 24 Mi characters, 350 MB at 4 Mi (193 MB of it is the process before any input).
CHUNK_RAW_CHARS = 4 << 20


def _chunks(records: Iterable[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    """``size`` records at a time, fewer when their raw text passes :data:`CHUNK_RAW_CHARS`."""
    iterator = iter(records)
    while True:
        chunk: list[RawRecord] = []
        held = 0
        for record in iterator:
            chunk.append(record)
            held += len(record.raw)
            if len(chunk) >= size or held >= CHUNK_RAW_CHARS:
                break
        if not chunk:
            return
        yield chunk


def source_chunks(
    source: Source, entity: Entity, size: int, *, skip: int = 0
) -> Iterator[list[RawRecord] | pd.DataFrame]:
    """The entity's records ``size`` at a time: a source that reads columns itself (a canonical
    bundle's JSONL, an export importer's messages: ``chunks``) may hand over a chunk as a frame
    of the entity's fields (``chunks`` may give ``None``: that entity is read as records).
    ``skip``: the chunks after the first ``skip`` (a canonical bundle skips them unparsed)."""
    from groupops.ingest.bundle import BundleSource

    if isinstance(source, BundleSource):
        return source.chunks(entity, size, skip=skip)
    chunked = getattr(source, "chunks", None)
    chunks = chunked(entity, size) if chunked is not None else None
    found = iter(chunks) if chunks is not None else _chunks(source.records(entity), size)
    return islice(found, skip, None) if skip else found
