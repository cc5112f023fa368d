"""``groupops stats --json`` on an ingested store against an independent pandas computation
from the bundle's own rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from activity_data import TZ, load_into, messages, write_bundle
from typer.testing import CliRunner

from cli import app
from groupops.settings import get_settings


@pytest.fixture
def cli_env(
    engine: sa.Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    load_into(engine, write_bundle(tmp_path / "bundle"))
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", db_url)
    monkeypatch.setenv("GROUPOPS_OUTBOX_DIR", str(tmp_path / "outbox"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_stats_json_matches_pandas(cli_env: None) -> None:
    result = CliRunner().invoke(
        app, ["stats", "--since", "2026-11-16", "--until", "2026-11-23", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["period"]["since"] == "2026-11-16T00:00:00+08:00"
    assert report["period"]["until"] == "2026-11-23T00:00:00+08:00"

    raw = pd.DataFrame(messages())
    raw["local"] = pd.to_datetime(raw["sent_at"], utc=True).dt.tz_convert(TZ)
    week = raw[(raw["local"] >= pd.Timestamp("2026-11-16", tz=TZ))
               & (raw["local"] < pd.Timestamp("2026-11-23", tz=TZ))]  # fmt: skip
    expected = week.groupby(["group_id", "sender_id"]).agg(
        messages=("message_id", "size"),
        active_days=("local", lambda s: s.dt.date.nunique()),
        first_at=("local", "min"),
        last_at=("local", "max"),
    )
    groups = {g["group_id"]: g for g in report["groups"]}
    assert sorted(groups) == ["mkt", "prod", "proj"]
    for gid, g in groups.items():
        assert g["messages"] == int((week["group_id"] == gid).sum())
        assert g["active_members"] == week.loc[week["group_id"] == gid, "sender_id"].nunique()
        per_day = (
            week[week["group_id"] == gid].groupby(week["local"].dt.strftime("%Y-%m-%d")).size()
        )
        assert {d: n for d, n in g["messages_per_day"].items() if n} == per_day.to_dict()
        assert sum(map(sum, g["heatmap"])) == g["messages"]
        for m in g["members"]:
            key = (gid, m["member_id"])
            if key not in expected.index:
                assert m["messages"] == 0 and m["first_at"] is None
                continue
            row = expected.loc[key]
            assert m["messages"] == row["messages"]
            assert m["active_days"] == row["active_days"]
            assert m["first_at"] == row["first_at"].isoformat()
            assert m["last_at"] == row["last_at"].isoformat()
            assert m["share"] == pytest.approx(row["messages"] / g["messages"])
    roster = {"proj": 7, "mkt": 4, "prod": 4}  # founders, + u11 in proj, - u12 in mkt
    assert {gid: g["member_count"] for gid, g in groups.items()} == roster
    assert groups["proj"]["change"]["member_count"] == 1
    assert groups["proj"]["new_members"] == ["u11"]
    assert groups["mkt"]["departed_members"] == ["u12"]
    assert "u09" in groups["proj"]["inactive_members"]  # never writes
    names = {m["member_id"]: m["display_name"] for m in groups["proj"]["members"]}
    assert names["u01"] == "王强"


def test_stats_table_and_group_filter(cli_env: None) -> None:
    result = CliRunner().invoke(
        app, ["stats", "--group", "prod", "--since", "2026-11-16", "--until", "2026-11-23"]
    )
    assert result.exit_code == 0, result.output
    assert "产品运营群" in result.output and "项目运营群" not in result.output
    assert "'member_id'" not in result.output  # counts, not lists, in the table


def test_stats_rejects_an_empty_period(cli_env: None) -> None:
    result = CliRunner().invoke(app, ["stats", "--since", "2026-11-23", "--until", "2026-11-16"])
    assert result.exit_code != 0
    assert "empty period" in result.output


def test_stats_does_not_import_prefect() -> None:
    import subprocess
    import sys

    code = "import sys, cli; assert 'prefect' not in sys.modules, 'prefect imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
