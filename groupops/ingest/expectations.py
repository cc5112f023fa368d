"""The ingest validation suites, declared in code with Great Expectations (ephemeral context).

One suite per entity: required fields present, known kinds/events, unique natural keys,
plausible instants, and (for messages and memberships) a known group. Each failing row becomes a
:class:`~groupops.ingest.normalise.Rejection` naming the field and the reason; rows that pass go
on to the store. GX is imported lazily (5–15 s): only when a chunk is validated.
"""

from __future__ import annotations

import importlib
import logging
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import pandas as pd

from groupops.canonical import FIELDS, GROUP_CATEGORIES, KEYS, Entity
from groupops.ingest.normalise import Rejection, rejection_at

ROW = "_row"
EMAIL_REGEX = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class ValidationInfrastructureError(RuntimeError):
    """An expectation could not be evaluated (a bug or a GX failure, never bad data)."""


@dataclass(frozen=True)
class Bounds:
    """Plausible instants, epoch milliseconds inclusive."""

    earliest_ms: float
    latest_ms: float

    @classmethod
    def between(cls, earliest: datetime, latest: datetime) -> Bounds:
        return cls(earliest.timestamp() * 1000, latest.timestamp() * 1000)


@dataclass(frozen=True)
class _Check:
    expectation: Any
    field: str
    reason: str  # may use {value}


@cache
def _context() -> Any:
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

    quiet = logging.getLogger("great_expectations")
    quiet.setLevel(logging.ERROR)
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("great_expectations."):
            logging.getLogger(name).setLevel(logging.ERROR)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


@cache
def _batch_definition(entity: Entity) -> Any:
    source = _context().data_sources.add_or_update_pandas(f"ingest_{entity}")
    asset = source.add_dataframe_asset(entity)
    return asset.add_batch_definition_whole_dataframe("chunk")


def _checks(entity: Entity, bounds: Bounds, known_groups: frozenset[str]) -> list[_Check]:
    gxe: Any = importlib.import_module("great_expectations.expectations")

    checks: list[_Check] = []
    for spec in FIELDS[entity]:
        if spec.required:
            checks.append(
                _Check(
                    gxe.ExpectColumnValuesToNotBeNull(column=spec.name),
                    spec.name,
                    "required field is missing or empty",
                )
            )
        if spec.choices:
            allowed = ", ".join(sorted(spec.choices))
            checks.append(
                _Check(
                    gxe.ExpectColumnValuesToBeInSet(
                        column=spec.name, value_set=sorted(spec.choices)
                    ),
                    spec.name,
                    f"{{value!r}} is not one of: {allowed}",
                )
            )
        if spec.type == "instant":
            checks.append(
                _Check(
                    gxe.ExpectColumnValuesToBeBetween(
                        column="_ts_ms", min_value=bounds.earliest_ms, max_value=bounds.latest_ms
                    ),
                    spec.name,
                    "implausible time (before the policy's earliest year or in the future)",
                )
            )
    key = list(KEYS[entity])
    unique = (
        gxe.ExpectColumnValuesToBeUnique(column=key[0])  # GX wants 2+ columns for compound
        if len(key) == 1
        else gxe.ExpectCompoundColumnsToBeUnique(column_list=key)
    )
    checks.append(_Check(unique, "(key)", "duplicate key"))
    if entity in ("messages", "memberships"):
        checks.append(
            _Check(
                gxe.ExpectColumnValuesToBeInSet(
                    column="_group_key", value_set=sorted(known_groups)
                ),
                "group_id",
                "unknown group {value}: not in this input's groups nor in the store",
            )
        )
    email_columns = {"members": ["email"], "roster": ["email", "department_head_email"]}
    for column in email_columns.get(entity, []):
        checks.append(
            _Check(
                gxe.ExpectColumnValuesToMatchRegex(column=column, regex=EMAIL_REGEX),
                column,
                "not an email address: {value!r}",
            )
        )
    if entity == "groups":
        checks.append(
            _Check(
                gxe.ExpectColumnValuesToBeInSet(
                    column="category", value_set=list(GROUP_CATEGORIES)
                ),
                "category",
                f"{{value!r}} is not one of: {', '.join(GROUP_CATEGORIES)}",
            )
        )
    return checks


def validate(
    entity: Entity, frame: pd.DataFrame, *, bounds: Bounds, known_groups: Iterable[str] = ()
) -> tuple[pd.DataFrame, list[Rejection]]:
    """(rows that pass every expectation, rejections for the others)."""
    if frame.empty:
        return frame, []
    import great_expectations as gx

    checks = _checks(entity, bounds, frozenset(known_groups))
    suite = gx.ExpectationSuite(
        name=f"ingest_{entity}", expectations=[c.expectation for c in checks]
    )
    frame = frame.reset_index(drop=True)
    frame[ROW] = range(len(frame))
    # GX copies what it is given: hand it only the columns the expectations read.
    view = frame[_columns(checks)]
    batch = _batch_definition(entity).get_batch(batch_parameters={"dataframe": view})
    # Two passes: a cheap yes/no for the whole suite, then row indices only for what failed.
    first = _run(batch, suite, {"result_format": "BOOLEAN_ONLY"})
    failed = []
    for check, res in _paired(checks, first.results):
        if not res.success:
            failed.append(check)
    if not failed:
        return frame.drop(columns=[ROW]), []
    checks = failed
    suite = gx.ExpectationSuite(
        name=f"ingest_{entity}_failed", expectations=[c.expectation for c in failed]
    )
    result = _run(
        batch, suite, {"result_format": "COMPLETE", "unexpected_index_column_names": [ROW]}
    )
    reasons: dict[int, tuple[str, str]] = {}
    duplicates: set[int] = set()
    for check, res in _paired(checks, result.results):
        if res.success:
            continue
        for hit in res.result.get("unexpected_index_list") or []:
            row = int(hit[ROW])
            if check.field == "(key)":
                duplicates.add(row)
                continue
            column = getattr(check.expectation, "column", None)
            value = hit.get(column) if column else None
            if column == "_group_key" and isinstance(value, str):
                value = repr(value.replace("\x1f", ":"))
            reasons.setdefault(row, (check.field, check.reason.format(value=value)))
    reasons.update(_superseded(entity, frame, duplicates - reasons.keys()))
    rejected = [
        rejection_at(entity, frame, row, field, reason)
        for row, (field, reason) in sorted(reasons.items())
    ]
    passed = frame.loc[~frame[ROW].isin(reasons.keys())].drop(columns=[ROW]).reset_index(drop=True)
    return passed, rejected


def _identity(expectation_type: str, column: object, column_list: object) -> tuple[str, str]:
    columns = column_list if isinstance(column_list, list | tuple) else [column]
    return expectation_type, ",".join(str(c) for c in columns)


def _paired(checks: list[_Check], results: list[Any]) -> list[tuple[_Check, Any]]:
    """Each result with its check, matched by expectation type and column(s): GX does not
    promise to return results in the suite's order."""
    by_identity = {
        _identity(
            c.expectation.expectation_type,
            getattr(c.expectation, "column", None),
            getattr(c.expectation, "column_list", None),
        ): c
        for c in checks
    }
    assert len(by_identity) == len(checks) == len(results)
    out = []
    for res in results:
        kwargs = res.expectation_config.kwargs
        key = _identity(
            res.expectation_config.type, kwargs.get("column"), kwargs.get("column_list")
        )
        out.append((by_identity[key], res))
    return out


def _columns(checks: list[_Check]) -> list[str]:
    columns: list[str] = [ROW]
    for check in checks:
        exp = check.expectation
        for name in [getattr(exp, "column", None), *(getattr(exp, "column_list", None) or [])]:
            if name and name not in columns:
                columns.append(name)
    return columns


def _run(batch: Any, suite: Any, result_format: dict[str, Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = batch.validate(suite, result_format=result_format)
    for res in result.results:
        if res.exception_info and res.exception_info.get("raised_exception"):
            raise ValidationInfrastructureError(
                f"{res.expectation_config.type} failed to run: "
                f"{res.exception_info.get('exception_message')}"
            )
    return result


def _superseded(entity: Entity, frame: pd.DataFrame, rows: set[int]) -> dict[int, tuple[str, str]]:
    """Among rows sharing a key, the last one wins; the earlier ones are rejected naming it."""
    if not rows:
        return {}
    key = list(KEYS[entity])
    dup = frame.loc[frame[ROW].isin(rows)]
    last = dup.groupby(key, sort=False, dropna=False)[ROW].transform("max")
    out: dict[int, tuple[str, str]] = {}
    for row, winner in zip(dup[ROW], last, strict=True):
        if row != winner:
            where = f"{frame.at[winner, '_source']!s} line {frame.at[winner, '_line']!s}"
            names = ", ".join(key)
            out[int(row)] = ("(key)", f"duplicate ({names}): superseded by {where}")
    return out
