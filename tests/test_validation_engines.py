"""The two engines that run the ingest validation suites give the same answer.

The suites are declared once (``groupops.ingest.expectations.suite``); the vectorised
evaluator (``groupops.ingest.checks``, the default) must flag exactly the rows Great
Expectations flags, expectation by expectation, and ``validate`` must return the same rows and
the same rejections with either engine. Frames are generated (hypothesis) with the values
that make each expectation fail: missing values, unknown kinds, instants out of range, keys
repeated or partly missing, unknown groups, odd emails."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groupops.canonical import FIELDS, MESSAGE_KINDS, Entity
from groupops.ingest.checks import unexpected_rows
from groupops.ingest.expectations import Bounds, _failing_with_gx, suite, valid_emails, validate
from groupops.ingest.normalise import group_key

BOUNDS = Bounds(1_000_000.0, 2_000_000.0)
GROUPS = frozenset({"wecom\x1fg1", "wecom\x1fg2"})

ids = st.one_of(st.none(), st.sampled_from(["g1", "g2", "g3", "u1", "m1", "m2", "wecom"]))
texts = st.one_of(st.none(), st.text(max_size=6))
emails = st.one_of(
    st.none(), st.sampled_from(["a@b.co", "a@b", "x y@z.cn", "@b.co", "名@例子.中国", ""])
)
instants = st.one_of(
    st.none(), st.sampled_from([999_999.0, 1_000_000.0, 1_500_000.0, 2_000_000.0, 2_000_001.0])
)
kinds = st.one_of(st.none(), st.sampled_from([*sorted(MESSAGE_KINDS), "sticker", "TEXT"]))


def _message() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "platform": st.one_of(st.none(), st.just("wecom")),
            "group_id": ids,
            "message_id": ids,
            "sender_id": ids,
            "_ts_ms": instants,
            "kind": kinds,
            "text": texts,
        }
    )


def _member() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "platform": st.one_of(st.none(), st.just("wecom")),
            "member_id": ids,
            "display_name": texts,
            "email": emails,
        }
    )


def _frame(entity: Entity, rows: list[dict[str, Any]]) -> pd.DataFrame:
    names = [f.name for f in FIELDS[entity]]
    frame = pd.DataFrame(rows).reindex(columns=[*names, "_ts_ms"]).astype(object)
    frame["_ts_ms"] = pd.to_numeric(frame["_ts_ms"]).astype("float64")
    if entity == "messages":
        frame["sent_at"] = frame["_ts_ms"]  # only its presence matters to the suite
        frame["_group_key"] = group_key(frame["platform"], frame["group_id"])
    frame["_source"] = "messages.jsonl"
    frame["_line"] = np.arange(1, len(frame) + 1)
    frame["_raw"] = "{}"
    return frame


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entity=st.sampled_from(["messages", "members"]),
    data=st.data(),
)
def test_both_engines_flag_the_same_rows(entity: Entity, data: st.DataObject) -> None:
    strategy = _message() if entity == "messages" else _member()
    frame = _frame(entity, data.draw(st.lists(strategy, min_size=1, max_size=12)))
    frame["_row"] = np.arange(len(frame))
    checks = suite(entity, BOUNDS, GROUPS, valid_emails(entity, frame))
    by_gx = _failing_with_gx(entity, frame, checks)
    for check, gx_mask in by_gx:
        ours = unexpected_rows(check.expectation, frame)
        assert ours.tolist() == gx_mask.tolist(), check.expectation
    frame = frame.drop(columns=["_row"])
    ours_rows, ours_rejected = validate(entity, frame, bounds=BOUNDS, known_groups=GROUPS)
    gx_rows, gx_rejected = validate(
        entity, frame, bounds=BOUNDS, known_groups=GROUPS, validator="great_expectations"
    )
    assert ours_rejected == gx_rejected
    pd.testing.assert_frame_equal(ours_rows, gx_rows)
