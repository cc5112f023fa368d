"""The columnar fast path for canonical JSONL: a whole chunk of lines read by pyarrow at once.

A chunk goes columnar only when nothing in it needs the per-line reader's judgement: every line
is one JSON object on its own line (starts with ``{``, ends with ``}``, no CR, no BOM, no blank
line), no line is longer than :data:`MAX_FAST_LINE_BYTES`, the chunk is valid UTF-8, pyarrow
parses it with the entity's explicit schema (a value of another JSON type than the first line's,
a key given twice, a lone surrogate all fail the parse), it yields exactly one row per line, and
no string holds a control character other than tab and newline. Anything else returns ``None``
and the caller reads the chunk line by line (:func:`groupops.ingest.bundle.parse_line`; too long lines are quarantined there), so
every rule about bad input lives there and in :mod:`groupops.ingest.normalise`, never here.

The frame built here holds the same columns the per-line path builds from records (the
canonical fields, ``_source``, ``_line``, ``_raw``) and goes through the same
:func:`~groupops.ingest.normalise.normalise_frame`: one normalisation for both paths
(``tests/test_columnar.py`` proves they store the same rows and quarantine the same records).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from groupops.canonical import FIELDS, Entity, FieldSpec
from groupops.ingest.limits import Line

#: Longer lines always take the per-line reader (which applies the record size limit).
MAX_FAST_LINE_BYTES = 1 << 16
#: Control characters the per-line path must judge (C0 except tab and newline, and DEL).
_CONTROLS = r"[\x00-\x08\x0b-\x1f\x7f]"
_RAW_CONTROL_BYTES = bytes([*range(0x09), *range(0x0B, 0x20), 0x7F])
_BACKSLASH, _U, _ZERO = b"\\u0"
_ESCAPED_CONTROLS = np.frombuffer(b"bfr", dtype=np.uint8)


def _arrow_type(spec: FieldSpec, sample: Any) -> pa.DataType:
    if spec.type == "bool":
        return pa.bool_()
    if spec.type == "ids":
        return pa.list_(pa.string())
    if spec.type == "instant" and type(sample) is int:
        return pa.int64()
    return pa.string()


def _schema(entity: Entity, first_line: bytes) -> pa.Schema | None:
    """The chunk's schema: strings, booleans and id lists as the canonical format has them;
    an instant as the first line gives it (epoch integer or text)."""
    try:
        first = orjson.loads(first_line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(first, dict):
        return None
    return pa.schema([(s.name, _arrow_type(s, first.get(s.name))) for s in FIELDS[entity]])


def _may_hold_controls(block: bytes) -> bool:
    """A cheap pre-check on the raw bytes: a control character in a JSON string is either
    raw or escaped (``\\u00XX``, ``\\b``, ``\\f``, ``\\r``); without any of these no
    string can hold one. The escapes are looked for after each backslash at once (numpy), not
    by four scans of the whole block (``tests/test_columnar.py``: the same answer as those)."""
    if len(block.translate(None, _RAW_CONTROL_BYTES)) != len(block):
        return True
    if b"\\" not in block:
        return False
    codes = np.frombuffer(block, dtype=np.uint8)
    after = np.flatnonzero(codes[:-1] == _BACKSLASH) + 1  # the byte after each backslash
    follows = codes[after]
    if np.isin(follows, _ESCAPED_CONTROLS).any():
        return True
    u = after[(follows == _U) & (after + 2 < len(codes))]
    return bool(((codes[u + 1] == _ZERO) & (codes[u + 2] == _ZERO)).any())


def _has_controls(column: pa.ChunkedArray) -> bool:
    if pa.types.is_list(column.type):
        column = pc.list_flatten(column)
    if not pa.types.is_string(column.type) or len(column) == 0:
        return False
    hits = pc.match_substring_regex(column, _CONTROLS)
    return bool(pc.any(hits).as_py())


def _series(spec: FieldSpec, column: pa.ChunkedArray) -> pd.Series:
    """One column in the shape the per-line path's normalisation reads it: text as strings,
    complete epoch and boolean columns as numpy arrays, anything else as Python objects
    (``None`` where missing, lists for id lists), as records give them."""
    if pa.types.is_string(column.type) and spec.type != "instant":
        return pd.Series(pd.arrays.ArrowStringArray(column))
    if column.null_count == 0 and (
        pa.types.is_integer(column.type) or pa.types.is_boolean(column.type)
    ):
        return pd.Series(column.to_numpy())
    if pa.types.is_list(column.type):  # id lists stay in Arrow (normalise checks them there)
        return pd.Series(pd.arrays.ArrowExtensionArray(column))
    return pd.Series(column.to_pylist(), dtype=object)


def read_columnar(entity: Entity, source: str, lines: Sequence[Line]) -> pd.DataFrame | None:
    """The chunk's frame (canonical fields + ``_source``, ``_line``, ``_raw``), or ``None``
    when the chunk must be read line by line (see the module docstring). ``lines``: as
    :func:`groupops.ingest.limits.bounded_lines` gives them (no line end)."""
    if not lines:
        return None
    raws = list(map(itemgetter(1), lines))
    count = len(raws)
    sizes = np.fromiter(map(len, raws), dtype=np.int64, count=count)
    if int(sizes.sum()) != sum(map(itemgetter(2), lines)):  # a line too long (data is its head)
        return None
    if sizes.max() > MAX_FAST_LINE_BYTES or sizes.min() < 2:
        return None
    block = b"\n".join(raws) + b"\n"
    # Every line one {…}: the block starts with "{" and ends with "}\n", and each of the other
    # line ends has "}" before it and "{" after it (lines hold no line end of their own, so
    # the block holds exactly ``count`` of them).
    if block[:1] != b"{" or block[-2:] != b"}\n" or block.count(b"}\n{") != count - 1:
        return None
    if b"\r" in block:
        return None
    # The raw text column: every line's bytes, end to end, as Arrow strings (no Python string
    # per line); validating it is the UTF-8 check (each line on its own: as each starts with
    # "{" and ends with "}", that is the whole chunk's).
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    raw = pa.LargeStringArray.from_buffers(
        count, pa.py_buffer(offsets), pa.py_buffer(b"".join(raws))
    )
    try:
        raw.validate(full=True)
    except pa.ArrowInvalid:
        return None
    schema = _schema(entity, raws[0])
    if schema is None:
        return None
    options = pj.ParseOptions(
        explicit_schema=schema, unexpected_field_behavior="ignore", newlines_in_values=False
    )
    try:
        table = pj.read_json(
            io.BytesIO(block),
            read_options=pj.ReadOptions(block_size=max(1 << 20, 2 * MAX_FAST_LINE_BYTES)),
            parse_options=options,
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != count:  # two objects on one line read as two rows
        return None
    columns = {name: table.column(name) for name in schema.names}
    if _may_hold_controls(block) and any(_has_controls(c) for c in columns.values()):
        return None
    frame = pd.DataFrame(
        {spec.name: _series(spec, columns[spec.name]) for spec in FIELDS[entity]},
        index=pd.RangeIndex(count),
    )
    frame["_source"] = pd.Series([source] * count, dtype=object)
    frame["_line"] = np.fromiter(map(itemgetter(0), lines), dtype=np.int64, count=count)
    frame["_raw"] = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([raw])))
    return frame
