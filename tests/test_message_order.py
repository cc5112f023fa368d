"""Messages come back oldest first (``sent_at``, then ``message_id``) in exactly the order
pandas' stable sort of those columns gives: ``groupops.db.queries._ordered`` sorts with
Arrow when the columns convert (instants and text), and with pandas otherwise. Frames are
generated (hypothesis) with ties on both columns, missing values, message ids that differ
only beyond the BMP or by case, and the message id as Arrow-backed or Python text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from groupops.db.queries import _arrow_sort_keys, _ordered

BASE = datetime(2026, 11, 2, tzinfo=UTC)
instants = st.one_of(
    st.none(), st.integers(0, 5).map(lambda n: BASE + timedelta(microseconds=250 * n))
)
ids = st.one_of(
    st.none(), st.sampled_from(["m1", "m10", "m2", "M1", "", "中", "𠀀", "\uffff", "é"])
)
rows = st.lists(st.tuples(instants, ids), max_size=30)


def _frame(data: list[tuple[datetime | None, str | None]], dtype: str) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "sent_at": pd.to_datetime(pd.Series([r[0] for r in data], dtype=object), utc=True),
            "message_id": pd.Series([r[1] for r in data], dtype=dtype),
            "row": range(len(data)),  # tells a stable sort from another
        }
    )
    frame.index = pd.Index([3 * i + 1 for i in range(len(data))])  # the result's is fresh
    return frame


def _reference(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["sent_at", "message_id"], kind="stable", ignore_index=True)


@settings(max_examples=200, deadline=None)
@given(rows, st.sampled_from(["string[pyarrow]", "object", "string[python]"]))
def test_messages_are_ordered_as_pandas_stable_sort_orders_them(
    data: list[tuple[datetime | None, str | None]], dtype: str
) -> None:
    frame = _frame(data, dtype)
    if dtype != "object" or any(r[1] is not None for r in data):  # Arrow can type the ids
        assert _arrow_sort_keys(frame, ["sent_at", "message_id"]) is not None
    pd.testing.assert_frame_equal(_ordered(frame), _reference(frame))


def test_columns_arrow_cannot_compare_as_pandas_does_are_sorted_by_pandas() -> None:
    numbers = pd.DataFrame({"sent_at": [BASE, BASE], "message_id": [2, 1], "row": [0, 1]})
    naive = pd.DataFrame({"sent_at": [BASE.replace(tzinfo=None)] * 2, "message_id": ["b", "a"]})
    for frame in (numbers, naive):
        assert _arrow_sort_keys(frame, ["sent_at", "message_id"]) is None
        pd.testing.assert_frame_equal(_ordered(frame), _reference(frame))
