"""On the demo company, the deadline engine finds exactly what the generator planted
(``data/demo/planted.json``): the overdue items, the pending ones, and every task's deadline,
commitment and state at the planted ``as_of``. The bundle goes through the real ingest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli import app
from groupops.db import make_engine, upgrade
from groupops.deadlines.obligations import Obligations, to_records
from groupops.ingest import open_bundle, run_ingest
from groupops.policy import load_policy
from groupops.settings import get_settings
from groupops.watch import load_obligations

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
POLICY = load_policy(Path(__file__).resolve().parents[1] / "data" / "policy.toml")
PLANTED: dict[str, Any] = json.loads((DEMO / "planted.json").read_text(encoding="utf-8"))
AS_OF = datetime.fromisoformat(PLANTED["as_of"])
ITEM_FIELDS = ("kind", "platform", "group_id", "message_id", "assignee_id", "requester_id")


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'groupops.db'}"
    upgrade(url)
    engine = make_engine(url)
    summary = run_ingest(open_bundle(DEMO), engine, POLICY, now=AS_OF)
    engine.dispose()
    assert summary.total("quarantined") == 0
    return url


@pytest.fixture(scope="module")
def demo(demo_url: str) -> Iterator[Obligations]:
    engine: sa.Engine = make_engine(demo_url)
    yield load_obligations(
        engine, POLICY, AS_OF, lookback_days=None, meetings_dir=DEMO / "meetings"
    )
    engine.dispose()


def keyed(items: list[dict[str, Any]]) -> dict[tuple[str, ...], dict[str, Any]]:
    return {tuple(str(i[f]) for f in ITEM_FIELDS): i for i in items}


def same_instant(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    return datetime.fromisoformat(a) == datetime.fromisoformat(b)


@pytest.mark.parametrize("which", ["overdue", "pending"])
def test_items_are_exactly_the_planted_ones(demo: Obligations, which: str) -> None:
    frame = demo.overdue if which == "overdue" else demo.pending
    got = keyed(to_records(frame, POLICY.tz))
    expected = keyed(PLANTED[which])
    assert set(got) == set(expected)
    for key, item in expected.items():
        assert same_instant(got[key]["requested_at"], item["requested_at"]), key
        assert same_instant(got[key]["due_at"], item["due_at"]), key


def test_overdue_items_carry_their_escalation(demo: Obligations) -> None:
    # The generator plants overdue items at least a full working day (450 min) late.
    late = demo.overdue["overdue_working_minutes"]
    assert (late >= 450).all()
    owner_after = POLICY.tasks.owner_escalation_working_hours * 60
    expected = [2 if m >= owner_after else 1 for m in late]
    assert list(demo.overdue["escalation"]) == expected


TASK_FIELDS = [
    # (planted field, our field, only when our deadline came from)
    ("deadline", "deadline", "text"),
    ("default_deadline", "deadline", "default"),
    ("ack_due", "ack_due_at", None),
    ("ack_id", "ack_message_id", None),
    ("acked_at", "ack_at", None),
    ("committed_deadline", "committed_deadline", None),
    ("effective_deadline", "effective_deadline", None),
    ("done_id", "done_message_id", None),
    ("done_at", "done_at", None),
    ("state_at_as_of", "state", None),
    ("requester_id", "requester_id", None),
]


def test_tasks_match_deadlines_commitments_and_states(demo: Obligations) -> None:
    # Task messages here; meetings' action items (source "minutes") in test_demo_meetings.py.
    message_tasks = demo.tasks[demo.tasks["source"] == "message"]
    ours = {(t["message_id"], t["assignee_id"]): t for t in to_records(message_tasks, POLICY.tz)}
    assert set(ours) == {(t["message_id"], t["assignee_id"]) for t in PLANTED["tasks"]}
    mismatches = []
    for planted in PLANTED["tasks"]:
        mine = ours[(planted["message_id"], planted["assignee_id"])]
        for theirs, field, source in TASK_FIELDS:
            value = mine[field] if source in (None, mine["deadline_source"]) else None
            same = (
                same_instant(value, planted[theirs])
                if theirs.endswith(("deadline", "_due", "_at"))
                else value == planted[theirs]
            )
            if not same:
                mismatches.append((planted["message_id"], theirs, planted[theirs], value))
    assert mismatches == []
    assert {t["state_at_as_of"] for t in PLANTED["tasks"]} == set(message_tasks["state"])


def test_cli_overdue_lists_exactly_the_planted_items(
    demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", demo_url)
    monkeypatch.setenv("GROUPOPS_MEETINGS_DIR", str(DEMO / "meetings"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["overdue", "--as-of", PLANTED["as_of"], "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert set(keyed(json.loads(result.output))) == set(keyed(PLANTED["overdue"]))
