"""A chunk as the store writes it, made from the chunk alone (no database): in key order, with
its id lists' stored JSON text and its content hashes (:func:`keyed`). :func:`upsert
<groupops.ingest.store.upsert>` makes it itself, or takes it made apart from the write (the
child of :mod:`groupops.ingest.overlap`, which imports no store)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from groupops.canonical import FIELDS, KEYS, Entity
from groupops.ingest.normalise import id_list_json

# A fixed key keeps content hashes stable between runs and processes.
_HASH_KEY = "groupops-content"


def content_hash(
    entity: Entity, frame: pd.DataFrame, ids_json: dict[str, list[str]] | None = None
) -> pd.Series:
    """A signed 64-bit hash of each row's canonical fields (vectorised); id lists are hashed
    as their stored JSON text (``ids_json``: that text per id-list field, when already made)."""
    cols: dict[str, pd.Series] = {}
    for spec in FIELDS[entity]:
        col = frame[spec.name]
        if spec.type == "ids":
            text = (ids_json or {}).get(spec.name)
            col = pd.Series(id_list_json(col) if text is None else text, index=frame.index)
        elif spec.type == "instant":
            col = col.astype("datetime64[ms, UTC]").astype("int64")
        cols[spec.name] = col.astype("string").fillna("\x00")
    hashed = pd.util.hash_pandas_object(pd.DataFrame(cols), index=False, hash_key=_HASH_KEY)
    return pd.Series(hashed.to_numpy().view(np.int64), index=frame.index)


@dataclass(frozen=True)
class Keyed:
    """A chunk as :func:`upsert` writes it: in key order, with its id lists' stored JSON text and
    its content hashes. Made from the chunk alone (no database), so it can be made apart from
    the write (:mod:`groupops.ingest.overlap`)."""

    frame: pd.DataFrame
    ids_json: dict[str, list[str]]
    hashes: np.ndarray


def keyed(entity: Entity, frame: pd.DataFrame) -> Keyed:
    """``frame`` sorted by the entity's key (stable), its id lists' JSON and content hashes."""
    # In key order: the lookup and the write visit each B-tree page once per chunk, not once
    # per row (a bundle comes in time order, its keys spread over every group).
    frame = frame.sort_values(list(KEYS[entity]), kind="stable", ignore_index=True)
    ids_json = {s.name: id_list_json(frame[s.name]) for s in FIELDS[entity] if s.type == "ids"}
    return Keyed(frame, ids_json, content_hash(entity, frame, ids_json).to_numpy())
