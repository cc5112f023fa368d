"""The moderation commands end to end on a small store (SQLite): moderate, violations [record],
appeals [file|decide], with their JSON fields as the issue names them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli import app
from groupops.db import make_engine, upgrade
from groupops.moderation.actions import load_actions
from groupops.settings import get_settings
from tests.test_moderation_run import LADDER, at, seed

RUNNER = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sa.Engine]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    engine = make_engine(url)
    seed(engine, LADDER)
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", url)
    monkeypatch.setenv("GROUPOPS_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("GROUPOPS_SOURCES_PATH", str(tmp_path / "none.toml"))
    get_settings.cache_clear()
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def cli(*args: str, code: int = 0) -> object:
    result = RUNNER.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if code == 0 and "--json" in args else result.output


VIOLATION_FIELDS = {"violation_id", "group_id", "member_id", "category", "rule", "message_ids",
                    "at", "decided_at", "source", "penalty", "mute_until", "state"}  # fmt: skip
APPEAL_FIELDS = {"appeal_id", "violation_id", "group_id", "member_id", "filed_at",
                 "appeal_deadline", "answer_due_at", "state", "overdue_working_minutes"}  # fmt: skip


def test_moderate_violations_and_appeals(store: sa.Engine) -> None:
    dry = cli("moderate", "--as-of", at(18, 11).isoformat(), "--local", "--dry-run", "--json")
    assert [d["penalty"] for d in dry["decisions"]] == ["warning", "mute", "removal"]
    assert cli("violations", "--json") == []

    cli("violations", "record", "--group", "g", "--member", "y", "--category", "rumour",
        "--at", "2026-11-17T09:00", "--by", "adm", "--note", "造谣", "--json")  # fmt: skip
    first = cli("moderate", "--as-of", at(18, 11).isoformat(), "--local", "--json")
    assert len(first["decisions"]) == 4
    rows = cli("violations", "--as-of", at(18, 12).isoformat(), "--json")
    assert all(set(r) >= VIOLATION_FIELDS for r in rows)
    by_member = {(r["member_id"], r["penalty"]): r for r in rows}
    admin = by_member[("y", "warning")]
    assert (admin["source"], admin["rule"], admin["category"]) == ("admin", "admin", "rumour")
    mute = by_member[("x", "mute")]
    assert mute["mute_until"] == at(19, 11).isoformat()

    filed = cli("appeals", "file", str(mute["violation_id"]), "--at", "2026-11-19T10:00",
                "--reason", "误判", "--json")  # fmt: skip
    listed = cli("appeals", "--as-of", "2026-11-25T10:00", "--json")
    (row,) = listed
    assert set(row) >= APPEAL_FIELDS
    # filed Thu 11-19: the answer is due at the end of the third working day after (Fri 20,
    # Mon 23, Tue 24)
    assert (row["answer_due_at"], row["state"]) == ("2026-11-24T18:00:00+08:00", "answer_overdue")
    assert row["overdue_working_minutes"] == 60  # 09:00-10:00 on Wed 11-25
    decided = cli("appeals", "decide", str(filed["appeal_id"]), "--uphold",
                  "--at", "2026-11-20T10:00", "--by", "adm", "--json")  # fmt: skip
    assert decided["state"] == "upheld"
    assert [(r["from"], r["to"]) for r in decided["recounted"]] == [("removal", "mute")]
    late = cli("appeals", "file", str(by_member[("x", "warning")]["violation_id"]),
               "--at", "2026-12-01T10:00", "--json")  # fmt: skip
    assert late["state"] == "late"


def test_bad_input_is_refused_with_a_reason(store: sa.Engine) -> None:
    out = cli("violations", "record", "--group", "g", "--member", "y", "--category", "spam",
              "--at", "2026-11-17T09:00", "--by", "adm", code=2)  # fmt: skip
    assert "unknown category" in str(out)
    out = cli("appeals", "file", "999", "--at", "2026-11-19T10:00", code=1)
    assert "no violation 999" in str(out)
    out = cli("appeals", "decide", "1", "--at", "2026-11-19T10:00", "--by", "adm", code=2)
    assert "exactly one of --uphold or --reject" in str(out)


TODO_FIELDS = {"todo_id", "violation_id", "group_id", "member_id", "action", "due_at", "state",
               "failed", "done_at", "done_by", "note", "resolved_by"}  # fmt: skip


def test_admin_todos_are_listed_marked_done_and_resolve_themselves(store: sa.Engine) -> None:
    decided = at(18, 11).isoformat()
    cli("moderate", "--as-of", decided, "--local", "--json")
    assert cli("todos", "--as-of", at(18, 10).isoformat(), "--json") == []  # not due yet
    todos = cli("todos", "--as-of", at(18, 12).isoformat(), "--json")
    assert all(set(t) >= TODO_FIELDS for t in todos)
    assert [(t["action"], t["member_id"], t["state"], t["due_at"]) for t in todos] == [
        ("mute", "x", "open", decided), ("remove", "x", "open", decided),
    ]  # fmt: skip
    mute, remove = (t["todo_id"] for t in todos)

    done = cli("todos", "done", str(remove), "--at", "2026-11-18T14:00", "--by", "adm",
               "--note", "已移出", "--json")  # fmt: skip
    assert [(d["todo_id"], d["state"], d["done_by"], d["note"], d["changed"]) for d in done] == [
        (remove, "done", "adm", "已移出", True)
    ]
    assert done[0]["done_at"] == at(18, 14).isoformat()
    again = cli("todos", "done", str(remove), "--at", "2026-11-18T15:00", "--by", "boss", "--json")
    assert (again[0]["changed"], again[0]["done_by"], again[0]["done_at"]) == (
        False, "adm", at(18, 14).isoformat(),
    )  # fmt: skip
    # as it stood: before 14:00 both were open, after it only the mute
    assert len(cli("todos", "--as-of", at(18, 13).isoformat(), "--json")) == 2
    open_now = cli("todos", "--as-of", at(18, 15).isoformat(), "--json")
    assert [t["todo_id"] for t in open_now] == [mute]
    everything = cli("todos", "--as-of", at(18, 15).isoformat(), "--all", "--json")
    assert [(t["todo_id"], t["state"]) for t in everything] == [(mute, "open"), (remove, "done")]

    # the mute (1440 minutes) ends at 11-19 11:00: its to-do resolves itself; the next run
    # leaves an unmute to-do
    later = at(19, 12).isoformat()
    cli("moderate", "--as-of", later, "--local", "--json")
    rows = cli("todos", "--as-of", later, "--all", "--json")
    assert [(t["action"], t["state"], t["resolved_by"]) for t in rows] == [
        ("mute", "resolved", "mute_ended"), ("remove", "done", None), ("unmute", "open", None),
    ]  # fmt: skip

    # what is not an admin's to-do, or not yet due, is refused with the reason
    notices = [a for a in load_actions(store) if a.action == "notice"]
    out = cli("todos", "done", str(notices[0].id), "--by", "adm", code=1)
    assert "not an admin's to-do" in str(out)
    out = cli("todos", "done", str(rows[-1]["todo_id"]), "--at", "2026-11-18T09:00", "--by",
              "adm", code=1)  # fmt: skip
    assert "due from" in str(out)
    assert "no to-do 999999" in str(cli("todos", "done", "999999", "--by", "adm", code=1))


def test_moderate_since_catches_up_one_run_per_working_day(store: sa.Engine) -> None:
    from flows.moderate import ModerationRun
    from groupops.moderation.run import merge_results

    caught = cli("moderate", "--since", "2026-11-16T09:00", "--as-of", at(18, 11).isoformat(),
                 "--local", "--json")  # fmt: skip
    assert caught["runs"] == [at(16, 18).isoformat(), at(17, 18).isoformat(),
                              at(18, 11).isoformat()]  # fmt: skip
    assert caught["as_of"] == at(18, 11).isoformat()
    rows = cli("violations", "--as-of", at(18, 12).isoformat(), "--json")
    assert [(r["message_ids"], r["penalty"], r["decided_at"]) for r in rows] == [
        (["m1"], "warning", at(16, 18).isoformat()),
        (["m2"], "mute", at(17, 18).isoformat()),
        (["m3"], "removal", at(18, 11).isoformat()),
    ]
    assert [d["message_ids"] for d in caught["decisions"]] == [["m1"], ["m2"], ["m3"]]
    # the mute decided on the 17th ended on the 18th at 18:00: not yet at 11:00
    assert rows[1]["mute_until"] == at(18, 18).isoformat()
    again = cli("moderate", "--since", "2026-11-16T09:00", "--as-of", at(18, 11).isoformat(),
                "--local", "--json")  # fmt: skip
    assert (again["decisions"], again["notices"], again["actions"]) == ([], [], [])
    out = cli("moderate", "--since", "2026-11-19", "--as-of", at(18, 11).isoformat(), "--local",
              code=2)  # fmt: skip
    assert "--since is after --as-of" in str(out)
    # the flow's report merges the same way (groupops demo --prefect)
    merged = ModerationRun.model_validate(merge_results([caught, again]))
    assert len(merged.runs) == 2 and len(merged.decisions) == 3
