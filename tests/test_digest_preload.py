"""The digest's statistics read the messages its sections loaded (``preload_sections``): the
same statistics, the same digests, as reading the store for them, on SQLite and PostgreSQL; and
``prepare_digests`` reads the week's messages from the store only once."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from activity_data import TZ, load_into, write_bundle

from groupops.activity import stats as stats_module
from groupops.activity.stats import STATS_COLUMNS, ActivityStats, load_stats, load_window
from groupops.digest import build_digests, digest_period, prepare_digests
from groupops.digest.deliver import preload_sections, standard_providers
from groupops.mail import render_email
from groupops.policy import Policy

#: Mondays from before the data to after it (the bundle: 2026-10-19 … 2026-11-22), and a
#: mid-week instant; weeks and months.
AS_OFS = [datetime(2026, 10, 19, 9, tzinfo=TZ) + timedelta(days=7 * i) for i in range(7)] + [
    datetime(2026, 11, 19, 15, 30, tzinfo=TZ),
    datetime(2026, 12, 1, 0, 0, tzinfo=TZ),
]


@pytest.fixture
def store(engine: sa.Engine, tmp_path: Path) -> sa.Engine:
    load_into(engine, write_bundle(tmp_path / "bundle"))
    return engine


def _assert_same_stats(a: ActivityStats, b: ActivityStats) -> None:
    for f in fields(ActivityStats):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_exact=True, obj=f.name)
        else:
            assert x == y, f.name


@pytest.mark.parametrize("kind", ["week", "month"])
def test_stats_from_the_preload_equal_the_stores(store: sa.Engine, kind: Any) -> None:
    policy = Policy()
    covered = 0
    for as_of in AS_OFS:
        period = digest_period(kind, as_of, policy)
        loaded = preload_sections(store, as_of)
        since, until = load_window(period, policy)
        if loaded.covers(since.to_pydatetime(), until.to_pydatetime(), STATS_COLUMNS):
            covered += 1
        _assert_same_stats(
            load_stats(store, period, policy, loaded=loaded), load_stats(store, period, policy)
        )
    # every week's window lies inside the sections' look-back: the preload is what is read
    assert covered == len(AS_OFS) if kind == "week" else covered >= 1


def _rendered(digests: list[Any]) -> list[tuple[Any, ...]]:
    out = []
    for d in digests:
        email = render_email("digest", d.context, language=d.language, images=d.images)
        out.append((d.key, d.held, d.has_content, [r.address for r in d.recipients],
                    email.subject, email.text, email.html, dict(email.images)))  # fmt: skip
    return out


def test_digests_from_the_preload_equal_the_stores(store: sa.Engine) -> None:
    policy = Policy()
    for as_of in AS_OFS[4:]:
        loaded = preload_sections(store, as_of)
        ours = standard_providers(store, policy, as_of, loaded=loaded)
        theirs = standard_providers(store, policy, as_of)
        for kind in ("week", "month"):
            period = digest_period(kind, as_of, policy)
            a = build_digests(store, policy, period, providers=ours, as_of=as_of, loaded=loaded)
            b = build_digests(store, policy, period, providers=theirs, as_of=as_of)
            assert a, (as_of, kind)
            assert _rendered(a) == _rendered(b)


def test_prepare_digests_reads_the_weeks_messages_once(
    store: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from groupops.db import queries

    reads: list[tuple[datetime | None, datetime | None]] = []
    original = queries._sqlite_column_frames, queries._postgres_copy_frames

    def counting(index: int) -> Any:
        def read(conn: Any, table: Any, stmt: Any, columns: Any) -> Any:
            reads.append((stmt, columns))
            return original[index](conn, table, stmt, columns)

        return read

    monkeypatch.setattr(queries, "_sqlite_column_frames", counting(0))
    monkeypatch.setattr(queries, "_postgres_copy_frames", counting(1))
    seen: list[bool] = []
    load_messages = stats_module.load_messages

    def stats_read(*args: Any, **kwargs: Any) -> pd.DataFrame:
        seen.append(kwargs.get("loaded") is not None)
        return load_messages(*args, **kwargs)

    monkeypatch.setattr(stats_module, "load_messages", stats_read)
    as_of = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
    outcomes = prepare_digests(store, Policy(), kind="week", as_of=as_of,
                               outbox_dir=tmp_path / "outbox", sender="ops@example.com")  # fmt: skip
    assert [o.outcome for o in outcomes].count("queued") >= 1
    assert seen == [True]
    assert len(reads) == 1  # the sections' preload; the statistics read from it
