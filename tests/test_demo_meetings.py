"""On the demo company, ``groupops meetings --json`` gives exactly the meetings the generator
planted (``planted.json`` → ``meetings``): notices and changes, cancellations, leave before and
after the start, minutes published, late or missing, and every action item with its deadline
and state at ``as_of``; and the action items are tasks of ``groupops tasks``."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import app
from groupops.db import make_engine, upgrade
from groupops.ingest import open_bundle, run_ingest
from groupops.policy import load_policy
from groupops.settings import get_settings

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
POLICY = load_policy(Path(__file__).resolve().parents[1] / "data" / "policy.toml")
PLANTED: dict[str, Any] = json.loads((DEMO / "planted.json").read_text(encoding="utf-8"))
AS_OF = datetime.fromisoformat(PLANTED["as_of"])
SAME = (
    "meeting_id", "group_id", "topic", "place", "organizer_id", "on_leave", "late_leave",
    "state", "sequence", "minutes_message_id", "minutes_state", "notice_message_ids",
)  # fmt: skip
INSTANTS = ("start", "end", "minutes_due_at")


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'groupops.db'}"
    upgrade(url)
    engine = make_engine(url)
    summary = run_ingest(open_bundle(DEMO), engine, POLICY, now=AS_OF)
    engine.dispose()
    assert summary.total("quarantined") == 0
    return url


def _cli(demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", demo_url)
    monkeypatch.setenv("GROUPOPS_MEETINGS_DIR", str(DEMO / "meetings"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, [*args, "--as-of", PLANTED["as_of"], "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def test_meetings_are_exactly_the_planted_ones(
    demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = {m["meeting_id"]: m for m in _cli(demo_url, tmp_path, monkeypatch, "meetings")}
    planted = {m["meeting_id"]: m for m in PLANTED["meetings"]}
    assert set(ours) == set(planted)
    mismatches = []
    for mid, want in planted.items():
        got = ours[mid]
        if got["notice_message_id"] != want["notice_id"]:
            mismatches.append((mid, "notice", want["notice_id"], got["notice_message_id"]))
        for key in SAME:
            if got[key] != want[key]:
                mismatches.append((mid, key, want[key], got[key]))
        for key in INSTANTS:
            if _instant(got[key]) != _instant(want[key]):
                mismatches.append((mid, key, want[key], got[key]))
        if sorted(got["attendees"]) != want["attendees"]:
            mismatches.append((mid, "attendees", want["attendees"], got["attendees"]))
        if got["leave_message_ids"] != [x["message_id"] for x in want["leaves"]] + [
            x
            for x in got["leave_message_ids"]
            if x not in {y["message_id"] for y in want["leaves"]}
        ]:
            mismatches.append((mid, "leaves", want["leaves"], got["leave_message_ids"]))
        items = [
            (a["task_id"], a["assignee_id"], a["text"], _instant(a["due_at"]), a["state"])
            for a in got["action_items"]
        ]
        expected = [
            (a["task_id"], a["assignee_id"], a["text"], _instant(a["due_at"]), a["state"])
            for a in want["action_items"]
        ]
        if items != expected:
            mismatches.append((mid, "action_items", expected, items))
        assert got["attendance"] == "unknown"
    assert mismatches == []
    # The plan covers every state.
    assert {m["state"] for m in planted.values()} == {"held", "cancelled", "scheduled"}
    assert {m["minutes_state"] for m in planted.values()} == {
        "published", "late", "missing", "not_due",
    }  # fmt: skip
    items = [a for m in planted.values() for a in m["action_items"]]
    assert {a["state"] for a in items} == {"done", "overdue", "open"}


def test_action_items_are_tasks_of_the_deadline_watcher(
    demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = _cli(demo_url, tmp_path, monkeypatch, "tasks")
    ours = {(t["message_id"], t["assignee_id"]): t for t in tasks if t["source"] == "minutes"}
    items = [a for m in PLANTED["meetings"] for a in m["action_items"]]
    assert set(ours) == {(a["task_id"], a["assignee_id"]) for a in items}
    for a in items:
        task = ours[(a["task_id"], a["assignee_id"])]
        assert task["state"] == a["state"]
        assert _instant(task["effective_deadline"]) == _instant(a["due_at"])
    # Missing minutes are on the escalation ladder with the overdue tasks.
    overdue = _cli(demo_url, tmp_path, monkeypatch, "overdue")
    missing = [m["meeting_id"] for m in PLANTED["meetings"] if m["minutes_state"] == "missing"]
    assert missing and {o["message_id"] for o in overdue if o["kind"] == "minutes"} == set(missing)
