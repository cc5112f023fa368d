"""Stored pull watermarks on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from groupops.connectors.base import Watermark
from groupops.connectors.watermarks import list_watermarks, load_watermark, save_watermark

SHANGHAI = timezone(timedelta(hours=8))
PULLED = datetime(2026, 11, 24, 20, 15, tzinfo=SHANGHAI)


def test_roundtrip_and_replace(engine: sa.Engine) -> None:
    assert load_watermark(engine, "feishu-main", "oc_1") is None
    first = Watermark("om_9", datetime(2026, 11, 24, 9, 30, 0, 123000, tzinfo=SHANGHAI))
    save_watermark(
        engine, source="feishu-main", platform="feishu", group_id="oc_1", watermark=first,
        pulled_at=PULLED, messages=12, ingest_run_id=3,
    )  # fmt: skip
    got = load_watermark(engine, "feishu-main", "oc_1")
    assert got == first and got is not None and got.at is not None and got.at.tzinfo is not None
    second = Watermark("s72_1234_5", None)
    save_watermark(
        engine, source="feishu-main", platform="feishu", group_id="oc_1", watermark=second,
        pulled_at=PULLED + timedelta(minutes=15),
    )  # fmt: skip
    save_watermark(
        engine,
        source="other",
        platform="matrix",
        group_id="oc_1",
        watermark=first,
        pulled_at=PULLED,
    )
    assert load_watermark(engine, "feishu-main", "oc_1") == second
    stored = list_watermarks(engine)
    assert [(s.source, s.group_id, s.watermark) for s in stored] == [
        ("feishu-main", "oc_1", second),
        ("other", "oc_1", first),
    ]
    assert stored[0].pulled_at == (PULLED + timedelta(minutes=15)).astimezone(UTC)


def test_naive_pulled_at_is_refused(engine: sa.Engine) -> None:
    with pytest.raises(ValueError, match="aware"):
        save_watermark(
            engine, source="s", platform="slack", group_id="C1", watermark=Watermark("1.0"),
            pulled_at=datetime(2026, 1, 1),  # noqa: DTZ001 - naive on purpose: the test checks it is refused
        )  # fmt: skip


def test_runs_saving_one_group_at_once_all_succeed(db_url: str) -> None:
    """Two pulls of the same group without the group's tag limit (a manual pull beside the
    schedule) once failed with a duplicate key here: the save is one upsert now."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from groupops.db import make_engine

    marks = [Watermark(f"om_{i}", PULLED + timedelta(minutes=i)) for i in range(6)]
    start = threading.Barrier(len(marks))

    def save(mark: Watermark) -> None:
        engine = make_engine(db_url)  # one process each, as two runs would be
        try:
            start.wait()
            save_watermark(
                engine, source="feishu-main", platform="feishu", group_id="oc_1",
                watermark=mark, pulled_at=PULLED,
            )  # fmt: skip
        finally:
            engine.dispose()

    with ThreadPoolExecutor(len(marks)) as pool:
        list(pool.map(save, marks))  # re-raises a failed save
    engine = make_engine(db_url)
    try:
        stored = list_watermarks(engine)
    finally:
        engine.dispose()
    assert len(stored) == 1 and stored[0].watermark in marks
