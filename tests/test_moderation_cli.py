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
