"""The statistics report groups the ``daily`` and ``heatmap`` rows per member by slicing each
member's run of rows out of one list when the runs are contiguous
(``groupops.activity.stats._grouped_rows``): the same mapping, key order and row order as the
row-by-row walk it replaced (kept below as the reference), for any frame (hypothesis: sorted,
shuffled and repeated keys, missing keys, Arrow and Python text)."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from groupops.activity.stats import MEMBER_KEYS, _grouped_rows


def reference(
    frame: pd.DataFrame, columns: list[str]
) -> dict[tuple[object, ...], list[tuple[object, ...]]]:
    out: dict[tuple[object, ...], list[tuple[object, ...]]] = {}
    keys = zip(*(frame[k].tolist() for k in MEMBER_KEYS), strict=True)
    values = zip(*(frame[c].tolist() for c in columns), strict=True)
    for key, value in zip(keys, values, strict=True):
        out.setdefault(key, []).append(value)
    return out


key = st.tuples(
    st.sampled_from(["wecom", "feishu"]),
    st.sampled_from(["g1", "g2", "群"]),
    st.one_of(st.sampled_from(["u1", "u2", "u10", "", "用户"]), st.none()),
)
row = st.tuples(key, st.integers(0, 6), st.integers(0, 23), st.integers(1, 9))


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(row, max_size=30),
    order=st.sampled_from(["as drawn", "sorted", "runs"]),
    dtype=st.sampled_from(["str", "object"]),
)
def test_grouped_rows_are_the_row_walks(
    rows: list[tuple[tuple[str, str, str | None], int, int, int]], order: str, dtype: str
) -> None:
    if order == "sorted":
        rows = sorted(rows, key=lambda r: (tuple(k or "" for k in r[0]), r[1:]))
    elif order == "runs":  # each key's rows together, keys in order of first appearance
        firsts = list(dict.fromkeys(r[0] for r in rows))
        rows = [r for k in firsts for r in rows if r[0] == k]
    frame = pd.DataFrame(
        {
            **{
                name: pd.Series([r[0][i] for r in rows], dtype=dtype)
                for i, name in enumerate(MEMBER_KEYS)
            },
            "weekday": pd.Series([r[1] for r in rows], dtype="int64"),
            "hour": pd.Series([r[2] for r in rows], dtype="int64"),
            "messages": pd.Series([r[3] for r in rows], dtype="int64"),
        }
    )
    for columns in (["weekday", "hour", "messages"], ["messages"]):
        got, want = _grouped_rows(frame, columns), reference(frame, columns)
        assert list(got.items()) == list(want.items())
