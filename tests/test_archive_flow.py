"""The `cleanup` deployment on a real Prefect server (the session's test server): registered
from flows/cleanup.py, run with parameters as an admin would from the UI (a preview of one
group), executed by a runner in its own process; its Markdown artifact shows the preview, and
the run is logged in the store. Also the artifact's Markdown and the weekly preview's counts in
the admins' digest section."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from groupops.archive.cleanup import cleanup
from groupops.archive.store import load_runs
from groupops.db import make_engine, upgrade
from groupops.mail.i18n import translate
from groupops.policy import Policy
from groupops.settings import get_settings
from tests import clockshift
from tests.test_archive_cleanup import AS_OF, STALE, seed

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> sa.Engine:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    engine = make_engine(url)
    seed(engine, tmp_path / "bundle")
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", url)
    monkeypatch.setenv("GROUPOPS_SOURCES_PATH", str(tmp_path / "none.toml"))
    monkeypatch.setenv("GROUPOPS_OUTBOX_DIR", str(tmp_path / "outbox"))
    get_settings.cache_clear()
    return engine


async def _deploy_and_run(parameters: dict[str, Any]) -> tuple[Any, list[Any]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.runner import Runner

    from flows.cleanup import cleanup as cleanup_flow

    runner = Runner(name="cleanup-test", pause_on_shutdown=False)
    deployment_id = await runner.aadd_flow(cleanup_flow, name="cleanup")
    async with get_client() as client:
        deployment = await client.read_deployment(deployment_id)
        assert deployment.schedules == []  # the ad-hoc deployment has no schedule
        run = await client.create_flow_run_from_deployment(deployment_id, parameters=parameters)
    await asyncio.wait_for(runner.start(run_once=True), timeout=240)
    async with get_client() as client:
        for _ in range(120):
            run = await client.read_flow_run(run.id)
            if run.state is not None and run.state.is_final():
                break
            await asyncio.sleep(1)
        artifacts = await client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
        )
    return run, artifacts


@pytest.mark.flow
@pytest.mark.slow
# The runner starts the flow run in a subprocess on the real clock while this process's clock may
# be shifted (make test-shifted): the run would wait a year for its start. AS_OF is fixed, so the
# unshifted run (make test) covers it; the same reason as tests/test_e2e_deploy.py.
@pytest.mark.skipif(
    bool(os.environ.get(clockshift.ENV)),
    reason="the runner's flow process does not see the test clock shift (it runs in `make test`)",
)
def test_cleanup_deployment_runs_from_the_server_and_shows_its_preview(
    prefect: None, store: sa.Engine
) -> None:
    parameters = {"group": "proj", "as_of": AS_OF.isoformat(), "apply": False, "force": False,
                  "ran_by": "admin-ui"}  # fmt: skip
    run, artifacts = asyncio.run(_deploy_and_run(parameters))
    assert run.state is not None and run.state.is_completed(), run.state
    assert run.parameters["group"] == "proj" and run.parameters["apply"] is False
    (artifact,) = [a for a in artifacts if a.key == "cleanup-preview"]
    markdown = str(artifact.data)
    assert "preview" in markdown and f"{len(STALE)} to purge" in markdown
    for message_id, reason in STALE.items():
        assert f"| proj | {message_id} | {reason} |" in markdown
    assert "still pinned" in markdown and "legal hold" in markdown
    (logged,) = load_runs(store)
    assert (logged["mode"], logged["ran_by"], logged["groups"]) == ("preview", "admin-ui", ["proj"])
    assert logged["as_of"] == AS_OF


def test_preview_markdown_and_refusal() -> None:
    from flows.cleanup import CleanupRun, preview_markdown

    run = CleanupRun(
        run_id="cleanup-x", mode="preview", as_of=AS_OF,
        candidates=[{"group_id": "g", "message_id": "m|1", "reason": "expired", "detail": "a|b"}],
        refused=[{"group_id": "g", "messages": 3, "purge": 1, "fraction": 0.3333, "limit": 0.2}],
        counts={"candidates": 1, "exempt": 0},
    )  # fmt: skip
    text = preview_markdown(run)
    assert "**Refused**" in text and "33%" in text and "a\\|b" in text


def test_weekly_preview_counts_reach_the_admins_digest(store: sa.Engine) -> None:
    from groupops.clock.periods import Period
    from groupops.digest.archive import archive_provider
    from groupops.digest.context import DigestScope

    policy = Policy()
    cleanup(store, policy, AS_OF, now=AS_OF, ran_by="weekly-preview")
    period = Period(AS_OF - timedelta(days=7), AS_OF, TZ, kind="week")
    scope = DigestScope("admin", "wecom", "proj", ("u2",), ("proj",), period)
    section = archive_provider(store, policy, AS_OF + timedelta(hours=1))(scope, "en")
    assert section is not None and section.has_content
    (waiting,) = section.data["waiting"]
    assert waiting["count"] == len(STALE) and waiting["group_id"] == "proj"
    assert sum(r["count"] for r in waiting["reasons"]) == len(STALE)
    # the same group is one item of the Needs-you block's cleanup slot, with the command to run
    (need,) = section.actions
    assert need["slot"] == "cleanup" and need["todo_args"]["n"] == len(STALE)
    assert need["todo_args"]["run_id"] == waiting["run_id"]
    assert "groupops cleanup --group proj --apply" in translate(
        need["todo"], "en", **need["todo_args"]
    )
    owner = DigestScope("owner", "wecom", "u1", ("u1",), ("proj",), period)
    assert archive_provider(store, policy, AS_OF)(owner, "en") is None
    # after an applied run nothing waits; its recalls are the admins' to-dos (no connector)
    cleanup(store, policy, AS_OF, now=AS_OF + timedelta(minutes=5), ran_by="admin", apply=True)
    later = archive_provider(store, policy, AS_OF + timedelta(hours=1))(scope, "zh-CN")
    assert later is not None and later.data["waiting"] == [] and later.actions == ()
    assert len(later.data["todos"]) == len(STALE)
