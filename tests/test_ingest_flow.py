"""The ingest flow and the CLI end to end, under the session's Prefect test server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from groupops.settings import get_settings
from tests.bundles import MESSAGES, message, write_bundle


@pytest.fixture
def store(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the settings (and so the flows and the CLI) at the test's store."""
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", db_url)
    monkeypatch.setenv("GROUPOPS_OUTBOX_DIR", str(tmp_path / "outbox"))
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


@pytest.mark.usefixtures("prefect", "store")
def test_flow_ingests_and_is_idempotent(tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client

    from flows.ingest_activity import ingest_activity

    bundle = write_bundle(tmp_path / "b")
    first = ingest_activity(str(bundle))
    second = ingest_activity(str(bundle))
    assert first.total("loaded") == 11 and first.exit_code == 0
    assert (second.total("loaded"), second.total("updated"), second.total("unchanged")) == (
        0,
        0,
        11,
    )

    async def artifact() -> object:
        async with get_client() as client:
            return await client.read_latest_artifacts()

    import asyncio

    latest = asyncio.run(artifact())
    assert any(getattr(a, "key", None) == "ingest-summary" for a in latest)


@pytest.mark.usefixtures("prefect", "store")
def test_cli_exit_codes_and_quarantine_listing(tmp_path: Path) -> None:
    runner = CliRunner()
    clean = write_bundle(tmp_path / "clean")
    result = runner.invoke(app, ["ingest", str(clean)])
    assert result.exit_code == 0, result.output
    assert "every record loaded" in result.output

    bad = write_bundle(
        tmp_path / "bad",
        messages=[*MESSAGES, message(5, group="ghost")],
        extra_message_lines=["{not json"],
    )
    result = runner.invoke(app, ["ingest", str(bad), "--json"])
    assert result.exit_code == 2, result.output
    summary = json.loads(result.stdout)
    assert (summary["loaded"], summary["updated"], summary["quarantined"]) == (0, 0, 2)

    listing = runner.invoke(app, ["quarantine", "list", "--json"])
    assert listing.exit_code == 0
    rows = [json.loads(line) for line in listing.stdout.splitlines()]
    assert [(Path(r["source_file"]).name, r["line"], r["field"]) for r in rows] == [
        ("messages.jsonl", 5, "group_id"),
        ("messages.jsonl", 6, "(line)"),
    ]


@pytest.mark.usefixtures("store")
def test_cli_local_mode_needs_no_prefect(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["ingest", str(write_bundle(tmp_path / "b")), "--local", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["loaded"] == 11


def test_cli_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "no such file or folder" in result.output


def test_read_only_commands_do_not_import_prefect(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from cli import app\n"
        "for args in (['--help'], ['quarantine', 'list'], ['runs', 'list'], ['db', 'current']):\n"
        "    r = CliRunner().invoke(app, args)\n"
        "    assert r.exit_code == 0, (args, r.output)\n"
        "assert 'prefect' not in sys.modules, 'a read-only command imported prefect'\n"
    )
    env = {"GROUPOPS_DATABASE_URL": f"sqlite:///{tmp_path / 'ro.db'}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.usefixtures("prefect", "store")
def test_demo_bundle_ingests_cleanly_and_the_second_run_adds_nothing() -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["ingest", "data/demo", "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["quarantined"] == 0
    second = runner.invoke(app, ["ingest", "data/demo", "--json"])
    assert second.exit_code == 0, second.output
    again = json.loads(second.stdout)
    assert (again["loaded"], again["updated"], again["quarantined"]) == (0, 0, 0)
    assert again["unchanged"] == json.loads(first.stdout)["loaded"]
