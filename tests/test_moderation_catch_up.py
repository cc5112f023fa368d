"""A moderation catch-up reads the messages once (``catch_up_messages``) for all its runs:

- a read from the loaded messages is exactly what ``load_messages`` returns from the store,
  for any span inside them (bounds on a message's own instant included), any groups and any
  columns the runs read (with ``sent_at`` and ``message_id``, which order them);
- caught up over the demo's weeks with the messages loaded once or read by each run, the
  store ends with the same violations, decisions, appeals, actions and emails, and each run
  reported the same."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from groupops.clock.timeparse import parse_instant
from groupops.db import make_engine
from groupops.db.queries import load_messages
from groupops.db.schema import upgrade
from groupops.ingest.bundle import open_bundle
from groupops.ingest.pipeline import run_ingest
from groupops.moderation.run import (
    RUN_COLUMNS,
    catch_up_instants,
    catch_up_messages,
    lookback_start,
    moderate,
)
from groupops.policy import Policy, load_policy

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
PLANTED = pd.read_json(DEMO / "planted.json", typ="series")
NOW = datetime(2026, 11, 21, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def _store(root: Path, policy: Policy) -> sa.Engine:
    url = f"sqlite:///{root / 'store.db'}"
    upgrade(url)
    engine = make_engine(url)
    run_ingest(open_bundle(DEMO), engine, policy, now=NOW)
    return engine


@pytest.fixture
def demo_engine(engine: sa.Engine, policy: Policy) -> sa.Engine:
    """The demo bundle ingested into a fresh store (SQLite and PostgreSQL)."""
    run_ingest(open_bundle(DEMO), engine, policy, now=NOW)
    return engine


def _instants(policy: Policy) -> list[datetime]:
    as_of = parse_instant(str(PLANTED["as_of"]), policy.tz)
    since = parse_instant(str(PLANTED["period"]["since"]), policy.tz)
    return catch_up_instants(policy, since, as_of)


def test_reads_from_the_loaded_messages_equal_reads_from_the_store(
    demo_engine: sa.Engine, policy: Policy
) -> None:
    instants = _instants(policy)
    loaded = catch_up_messages(demo_engine, policy, instants)
    assert len(loaded.frame) > 1000  # the demo's weeks: not vacuous
    stamps = sorted(set(loaded.frame["sent_at"].tolist()))
    groups = sorted(set(loaded.frame["group_id"]))
    rnd = random.Random(15)
    spans = [(lookback_start(policy, at), at + timedelta(microseconds=1)) for at in instants]
    for _ in range(60):  # bounds exactly on messages' instants, and just beside them
        a, b = sorted(rnd.sample(stamps, 2))
        nudge = timedelta(microseconds=rnd.choice([-1, 0, 1]))
        spans.append((max(a.to_pydatetime() + nudge, loaded.since), b.to_pydatetime()))
    spans.append((loaded.since, loaded.since))  # empty
    for since, until in spans:
        chosen = rnd.choice([None, [], rnd.sample(groups, rnd.randint(1, len(groups)))])
        others = [c for c in RUN_COLUMNS if c not in ("sent_at", "message_id")]
        columns = ["sent_at", "message_id", *rnd.sample(others, rnd.randint(0, len(others)))]
        rnd.shuffle(columns)
        assert loaded.covers(since, until, columns)
        fast = load_messages(
            demo_engine, since=since, until=until, groups=chosen, columns=columns, loaded=loaded
        )
        plain = load_messages(demo_engine, since=since, until=until, groups=chosen, columns=columns)
        pd.testing.assert_frame_equal(fast, plain, check_exact=True)


def test_a_span_outside_the_loaded_one_is_read_from_the_store(
    demo_engine: sa.Engine, policy: Policy
) -> None:
    instants = _instants(policy)
    loaded = catch_up_messages(demo_engine, policy, instants[2:])
    earlier = lookback_start(policy, instants[0])
    assert not loaded.covers(earlier, instants[-1], ["text"])
    assert not loaded.covers(None, instants[-1], ["text"])
    assert not loaded.covers(loaded.since, loaded.until, ["sent_at", "message_id", "pinned"])
    assert not loaded.covers(loaded.since, loaded.until, ["text"])  # its order is not theirs
    assert loaded.covers(loaded.since, loaded.until, ["message_id", "sent_at"])
    fast = load_messages(demo_engine, since=earlier, until=instants[-1], loaded=loaded,
                         columns=["message_id", "sent_at"])  # fmt: skip
    plain = load_messages(demo_engine, since=earlier, until=instants[-1],
                          columns=["message_id", "sent_at"])  # fmt: skip
    pd.testing.assert_frame_equal(fast, plain, check_exact=True)


_SKIP = {"id", "created_at", "updated_at"}


def _tables(engine: sa.Engine, root: Path) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    names = ["violations", "appeals", "moderation_actions", "outbox"]
    with engine.connect() as conn:
        for name in names:
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            cols = [c for c in table.c if c.name not in _SKIP]
            rows = conn.execute(sa.select(*cols).order_by(*cols)).all()
            out[name] = [
                tuple(str(v).replace(str(root), "ROOT") if isinstance(v, str) else v for v in r)
                for r in rows
            ]
    return out


def test_a_catch_up_over_loaded_messages_stores_what_reading_per_run_stores(
    tmp_path: Path, policy: Policy
) -> None:
    instants = _instants(policy)
    assert len(instants) > 10
    results, tables = [], []
    for way in ("per-run", "loaded"):
        root = tmp_path / way
        root.mkdir()
        engine = _store(root, policy)
        loaded = catch_up_messages(engine, policy, instants) if way == "loaded" else None
        runs = [
            moderate(engine, policy, at, now=NOW, sender="groupops@localhost",
                     outbox_dir=root / "outbox", loaded=loaded).as_dict()
            for at in instants
        ]  # fmt: skip
        if loaded is not None:  # every run's detection read the loaded messages
            assert all(
                loaded.covers(lookback_start(policy, at), at + timedelta(microseconds=1),
                              RUN_COLUMNS)
                for at in instants
            )  # fmt: skip
        results.append(runs)
        tables.append(_tables(engine, root))
        engine.dispose()
    assert results[0] == results[1]
    assert tables[0] == tables[1]
    assert tables[0]["violations"] and tables[0]["appeals"] and tables[0]["outbox"]


def test_the_digests_overdue_and_meetings_read_their_window_once_and_find_the_same(
    demo_engine: sa.Engine, policy: Policy
) -> None:
    """``standard_providers`` reads the messages of the deadline lookback once for the
    obligations and the meetings (both read that window): the same obligations and meeting
    records as each reading it from the store."""
    from groupops.db.queries import MESSAGE_COLUMNS, preload_messages
    from groupops.deadlines import DEFAULT_LOOKBACK_DAYS
    from groupops.meetings.store import load_meetings
    from groupops.watch import load_obligations

    as_of = _instants(policy)[-1]
    since, until = as_of - timedelta(days=DEFAULT_LOOKBACK_DAYS), as_of + timedelta(microseconds=1)
    loaded = preload_messages(demo_engine, since=since, until=until, columns=MESSAGE_COLUMNS)
    assert loaded.covers(since, until, MESSAGE_COLUMNS)
    folder = DEMO / "meetings"
    fast = load_obligations(demo_engine, policy, as_of, meetings_dir=folder, loaded=loaded)
    plain = load_obligations(demo_engine, policy, as_of, meetings_dir=folder)
    for name in ("items", "overdue", "tasks", "violations"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(plain, name), check_exact=True)
    assert len(plain.overdue) and len(plain.tasks)
    view = load_meetings(demo_engine, policy, as_of, meetings_dir=folder, loaded=loaded)
    again = load_meetings(demo_engine, policy, as_of, meetings_dir=folder)
    assert view.records == again.records and view.records
    assert view.found.meetings == again.found.meetings


def test_a_long_catch_up_loads_at_most_two_ladder_windows_at_a_time(policy: Policy) -> None:
    """Over a long history the catch-up's runs are cut into batches (each loading its
    messages once) that together read at most two ladder windows: all instants, in order."""
    from groupops.moderation.run import catch_up_batches

    window = timedelta(days=policy.moderation.ladder_window_days)
    start = datetime(2025, 1, 6, 10, tzinfo=UTC)
    instants = catch_up_instants(policy, start, start + timedelta(days=400))
    batches = catch_up_batches(policy, instants)
    assert [at for batch in batches for at in batch] == instants
    assert len(batches) > 2
    for batch in batches:
        assert max(batch) - lookback_start(policy, min(batch)) <= 2 * window
    for before, after in itertools.pairwise(batches):
        assert after[0] - before[0] > window  # no batch cut shorter than it needs to be
    assert catch_up_batches(policy, _instants(policy)) == [_instants(policy)]  # the demo's
