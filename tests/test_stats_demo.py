"""``groupops stats --json`` on the demo company against pandas on the bundle's own files and
what the generator planted (``data/demo/planted.json``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import app
from groupops.db import make_engine, upgrade
from groupops.ingest.bundle import open_bundle
from groupops.ingest.pipeline import run_ingest
from groupops.policy import Policy
from groupops.settings import get_settings

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
pytestmark = pytest.mark.skipif(not DEMO.exists(), reason="no demo bundle")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("demo-store")
    url = f"sqlite:///{folder / 'store.db'}"
    upgrade(url)
    engine = make_engine(url)
    run_ingest(
        open_bundle(DEMO), engine, Policy(), now=datetime.fromisoformat("2026-11-21T00:00:00+08:00")
    )
    engine.dispose()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GROUPOPS_DATABASE_URL", url)
        get_settings.cache_clear()
        planted = json.loads((DEMO / "planted.json").read_text(encoding="utf-8"))
        period = planted["period"]
        result = CliRunner().invoke(
            app, ["stats", "--since", period["since"], "--until", period["until"], "--json"]
        )
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    yield json.loads(result.output)


def _messages() -> pd.DataFrame:
    frame = pd.read_json(DEMO / "messages.jsonl", lines=True, dtype={"message_id": str})
    frame = frame[frame["kind"] != "system"]
    frame["local"] = pd.to_datetime(frame["sent_at"], utc=True, format="ISO8601").dt.tz_convert(
        "Asia/Shanghai"
    )
    return frame


def test_counts_match_pandas(report: dict) -> None:
    frame = _messages()
    per_member = frame.groupby(["group_id", "sender_id"]).agg(
        messages=("message_id", "size"), active_days=("local", lambda s: s.dt.date.nunique())
    )
    groups = {g["group_id"]: g for g in report["groups"]}
    assert sorted(groups) == sorted(frame["group_id"].unique())
    for gid, g in groups.items():
        assert g["messages"] == int((frame["group_id"] == gid).sum())
        for m in g["members"]:
            key = (gid, m["member_id"])
            expected = per_member.loc[key] if key in per_member.index else None
            assert m["messages"] == (0 if expected is None else int(expected["messages"]))
            assert m["active_days"] == (0 if expected is None else int(expected["active_days"]))


def test_planted_inactive_and_departed_members(report: dict) -> None:
    planted = json.loads((DEMO / "planted.json").read_text(encoding="utf-8"))
    inactive = {m for g in report["groups"] for m in g["inactive_members"]}
    assert inactive == set(planted["inactive_members"])
    departed = {(g["group_id"], m) for g in report["groups"] for m in g["departed_members"]}
    expected = {(r["group_id"], r["member_id"]) for r in planted["membership"]["left"]}
    expected |= {(r["group_id"], r["member_id"]) for r in planted["membership"]["removed"]}
    assert departed == expected
