"""``text_matches``: the marker test searched once per distinct text gives exactly pandas'
``Series.str.contains(regex, regex=True)`` (hypothesis), for the store's ``str`` columns with
missing texts and for object columns; ``contains_marker`` as before."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from groupops.activity.answers import contains_marker, marker_regex, text_matches
from groupops.policy import Policy

POLICY = Policy()
WORDS = [
    *POLICY.meetings.notice_markers,
    *POLICY.meetings.minutes_markers,
    *POLICY.meetings.leave_markers,
    *POLICY.tasks.markers,
    "ok",
    "Done",
]
PIECES = [*WORDS, "OK", "MEETING NOTICE", "book", "ok2", "_ok", "好的", " ", "\n", "K", "ſ", "İ"]
texts = st.lists(st.sampled_from(PIECES), max_size=4).map("".join) | st.text(max_size=8)
columns = st.lists(st.none() | texts, max_size=40)
word_sets = st.lists(st.sampled_from(WORDS), min_size=1, max_size=5)


def _old_contains_marker(text: pd.Series, words: list[str]) -> pd.Series:
    return text.fillna("").astype(str).str.contains(marker_regex(words), regex=True)


@settings(max_examples=300, deadline=None)
@given(values=columns, words=word_sets)
def test_same_as_str_contains_on_the_stores_str_columns(
    values: list[str | None], words: list[str]
) -> None:
    column = pd.Series(values, dtype="str", index=range(5, 5 + len(values)), name="text")
    regex = marker_regex(words)
    pd.testing.assert_series_equal(
        text_matches(column, regex), column.str.contains(regex, regex=True)
    )
    pd.testing.assert_series_equal(
        contains_marker(column, words), _old_contains_marker(column, words)
    )


@settings(max_examples=200, deadline=None)
@given(values=st.lists(texts, max_size=40), words=word_sets)
def test_same_as_str_contains_on_object_columns(values: list[str], words: list[str]) -> None:
    column = pd.Series(values, dtype=object)
    regex = marker_regex(words)
    expected = column.str.contains(regex, regex=True).astype(bool) if values else None
    got = text_matches(column, regex)
    assert got.dtype == bool and got.index.equals(column.index)
    if expected is not None:
        assert got.tolist() == expected.tolist()
    pd.testing.assert_series_equal(
        contains_marker(column, words).astype(bool),
        _old_contains_marker(column, words).astype(bool),
    )


def test_repeated_texts_and_missing_ones() -> None:
    column = pd.Series(
        ["会议通知 周一", None, "会议通知 周一", "", "meeting notice", "x"], dtype="str"
    )
    regex = marker_regex(POLICY.meetings.notice_markers)
    assert text_matches(column, regex).tolist() == [True, False, True, False, True, False]


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(st.none() | st.sampled_from(["u1", "u2", "U1", "u10", "成员", ""]), max_size=30)
)
def test_first_seen_is_dict_fromkeys(values: list[str | None]) -> None:
    from groupops.meetings.meetings import first_seen

    for dtype in ("str", object):
        column = pd.Series(values, dtype=dtype)
        got, expected = first_seen(column), list(dict.fromkeys(column))
        assert len(got) == len(expected)
        assert all(
            a == b or (pd.isna(a) and pd.isna(b)) for a, b in zip(got, expected, strict=True)
        )
