"""docs/operations.md is tested by walking it (issue 13): ``scripts/walk_operations.py`` runs
the runbook's marked shell blocks against a real Prefect server, a throwaway PostgreSQL store
and a worker started as the systemd unit starts it; what cannot run here is skipped with its
reason. The marker grammar is specified by the tables below."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from scripts.walk_operations import (
    RUNBOOK,
    UNIT,
    Block,
    Line,
    RunbookError,
    blocks,
    previous_revision,
    walk,
    worker_command,
)
from tests import clockshift
from tests.conftest import PG_ADMIN_URL, REQUIRE_PG, _pg_admin_engine


def doc(marker: str | None, body: str, lang: str = "bash") -> str:
    lines = ["# Title", ""]
    if marker is not None:
        lines.append(marker)
    return "\n".join([*lines, f"```{lang}", body, "```", ""])


@pytest.mark.parametrize(
    ("markdown", "run", "reason", "lines"),
    [
        (doc("<!-- walk: run -->", "make deploy"), True, "", [Line(5, "make deploy")]),
        (
            doc("<!-- walk: run -->", "# a comment\n\nuv run groupops doctor  # exit 1 if broken"),
            True,
            "",
            [Line(7, "uv run groupops doctor  # exit 1 if broken")],
        ),
        (
            doc("<!-- walk: run -->", "uv run prefect deploy \\\n  --all"),
            True,
            "",
            [Line(5, "uv run prefect deploy    --all")],
        ),
        (
            doc("<!-- walk: skip no Docker here -->", "docker build ."),
            False,
            "no Docker here",
            [Line(5, "docker build .")],
        ),
        (
            doc(
                "<!-- walk: run | skip systemctl: no systemd | may-fail uv run groupops doctor: "
                "fresh | sub <rev> => $WALK_REV -->",
                "systemctl stop w\nuv run groupops db downgrade <rev>\nuv run groupops doctor",
            ),
            True,
            "",
            [
                Line(5, "systemctl stop w", skip="no systemd"),
                Line(6, "uv run groupops db downgrade $WALK_REV"),
                Line(7, "uv run groupops doctor", may_fail="fresh"),
            ],
        ),
        # Not shell: no marker needed, nothing to run.
        (
            doc("<!-- walk: skip no systemd | start-worker -->", "systemctl start w"),
            False,
            "no systemd",
            [Line(5, "systemctl start w")],
        ),
        (doc(None, "✓ store: answers", lang=""), None, "", []),
        (doc(None, "[x]\ny = 1", lang="toml"), None, "", []),
    ],
)
def test_markers_say_what_runs(
    markdown: str, run: bool | None, reason: str, lines: list[Line]
) -> None:
    found = blocks(markdown)
    if run is None:
        assert found == []
        return
    (block,) = found
    assert (block.run, block.reason, block.lines()) == (run, reason, lines)


@pytest.mark.parametrize(
    ("markdown", "error"),
    [
        (doc(None, "make deploy"), r"line 3: a shell block without a `<!-- walk"),
        (doc(None, "make deploy", lang="sh"), r"without a `<!-- walk"),
        (doc("<!-- walk: skip -->", "x"), r"`run` or `skip REASON`"),
        (doc("<!-- walk: maybe -->", "x"), r"`run` or `skip REASON`"),
        (doc("<!-- walk: run | retry 3 -->", "x"), r"unknown marker option 'retry 3'"),
        (doc("<!-- walk: run | skip systemctl -->", "x"), r"unknown marker option"),
        ("```bash\nmake deploy\n", r"never closed"),
    ],
)
def test_bad_markers_are_refused(markdown: str, error: str) -> None:
    with pytest.raises(RunbookError, match=error):
        blocks(markdown)


def test_every_shell_block_of_the_runbook_is_marked_and_the_route_runs() -> None:
    found = blocks(RUNBOOK.read_text(encoding="utf-8"))
    assert all(b.run or b.reason for b in found)
    runnable = [line.text for b in found if b.run for line in b.lines() if not line.skip]
    for step in [
        "uv run groupops secrets set smtp-password",
        "make deploy",
        "prefect deployment run ingest-activity/ingest-activity",
        "uv run groupops runs list",
        "uv run groupops doctor",
        "pg_dump",
        "uv run groupops db downgrade",
        "uv run groupops db upgrade",
    ]:
        assert any(step in text for text in runnable), f"the walk does not run {step!r}"
    assert any(b.start_worker for b in found), "no block says where the worker starts"
    (rollback,) = [b for b in found if any("db downgrade" in ln.text for ln in b.lines())]
    assert rollback.stop_worker, "the walk must stop its worker before the downgrade"


def test_the_worker_starts_as_the_systemd_unit_says() -> None:
    command = worker_command(UNIT.read_text(encoding="utf-8"), "host-a")
    assert command == (
        "/usr/bin/env uv run --frozen prefect worker start --pool groupops --name groupops-host-a"
    )
    with pytest.raises(RunbookError, match="no ExecStart"):
        worker_command("[Service]\nType=simple\n", "h")


def test_a_rollback_goes_back_one_revision() -> None:
    from alembic.script import ScriptDirectory

    from groupops.db.engine import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_revision(script.get_current_head())
    assert head is not None and previous_revision() == head.down_revision


def test_lines_join_continuations_in_order() -> None:
    block = Block(10, "a \\\n b\nc", run=True)
    assert block.lines() == [Line(11, "a   b"), Line(13, "c")]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(1200)
@pytest.mark.skipif(
    bool(os.environ.get(clockshift.ENV)),
    reason="the walk's server, worker and flows run on the real clock (it runs in `make test`)",
)
def test_the_runbook_walks_from_deploy_to_rollback(tmp_path: Path) -> None:
    admin = _pg_admin_engine()
    if admin is None:
        if REQUIRE_PG:
            pytest.fail(f"no PostgreSQL answers at {PG_ADMIN_URL}")
        pytest.skip(f"no PostgreSQL answers at {PG_ADMIN_URL}")
    admin.dispose()
    report = walk(
        PG_ADMIN_URL,
        home=tmp_path,
        after=[
            # What the walk left, kept in its home for the checks below (the store is dropped).
            'uv run groupops runs list --json > "$WALK_HOME/runs.json"',
            'uv run groupops doctor --json > "$WALK_HOME/doctor.json" || test $? -eq 1',
            "uv run groupops db current --check",  # back at head after the rollback + upgrade
            "uv run python -c 'from prefect.blocks.system import Secret; "
            'assert Secret.load("smtp-password").get() == "walk-smtp-password"\'',
        ],
    )
    ran = "\n".join(report.ran)
    assert "make deploy" in ran and "groupops db downgrade" in ran
    assert any("no systemd here" in s for s in report.skipped)
    assert any("no Docker here" in s for s in report.skipped)
    assert list(tmp_path.glob("groupops-*.dump")), "the backup step wrote no dump"
    # The triggered ingest of the demo bundle ran on the worker into the store, cleanly.
    runs = json.loads((tmp_path / "runs.json").read_text())
    assert [(r["source"], r["status"]) for r in runs] == [("data/demo", "clean")]
    # The doctor's exit 1 names only what the runbook's marker says (the weeks-old demo data);
    # the fresh deployments' schedules owe nothing yet; every other part is ok.
    doctor = json.loads((tmp_path / "doctor.json").read_text())
    status = {c["name"]: c["status"] for c in doctor["checks"]}
    assert doctor["broken"] and all(n.startswith("stale:") for n in doctor["broken"]), doctor
    assert {n: status[n] for n in ("store", "schema", "policy", "flow:ingest-activity")} == {
        "store": "ok",
        "schema": "ok",
        "policy": "ok",
        "flow:ingest-activity": "ok",
    }
