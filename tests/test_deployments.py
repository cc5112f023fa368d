"""prefect.yaml is what `prefect deploy --all` reads: every deployment must point at a real flow,
with valid parameters and schedules in the company's zone. It is the one place schedules are
defined: no flow file serves itself or carries a cron of its own."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
DEPLOYMENTS: list[dict[str, Any]] = CONFIG["deployments"]


def test_names_are_unique_and_flow_files_are_not_named_like_packages() -> None:
    names = [d["name"] for d in DEPLOYMENTS]
    assert len(names) == len(set(names))
    for d in DEPLOYMENTS:
        path = Path(d["entrypoint"].split(":")[0])
        assert path.parts[0] == "flows"
        assert path.stem not in {
            "email",
            "tasks",
            "flows",
            "prefect",
            "groupops",
            "logging",
            "json",
            "csv",
        }


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["name"])
def test_entrypoint_is_a_flow_accepting_its_parameters(deployment: dict[str, Any]) -> None:
    from prefect.flows import load_flow_from_entrypoint

    flow = load_flow_from_entrypoint(str(ROOT / deployment["entrypoint"]))
    accepted = set(inspect.signature(flow.fn).parameters)
    assert set(deployment.get("parameters") or {}) <= accepted
    from prefect.client.schemas.schedules import CronSchedule

    for schedule in deployment.get("schedules") or []:
        ZoneInfo(schedule["timezone"])
        CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])  # validates the cron


def test_schedules_are_in_the_policy_zone() -> None:
    """Cron in prefect.yaml is read in the zone the rulebook's verdicts use (data/policy.toml)."""
    from groupops.policy import load_policy

    zone = load_policy(ROOT / "data" / "policy.toml").timezone
    schedules = [s for d in DEPLOYMENTS for s in d.get("schedules") or []]
    assert schedules, "prefect.yaml declares no schedule"
    assert {s["timezone"] for s in schedules} == {zone}


#: Calls that would define a schedule or a deployment outside prefect.yaml.
SCHEDULING_CALLS = {"serve", "deploy", "to_deployment", "CronSchedule", "IntervalSchedule",
                    "RRuleSchedule", "Cron", "Interval", "RRule"}  # fmt: skip
SCHEDULING_KEYWORDS = {"cron", "interval", "rrule", "schedule", "schedules"}


@pytest.mark.parametrize("path", sorted((ROOT / "flows").glob("*.py")), ids=lambda p: p.name)
def test_flow_files_define_no_schedule_of_their_own(path: Path) -> None:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in SCHEDULING_CALLS:
            found.append(f"line {node.lineno}: {name}(…)")
        found += [
            f"line {node.lineno}: {k.arg}=" for k in node.keywords if k.arg in SCHEDULING_KEYWORDS
        ]
    assert not found, f"{path.name} schedules outside prefect.yaml: {found}"


def test_the_pull_step_is_relative_to_the_worker_checkout() -> None:
    """No absolute path (nor `$PWD`, resolved at deploy time) pins one machine's checkout: each
    worker runs flows in its own directory (job variable working_dir ".")."""
    (step,) = CONFIG["pull"]
    directory = step["prefect.deployments.steps.set_working_directory"]["directory"]
    assert directory == "." and not Path(directory).is_absolute()
    for d in DEPLOYMENTS:
        assert d["work_pool"]["job_variables"]["working_dir"] == ".", d["name"]


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["name"])
def test_deployments_send_heartbeats_and_carry_a_concurrency_limit(
    deployment: dict[str, Any],
) -> None:
    env = deployment["work_pool"]["job_variables"]["env"]
    # Prefect emits flow-run heartbeats only for a frequency of at least 30 s.
    assert int(env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"]) >= 30
    assert not any(k.startswith("GROUPOPS_") for k in env), "settings come from the worker env"
    limit = deployment["concurrency_limit"]
    assert limit["limit"] >= 1
    assert limit["collision_strategy"] in {"ENQUEUE", "CANCEL_NEW"}
