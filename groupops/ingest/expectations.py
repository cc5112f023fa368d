"""The ingest validation suites: one per entity, declared once in Great Expectations'
vocabulary (:class:`~groupops.ingest.checks.Expectation`).

Required fields present, known kinds/events, unique natural keys, plausible instants, a known
group (messages and memberships), an email address by the outbox's rule (members, roster:
email-validator, each distinct value once), a known category
(groups). Each failing row becomes a :class:`~groupops.ingest.normalise.Rejection` naming the
field and the reason; rows that pass go on to the store.

Two engines run a suite and give the same rejections (``tests/test_validation_engines.py``):
the vectorised evaluator in :mod:`groupops.ingest.checks` (the default) and Great
Expectations itself (``GROUPOPS_VALIDATOR=great_expectations``; GX is imported only then, and
its import costs 5–15 s per process).
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Literal

import numpy as np
import pandas as pd

from groupops.addresses import is_mail_address
from groupops.canonical import FIELDS, GROUP_CATEGORIES, KEYS, Entity
from groupops.ingest.checks import Expectation, unexpected_rows
from groupops.ingest.normalise import Rejection, rejection_at

ROW = "_row"
#: The columns holding email addresses, per entity.
EMAIL_COLUMNS: dict[str, tuple[str, ...]] = {
    "members": ("email",),
    "roster": ("email", "department_head_email"),
}

Validator = Literal["builtin", "great_expectations"]


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
class Check:
    """An expectation of a suite, the field a failure is reported on and the reason."""

    expectation: Expectation
    field: str
    reason: str  # may use {value}


def valid_emails(entity: Entity, frame: pd.DataFrame) -> frozenset[str]:
    """The distinct values of ``entity``'s email columns in ``frame`` that are email addresses
    by the outbox's rule (:func:`groupops.addresses.mail_address`, email-validator): each
    distinct value is validated once, so a million rows cost a few thousand checks."""
    found: set[str] = set()
    for column in EMAIL_COLUMNS.get(entity, ()):
        if column in frame:
            distinct = pd.unique(frame[column].dropna())
            found.update(v for v in distinct.tolist() if isinstance(v, str) and is_mail_address(v))
    return frozenset(found)


def suite(
    entity: Entity,
    bounds: Bounds,
    known_groups: frozenset[str],
    emails: frozenset[str] = frozenset(),
) -> list[Check]:
    """The validation suite of ``entity``, in the order rejections are reported; ``emails``:
    the values of its email columns that are addresses (:func:`valid_emails`)."""
    checks: list[Check] = []
    for spec in FIELDS[entity]:
        if spec.required:
            checks.append(
                Check(
                    Expectation("expect_column_values_to_not_be_null", {"column": spec.name}),
                    spec.name,
                    "required field is missing or empty",
                )
            )
        if spec.choices:
            allowed = ", ".join(sorted(spec.choices))
            checks.append(
                Check(
                    Expectation(
                        "expect_column_values_to_be_in_set",
                        {"column": spec.name, "value_set": sorted(spec.choices)},
                    ),
                    spec.name,
                    f"{{value!r}} is not one of: {allowed}",
                )
            )
        if spec.type == "instant":
            checks.append(
                Check(
                    Expectation(
                        "expect_column_values_to_be_between",
                        {
                            "column": "_ts_ms",
                            "min_value": bounds.earliest_ms,
                            "max_value": bounds.latest_ms,
                        },
                    ),
                    spec.name,
                    "implausible time (before the policy's earliest year or in the future)",
                )
            )
    key = list(KEYS[entity])
    unique = (  # GX wants two or more columns for a compound key
        Expectation("expect_column_values_to_be_unique", {"column": key[0]})
        if len(key) == 1
        else Expectation("expect_compound_columns_to_be_unique", {"column_list": key})
    )
    checks.append(Check(unique, "(key)", "duplicate key"))
    if entity in ("messages", "memberships"):
        checks.append(
            Check(
                Expectation(
                    "expect_column_values_to_be_in_set",
                    {"column": "_group_key", "value_set": sorted(known_groups)},
                ),
                "group_id",
                "unknown group {value}: not in this input's groups nor in the store",
            )
        )
    for column in EMAIL_COLUMNS.get(entity, ()):
        checks.append(
            Check(
                Expectation(
                    "expect_column_values_to_be_in_set",
                    {"column": column, "value_set": sorted(emails)},
                ),
                column,
                "not an email address: {value!r}",
            )
        )
    if entity == "groups":
        checks.append(
            Check(
                Expectation(
                    "expect_column_values_to_be_in_set",
                    {"column": "category", "value_set": list(GROUP_CATEGORIES)},
                ),
                "category",
                f"{{value!r}} is not one of: {', '.join(GROUP_CATEGORIES)}",
            )
        )
    return checks


def validate(
    entity: Entity,
    frame: pd.DataFrame,
    *,
    bounds: Bounds,
    known_groups: Iterable[str] = (),
    validator: Validator = "builtin",
) -> tuple[pd.DataFrame, list[Rejection]]:
    """(rows that pass every expectation, rejections for the others)."""
    if frame.empty:
        return frame, []
    checks = suite(entity, bounds, frozenset(known_groups), valid_emails(entity, frame))
    frame = frame.reset_index(drop=True)
    frame[ROW] = np.arange(len(frame))
    if validator == "great_expectations":
        with _GX_LOCK:
            failing = _failing_with_gx(entity, frame, checks)
    else:
        failing = [(check, unexpected_rows(check.expectation, frame)) for check in checks]
    reasons: dict[int, tuple[str, str]] = {}
    duplicates: set[int] = set()
    for check, mask in failing:
        if not mask.any():
            continue
        rows = np.flatnonzero(mask)
        if check.field == "(key)":
            duplicates.update(rows.tolist())
            continue
        column = check.expectation.column
        values = frame[column].to_numpy()[rows] if column else [None] * len(rows)
        for row, value in zip(rows.tolist(), values, strict=True):
            if row in reasons:
                continue
            if column == "_group_key" and isinstance(value, str):
                value = repr(value.replace("\x1f", ":"))
            reasons[row] = (check.field, check.reason.format(value=value))
    reasons.update(_superseded(entity, frame, duplicates - reasons.keys()))
    rejected = [
        rejection_at(entity, frame, row, field, reason)
        for row, (field, reason) in sorted(reasons.items())
    ]
    if reasons:
        frame = frame.loc[~frame[ROW].isin(reasons.keys())].reset_index(drop=True)
    return frame.drop(columns=[ROW]), rejected


# --- Great Expectations (GROUPOPS_VALIDATOR=great_expectations) -------------------------------

# One GX context per process, and it is not thread-safe: concurrent ingests in one process
# (Prefect's thread pool, tests) validate one chunk at a time with GX.
_GX_LOCK = threading.RLock()


@cache
def _context() -> Any:
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

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


def _failing_with_gx(
    entity: Entity, frame: pd.DataFrame, checks: list[Check]
) -> list[tuple[Check, np.ndarray]]:
    """Each check's failing rows, as Great Expectations finds them on the pandas batch."""
    import great_expectations as gx

    expectations = [c.expectation.to_gx() for c in checks]
    gx_suite = gx.ExpectationSuite(name=f"ingest_{entity}", expectations=expectations)
    # GX copies what it is given: hand it only the columns the expectations read.
    columns = [ROW, *dict.fromkeys(c for check in checks for c in check.expectation.columns)]
    batch = _batch_definition(entity).get_batch(batch_parameters={"dataframe": frame[columns]})
    # Two passes: a cheap yes/no for the whole suite, then row indices only for what failed.
    first = _run(batch, gx_suite, {"result_format": "BOOLEAN_ONLY"})
    failed = [i for i, res in _paired(checks, first.results) if not res.success]
    out = [(check, np.zeros(len(frame), dtype=bool)) for check in checks]
    if not failed:
        return out
    again = gx.ExpectationSuite(
        name=f"ingest_{entity}_failed", expectations=[expectations[i] for i in failed]
    )
    result = _run(
        batch, again, {"result_format": "COMPLETE", "unexpected_index_column_names": [ROW]}
    )
    for i, res in _paired([checks[i] for i in failed], result.results, positions=failed):
        rows = [int(hit[ROW]) for hit in res.result.get("unexpected_index_list") or []]
        out[i][1][rows] = True
    return out


def _paired(
    checks: list[Check], results: list[Any], *, positions: list[int] | None = None
) -> list[tuple[int, Any]]:
    """Each GX result with its check's position, matched by expectation type and column(s):
    GX does not promise to return results in the suite's order."""
    places = positions if positions is not None else list(range(len(checks)))
    where = {(c.expectation.type, ",".join(c.expectation.columns)): places[n]
             for n, c in enumerate(checks)}  # fmt: skip
    assert len(where) == len(checks) == len(results)
    out = []
    for res in results:
        kwargs = res.expectation_config.kwargs
        columns = kwargs.get("column_list") or [kwargs.get("column")]
        out.append((where[(res.expectation_config.type, ",".join(map(str, columns)))], res))
    return out


def _run(batch: Any, gx_suite: Any, result_format: dict[str, Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = batch.validate(gx_suite, result_format=result_format)
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
