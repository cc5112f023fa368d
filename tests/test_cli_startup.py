"""The command answers at once: ``--help`` and the read-only commands import no heavy library
they do not need, and nothing but ``--prefect`` / ``PREFECT_API_URL`` imports Prefect.

What each command may import is the specification here; how long it takes is measured by
``make bench`` (never in a test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bundles import write_bundle

HEAVY = ("pandas", "numpy", "sqlalchemy", "great_expectations", "matplotlib", "prefect", "scipy")


def _imported_by(args: list[str], env: dict[str, str]) -> tuple[set[str], str]:
    """Run ``groupops ARGS`` in a fresh interpreter; the heavy top-level packages it imported
    and its output."""
    code = (
        "import json, sys\n"
        "from typer.testing import CliRunner\n"
        "from cli import app\n"
        f"r = CliRunner().invoke(app, {args!r})\n"
        "assert r.exit_code in (0, 2), (r.exit_code, r.output)\n"
        f"heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
        "print(json.dumps({'heavy': heavy, 'output': r.stdout}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout.strip().splitlines()[-1])
    return set(payload["heavy"]), payload["output"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "GROUPOPS_DATABASE_URL": f"sqlite:///{tmp_path / 'ro.db'}",
        "GROUPOPS_OUTBOX_DIR": str(tmp_path / "outbox"),
        "PATH": "/usr/bin:/bin",
    }


@pytest.mark.parametrize(
    "args",
    [["--help"], ["ingest", "--help"], ["stats", "--help"], ["demo", "--help"], ["db", "--help"]],
)
def test_help_imports_no_heavy_library(args: list[str], env: dict[str, str]) -> None:
    imported, _ = _imported_by(args, env)
    assert imported == set()


@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        (["config", "show"], {"sqlalchemy"}),  # masking the URL's password
        (["db", "current"], {"sqlalchemy"}),
        (["runs", "list"], {"sqlalchemy"}),
        (["quarantine", "list"], {"sqlalchemy"}),
        (["sources", "list"], {"sqlalchemy"}),
        (
            ["stats", "--since", "2026-11-16", "--until", "2026-11-23"],
            {"sqlalchemy", "pandas", "numpy"},
        ),
        (["overdue", "--as-of", "2026-11-20T18:00"], {"sqlalchemy", "pandas", "numpy"}),
        (["tasks", "--as-of", "2026-11-20T18:00"], {"sqlalchemy", "pandas", "numpy"}),
    ],
)
def test_read_only_commands_import_only_what_they_use(
    args: list[str], allowed: set[str], env: dict[str, str]
) -> None:
    imported, _ = _imported_by(args, env)
    assert imported <= allowed


def test_state_changing_commands_run_in_process_without_prefect(
    tmp_path: Path, env: dict[str, str]
) -> None:
    bundle = write_bundle(tmp_path / "bundle")
    imported, out = _imported_by(["ingest", str(bundle), "--json"], env)
    assert "prefect" not in imported
    assert json.loads(out)["loaded"] == 11


def test_prefect_api_url_selects_the_flow(monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.common import use_prefect

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert (use_prefect(False), use_prefect(True)) == (False, True)
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert use_prefect(False) is True
