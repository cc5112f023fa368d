"""Normalise a chunk of raw records into a typed frame, column by column (vectorised).

Values that cannot be read as their field's type (a time that is not a time, a boolean that is
not one, a list that is not a list, a JSON object, list or boolean where a string or an id
belongs) reject the record here with the field and the reason; so does text no store can hold
the same way (NUL and the other C0 control characters except tab, newline and carriage return:
PostgreSQL refuses NUL, SQLite keeps it, so a record holding one is quarantined on every store,
see :func:`control_errors` and docs/security.md). Everything else is left to the validation
suite (:mod:`groupops.ingest.expectations`).

:func:`normalise_frame` is the one place these rules live: the per-line reader's records
(:func:`normalise`) and the columnar reader's frames (:mod:`groupops.ingest.columnar`) both
go through it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from groupops.canonical import FIELDS, Entity, FieldSpec, RawRecord, unstated_fields
from groupops.clock.timeparse import EPOCH_MS_THRESHOLD

META = ("_source", "_line", "_raw")
#: Per row of a partial source's chunk: the fields it does not state (kept as stored on update).
UNSTATED = "_unstated"
_OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"  # after a time: 2026-11-02 is a date, not -02:00
_TRUE = {"true", "1", "yes", "y", "t"}
#: C0 control characters a stored text may not hold (tab, newline and carriage return may).
CONTROL_CHARS = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r")
_CONTROL_BYTES = CONTROL_CHARS.encode("ascii")
_CONTROL_RE = re.compile(f"[{re.escape(CONTROL_CHARS)}]")
_CONTROL_PATTERN = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"  # CONTROL_CHARS for Arrow's RE2
_CONTROL_NAMES = {0x00: "NUL", 0x1B: "ESC", 0x07: "BEL", 0x08: "BS", 0x0B: "VT", 0x0C: "FF"}
_FALSE = {"false", "0", "no", "n", "f", ""}


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that will not be stored, and why."""

    entity: Entity
    source: str
    line: int
    field: str
    reason: str
    raw: str


@dataclass(frozen=True)
class Normalised:
    frame: pd.DataFrame
    rejected: list[Rejection]


def rejection_at(
    entity: Entity, frame: pd.DataFrame, idx: int, field: str, reason: str
) -> Rejection:
    """The rejection of row ``idx`` of a normalised frame."""
    return Rejection(
        entity,
        str(frame.at[idx, "_source"]),
        int(frame.at[idx, "_line"]),  # type: ignore[arg-type]  # stubs: .at is any scalar; _line is int64
        field,
        reason,
        str(frame.at[idx, "_raw"]),
    )


def group_key(platform: pd.Series, group_id: pd.Series) -> pd.Series:
    """One string per (platform, group_id): what the known-group expectation checks."""
    return platform.astype("string").fillna("") + "\x1f" + group_id.astype("string").fillna("")


def normalise(entity: Entity, records: Sequence[RawRecord], tz: ZoneInfo) -> Normalised:
    """Typed columns for ``entity`` plus ``_source``, ``_line``, ``_raw`` (and ``_ts_ms`` for the
    entity's instant, ``_group_key`` where a group is named)."""
    rejected: list[Rejection] = []
    good: list[RawRecord] = []
    for rec in records:
        if rec.error is not None or rec.data is None:
            err = rec.error
            rejected.append(
                Rejection(
                    entity,
                    rec.source,
                    rec.line,
                    err.field if err else "(record)",
                    err.reason if err else "empty record",
                    rec.raw,
                )
            )
        else:
            good.append(rec)
    names = [spec.name for spec in FIELDS[entity]]
    frame = pd.DataFrame.from_records(
        [rec.data for rec in good],  # type: ignore[arg-type]  # data is None only in rejected records
        columns=names,
        nrows=len(good),
    ).astype(object)
    frame["_source"] = pd.Series([rec.source for rec in good], dtype=object)
    frame["_line"] = np.fromiter((rec.line for rec in good), dtype=np.int64, count=len(good))
    frame["_raw"] = pd.Series([rec.raw for rec in good], dtype=object)
    if any(rec.partial for rec in good):
        frame[UNSTATED] = pd.Series([unstated_fields(entity, rec) for rec in good], dtype=object)
    return normalise_frame(entity, frame, tz, rejected)


def normalise_frame(
    entity: Entity, frame: pd.DataFrame, tz: ZoneInfo, rejected: list[Rejection] | None = None
) -> Normalised:
    """:func:`normalise` of records already laid out as columns (the entity's fields plus
    ``_source``, ``_line``, ``_raw``): what the columnar reader
    (:mod:`groupops.ingest.columnar`) hands over. ``rejected``: the records' earlier rejections."""
    rejected = [] if rejected is None else rejected
    specs = FIELDS[entity]
    if frame.empty:
        return Normalised(frame, rejected)
    bad = pd.Series(False, index=frame.index)
    for spec in specs:
        column, errors = _coerce(spec, frame[spec.name], tz)
        frame[spec.name] = column
        if spec.type == "instant":
            frame["_ts_ms"] = _epoch_ms(column)
        fresh = errors.notna() & ~bad
        for idx in errors.index[fresh]:
            rejected.append(rejection_at(entity, frame, idx, spec.name, str(errors.at[idx])))
        bad |= errors.notna()
    frame = frame.loc[~bad].reset_index(drop=True)
    if "group_id" in frame:
        frame["_group_key"] = group_key(frame["platform"], frame["group_id"])
    return Normalised(frame, rejected)


def _coerce(spec: FieldSpec, values: pd.Series, tz: ZoneInfo) -> tuple[pd.Series, pd.Series]:
    """(typed column, per-row error message or NA)."""
    if spec.type in ("id", "str", "enum"):
        return _strings(values, spec)
    if spec.type == "instant":
        return _instants(values, tz)
    if spec.type == "bool":
        return _booleans(values)
    return _id_lists(values)


def _type_error(value: Any) -> str | None:
    """Why ``value`` is not a string, an id or a number that stands for one (``None``: it is)."""
    if value is None or isinstance(value, str):
        return None
    if isinstance(value, bool):
        return f"expected a string, got a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) or math.isnan(value) else f"not a number: {value!r}"
    if isinstance(value, dict):
        return "expected a string, got a JSON object"
    if isinstance(value, list | tuple):
        return "expected a string, got a JSON list"
    return f"expected a string, got {type(value).__name__}"


def _strings(values: pd.Series, spec: FieldSpec) -> tuple[pd.Series, pd.Series]:
    errors = pd.Series(pd.NA, index=values.index, dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        wrong = values.map(_type_error)
        bad = wrong.notna()
        if bad.any():  # an object, list or boolean is an error, never its repr
            errors[bad] = wrong[bad]
            values = values.where(~bad, None)
        numeric = values.map(lambda v: isinstance(v, float) and v.is_integer())
        if numeric.any():  # 12345.0 from a JSON number is the id "12345"
            values = values.where(~numeric, values[numeric].map(lambda v: str(int(v))))
        ints = values.map(lambda v: isinstance(v, int) and not isinstance(v, bool))
        if ints.any():
            values = values.where(~ints, values[ints].map(str))
    controls = control_errors(values)
    errors = errors.where(errors.notna(), controls)
    text = values.astype("string")
    if spec.type in ("id", "enum"):
        text = text.str.strip()
    if spec.type == "enum":
        text = text.str.lower()
    text = text.mask(text == "")
    if spec.name == "text":
        text = text.fillna("")
    if _arrow_text(values):  # the columnar reader's text stays in Arrow (missing: NA)
        return text, errors
    return text.astype(object).where(text.notna(), None), errors


def _arrow_text(values: pd.Series) -> bool:
    return isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"


def _describe_control(char: str) -> str:
    code = ord(char)
    name = _CONTROL_NAMES.get(code)
    return f"U+{code:04X}" + (f" ({name})" if name else "")


def _holds_control_bytes(chunk: pa.Array) -> bool:
    """Whether the character data behind an Arrow text array holds a byte of
    :data:`CONTROL_CHARS` (in UTF-8 those bytes are never part of another character). The
    whole data buffer is looked at, also bytes outside a sliced array's values: a hit there
    only sends the column through the exact regex."""
    if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
        return True  # another layout: the regex decides
    data = chunk.buffers()[2]
    if data is None:
        return False
    raw = data.to_pybytes()
    return len(raw.translate(None, _CONTROL_BYTES)) != len(raw)


def control_errors(values: pd.Series) -> pd.Series:
    """Per value: why it cannot be stored (a C0 control character other than tab, newline or
    carriage return, which PostgreSQL refuses or terminals obey), or NA. Vectorised: one
    byte-level pass over the whole column, and a per-value look only when it finds one (in
    UTF-8 these bytes never occur inside another character)."""
    errors = pd.Series(pd.NA, index=values.index, dtype=object)
    if _arrow_text(values):
        # Arrow-backed text (the columnar reader's): its bytes looked at in place, then one
        # regex pass in Arrow only when one of the bytes is there; no Python strings.
        array = pa.array(values.array)
        chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
        if not any(_holds_control_bytes(chunk) for chunk in chunks):
            return errors
        hits = pc.match_substring_regex(array, _CONTROL_PATTERN)
        if not pc.any(hits).as_py():
            return errors
    else:
        strings = [v for v in values.tolist() if isinstance(v, str)]
        if not strings:
            return errors
        joined = "".join(strings).encode("utf-8", "surrogatepass")
        if len(joined.translate(None, _CONTROL_BYTES)) == len(joined):
            return errors
    for pos, value in enumerate(values.tolist()):
        if isinstance(value, str) and (hit := _CONTROL_RE.search(value)):
            errors.iloc[pos] = (
                f"contains the control character {_describe_control(hit.group())} at "
                f"character {hit.start() + 1}: no store may hold it (remove it at the source)"
            )
    return errors


def _instants(values: pd.Series, tz: ZoneInfo) -> tuple[pd.Series, pd.Series]:
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    errors = pd.Series(pd.NA, index=values.index, dtype=object)
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if inferred == "integer":  # the fast path: epoch numbers, none missing
        present = values.notna().astype(bool)
        is_bool = pd.Series(False, index=values.index)
    else:
        present = values.map(lambda v: v is not None and v == v and str(v).strip() != "").astype(
            bool
        )
        is_bool = values.map(lambda v: isinstance(v, bool)).astype(bool)
    numbers = pd.to_numeric(values.where(present & ~is_bool), errors="coerce")
    numeric = numbers.notna()
    if numeric.any():
        n = numbers[numeric].astype("float64")
        ms = n.where(n.abs() >= EPOCH_MS_THRESHOLD, n * 1000)
        result[numeric] = pd.to_datetime(
            ms.round().astype("int64"), unit="ms", utc=True, errors="coerce"
        )
    textual = present & ~numeric & ~is_bool
    if textual.any():
        text = values[textual].astype("string").str.strip()
        aware = text.str.contains(_OFFSET, regex=True)
        if aware.any():
            result[aware[aware].index] = pd.to_datetime(
                text[aware], format="ISO8601", utc=True, errors="coerce"
            )
        naive = ~aware
        if naive.any():
            local = pd.to_datetime(text[naive], format="ISO8601", errors="coerce")
            result[naive[naive].index] = local.dt.tz_localize(
                tz, ambiguous="NaT", nonexistent="NaT"
            ).dt.tz_convert("UTC")
    unreadable = present & result.isna().to_numpy()
    if unreadable.any():
        errors[unreadable] = values[unreadable].map(
            lambda v: f"not an ISO 8601 time or epoch seconds/milliseconds: {v!r}"
        )
    return result, errors


def _epoch_ms(column: pd.Series) -> pd.Series:
    """Epoch milliseconds as float (NaN where missing): what the plausibility range checks."""
    out = pd.Series(np.nan, index=column.index, dtype="float64")
    present = column.notna()
    out[present] = column[present].astype("datetime64[ms, UTC]").astype("int64").astype("float64")
    return out


def _boolean(value: Any) -> bool | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _booleans(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.infer_dtype(values, skipna=False) == "boolean":
        return values.astype(bool), pd.Series(pd.NA, index=values.index, dtype=object)
    mapped = values.map(_boolean)
    errors = pd.Series(pd.NA, index=values.index, dtype=object)
    bad = mapped.isna()
    errors[bad] = values[bad].map(lambda v: f"not a boolean (true/false): {v!r}")
    return mapped.where(~bad, False).astype(bool), errors


def _id_list(value: Any) -> list[str] | str:
    """A list of ids, or an error message."""
    if type(value) is list and all(type(item) is str and item for item in value):
        if any(_CONTROL_RE.search(item) for item in value):
            return f"an id holds a control character: {value!r}"
        return value  # the common case, already canonical
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                value = orjson.loads(text)
            except orjson.JSONDecodeError:
                return f"not a JSON list of ids: {value!r}"
        elif _CONTROL_RE.search(text):
            return f"an id holds a control character: {value!r}"
        else:
            return [part.strip() for part in text.replace(",", ";").split(";") if part.strip()]
    if isinstance(value, list | tuple):
        out = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, str | int):
                return f"not a list of ids: {value!r}"
            if isinstance(item, str) and _CONTROL_RE.search(item):
                return f"an id holds a control character: {value!r}"
            if str(item).strip():
                out.append(str(item).strip())
        return out
    return f"not a list of ids: {value!r}"


def _id_lists(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    if isinstance(values.dtype, pd.ArrowDtype):  # the columnar reader's list<string> column
        canonical = _canonical_arrow_ids(values)
        if canonical is not None:
            return canonical, pd.Series(pd.NA, index=values.index, dtype=object)
        values = pd.Series(pa.array(values.array).to_pylist(), index=values.index, dtype=object)
    mapped = values.map(_id_list)
    bad = mapped.map(lambda v: isinstance(v, str))
    errors = pd.Series(pd.NA, index=values.index, dtype=object)
    errors[bad] = mapped[bad]
    return mapped.where(~bad, None), errors


def _canonical_arrow_ids(values: pd.Series) -> pd.Series | None:
    """An Arrow ``list<string>`` column whose every id is already canonical (a non-empty
    string without control characters: what :func:`_id_list` returns unchanged), with missing
    lists as empty ones; ``None`` when any value needs :func:`_id_list`'s judgement."""
    lists = pa.array(values.array)
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    if not pa.types.is_list(lists.type) or not pa.types.is_string(lists.type.value_type):
        return None
    items = pc.list_flatten(lists)
    if items.null_count or (
        len(items)
        and (
            pc.min(pc.utf8_length(items)).as_py() == 0
            or pc.any(pc.match_substring_regex(items, _CONTROL_PATTERN)).as_py()
        )
    ):
        return None
    if lists.null_count:
        lists = pc.if_else(pc.is_null(lists), pa.scalar([], lists.type), lists)
    return pd.Series(pd.arrays.ArrowExtensionArray(lists), index=values.index)


def id_list_json(values: pd.Series) -> list[str]:
    """Each normalised id list as the JSON text stored and hashed (``orjson.dumps``, no
    spaces): built in Arrow for an Arrow column whose ids need no JSON escaping."""
    if isinstance(values.dtype, pd.ArrowDtype):
        lists = pa.array(values.array)
        if isinstance(lists, pa.ChunkedArray):
            lists = lists.combine_chunks()
        items = pc.list_flatten(lists)
        if not len(items):
            return ["[]"] * len(lists)
        if not pc.any(pc.match_substring_regex(items, r'["\\]')).as_py():
            joined = pc.binary_join(lists, '","')
            quoted = pc.binary_join_element_wise('["', joined, '"]', "")
            empty = pc.equal(pc.list_value_length(lists), 0)
            return cast(list[str], pc.if_else(empty, "[]", quoted).to_pylist())
        return [orjson.dumps(v).decode() for v in lists.to_pylist()]
    return [orjson.dumps(v).decode() for v in values]
