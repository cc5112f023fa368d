"""The command answers at once: ``--help`` and the read-only commands import no heavy library
they do not need, and nothing but ``--prefect`` / ``PREFECT_API_URL`` imports Prefect.

What each command may import is the specification here; how long it takes is measured by
``make bench`` (never in a test)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bundles import write_bundle

HEAVY = (
    "pandas",
    "numpy",
    "sqlalchemy",
    "sqlalchemy.orm",
    "alembic",
    "great_expectations",
    "matplotlib",
    "prefect",
    "scipy",
    "pydantic_settings",  # commands read the store's URL without it (groupops.envsettings)
    "phonenumbers",  # moderation's personal-data check, on the first mobile-shaped number
    "httpx",  # the platforms' clients: imported where a connector is opened
    "slack_sdk",
)
#: The store's own tables and nothing of the ORM or the migrations.
CORE = {"sqlalchemy"}
#: The ORM's model classes (the queries are written against them).
ORM = {"sqlalchemy", "sqlalchemy.orm"}
#: Commands that compute (statistics, the working clock's obligations) load pandas.
FRAMES = {"sqlalchemy", "sqlalchemy.orm", "pandas", "numpy"}


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


@pytest.fixture
def store_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` with its store at head: what a read-only command meets after ``make demo`` or
    ``groupops db upgrade`` (on an empty store the first command migrates, which needs
    Alembic)."""
    from groupops.db.schema import upgrade

    upgrade(env["GROUPOPS_DATABASE_URL"])
    return env


AS_OF = ["--as-of", "2026-11-20T18:00"]


@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        # masking the URL's password; every setting, so pydantic-settings
        (["config", "show"], CORE | {"pydantic_settings"}),
        (["db", "current"], CORE),  # the revision read with one query, the head from the files
        (["db", "history"], CORE | {"alembic"}),  # each migration's message, as Alembic reads it
        (["runs", "list"], ORM),
        (["quarantine", "list"], ORM),
        (["sources", "list"], ORM),  # capabilities from the connector classes, no client
        (["violations"], ORM),
        (["appeals"], ORM),  # listed as rows; the clock's scalar path counts overdue minutes
        (["todos"], ORM),  # departures as rows (tests/test_light_reads.py); no connector opened
        (["roster", "check", *AS_OF], ORM),  # rows (tests/test_roster_engines.py)
        (["archive", "list"], ORM),  # the register and the directory as rows
        (["archive", "search", "发布"], ORM),
        # a small span by the row engine (tests/test_row_stats.py): Core tables, no pandas
        (["stats", "--since", "2026-11-16", "--until", "2026-11-23"], CORE),
        (["stats", "--json", "--since", "2026-11-16", "--until", "2026-11-23"], CORE),
        # small spans by the row engines (tests/test_obligation_rows.py)
        (["overdue", *AS_OF], ORM),
        (["tasks", *AS_OF], ORM),
        (["meetings", *AS_OF], ORM),
    ],
)
def test_read_only_commands_import_only_what_they_use(
    args: list[str], allowed: set[str], store_env: dict[str, str]
) -> None:
    imported, _ = _imported_by(args, store_env)
    assert imported <= allowed


def test_an_overdue_appeal_is_counted_without_numpy(store_env: dict[str, str]) -> None:
    """``appeals`` counts an overdue appeal's working minutes on the clock's scalar path
    (pure Python, proven equal to the numpy one in ``tests/test_workclock.py``)."""
    import sqlalchemy as sa

    from groupops.db.models import Appeal

    filed = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)  # Mon 10:00 in Shanghai
    engine = sa.create_engine(store_env["GROUPOPS_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Appeal).values(
                violation_id=1, platform="wecom", group_id="g1", member_id="u1", filed_at=filed,
                source="command", reason="不是我发的 13800138000", appeal_deadline=filed,
                answer_due_at=filed + timedelta(days=1), state="pending",
                created_at=filed, updated_at=filed,
            )
        )  # fmt: skip
    engine.dispose()
    imported, out = _imported_by(["appeals", "--json", *AS_OF], store_env)
    assert imported <= ORM
    (row,) = json.loads(out)
    assert (row["state"], row["overdue_working_minutes"]) == ("answer_overdue", 390 + 3 * 450)


def test_bench_measures_every_read_only_command() -> None:
    """``make bench``'s Commands table (bench/run.py ``READ_ONLY``) times each command above."""
    from bench.run import READ_ONLY

    measured = [list(args) for args in READ_ONLY.values()]
    for command in (
        ["--help"], ["config", "show"], ["db", "current"], ["db", "history"], ["runs", "list"],
        ["quarantine", "list"], ["sources", "list"], ["violations"], ["appeals"], ["todos"],
        ["roster", "check"], ["archive", "list"], ["archive", "search"], ["stats"],
        ["overdue"], ["tasks"], ["meetings"],
    ):  # fmt: skip
        assert any(args[: len(command)] == command for args in measured), command


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
