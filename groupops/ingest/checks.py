"""The ingest validation suites' expectations, and a vectorised evaluator for them.

Each suite (:mod:`groupops.ingest.expectations`) is declared once, as a list of
:class:`Expectation` values in Great Expectations' own vocabulary (the expectation type and its
keyword arguments). Two engines evaluate it and give the same failing rows:

* :func:`unexpected_rows` here: numpy/pandas over the whole chunk, a few milliseconds per
  expectation per 100k rows, with no import cost. The default (``GROUPOPS_VALIDATOR=builtin``).
* Great Expectations itself (``GROUPOPS_VALIDATOR=great_expectations``): the same declarations
  turned into GX expectations and run on the pandas batch. Its import alone takes longer
  than a whole ingest of a week's activity (see docs/performance.md), so it is opt-in.

What "the same" means is GX's pandas semantics, reproduced here rule by rule (column-map
expectations skip missing values; compound uniqueness ignores rows whose key is entirely
missing, then flags every row of a duplicated key), and proven by
``tests/test_validation_engines.py``, which runs both engines on generated frames.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

#: The expectation types the suites use, with GX's class name for each.
GX_CLASSES: Mapping[str, str] = MappingProxyType(
    {
        "expect_column_values_to_not_be_null": "ExpectColumnValuesToNotBeNull",
        "expect_column_values_to_be_in_set": "ExpectColumnValuesToBeInSet",
        "expect_column_values_to_be_between": "ExpectColumnValuesToBeBetween",
        "expect_compound_columns_to_be_unique": "ExpectCompoundColumnsToBeUnique",
        "expect_column_values_to_be_unique": "ExpectColumnValuesToBeUnique",
        "expect_column_values_to_match_regex": "ExpectColumnValuesToMatchRegex",
    }
)


@dataclass(frozen=True)
class Expectation:
    """One expectation: GX's type name (``expect_column_values_to_not_be_null``) and its
    keyword arguments (``column``, ``value_set``, ``min_value``/``max_value``,
    ``column_list``, ``regex``)."""

    type: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in GX_CLASSES:
            raise ValueError(f"unsupported expectation {self.type!r}")

    @property
    def columns(self) -> list[str]:
        """The frame columns it reads."""
        if "column_list" in self.kwargs:
            return list(self.kwargs["column_list"])
        return [self.kwargs["column"]]

    @property
    def column(self) -> str | None:
        """The one column of a column expectation (``None`` for a compound one)."""
        column = self.kwargs.get("column")
        return None if column is None else str(column)

    def to_gx(self) -> Any:
        """The same expectation as a Great Expectations object (imports GX)."""
        import importlib

        gxe: Any = importlib.import_module("great_expectations.expectations")
        return getattr(gxe, GX_CLASSES[self.type])(**dict(self.kwargs))


def unexpected_rows(expectation: Expectation, frame: pd.DataFrame) -> np.ndarray:
    """A boolean array: ``True`` where a row of ``frame`` fails ``expectation``."""
    kind, kw = expectation.type, expectation.kwargs
    if kind == "expect_compound_columns_to_be_unique":
        keys = frame[list(kw["column_list"])]
        considered = keys.notna().any(axis=1).to_numpy()  # GX: ignore_row_if all missing
        failing = np.zeros(len(frame), dtype=bool)
        failing[considered] = keys[considered].duplicated(keep=False).to_numpy()
        return failing
    column = frame[kw["column"]]
    if kind == "expect_column_values_to_not_be_null":
        return np.asarray(column.isna().to_numpy(), dtype=bool)
    present = column.notna().to_numpy()
    failing = np.zeros(len(frame), dtype=bool)
    values = column[present]
    if kind == "expect_column_values_to_be_in_set":
        failing[present] = ~values.isin(list(kw["value_set"])).to_numpy()
    elif kind == "expect_column_values_to_be_unique":  # GX: among the values present
        failing[present] = values.duplicated(keep=False).to_numpy()
    elif kind == "expect_column_values_to_be_between":
        numbers = values.to_numpy(dtype="float64")
        failing[present] = (numbers < kw["min_value"]) | (numbers > kw["max_value"])
    else:  # expect_column_values_to_match_regex: GX matches str(value) anywhere in it
        pattern = re.compile(kw["regex"])
        failing[present] = [pattern.search(str(v)) is None for v in values.tolist()]
    return failing
