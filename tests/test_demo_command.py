"""``groupops demo`` (what ``make demo`` runs): every stage on the demo company, into a fresh
store, at the demo's own as_of; the caller's settings are left as they were."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli import app
from groupops.db import make_engine


@pytest.mark.usefixtures("prefect")
def test_demo_runs_every_stage_into_a_fresh_store(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    (out / "stale").mkdir(parents=True)  # a previous demo's leftovers are removed
    before = os.environ.get("GROUPOPS_DATABASE_URL")

    result = CliRunner().invoke(app, ["demo", "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert os.environ.get("GROUPOPS_DATABASE_URL") == before
    assert not (out / "stale").exists()
    text = " ".join(result.output.split())
    assert "every record loaded" in text
    planted = json.loads(Path("data/demo/planted.json").read_text(encoding="utf-8"))
    assert f"{len(planted['overdue'])} overdue" in text
    assert f"{len(planted['meetings'])} meetings" in text
    # The moderation stage decides every planted violation, and the non-response violations the
    # deadline watcher recorded just before it (they enter the same ladder).
    decided = re.search(r"(\d+) decided", text)
    assert decided and int(decided.group(1)) >= len(planted["violations"]["decided"])
    engine = make_engine(f"sqlite:///{out / 'groupops.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from messages")).scalar_one() == len(
            Path("data/demo/messages.jsonl").read_text(encoding="utf-8").splitlines()
        )
    engine.dispose()
    assert list((out / "outbox").glob("*.eml"))
