"""prefect.yaml is what `prefect deploy --all` reads: every deployment must point at a real flow,
with valid parameters and schedules in the company's zone."""

from __future__ import annotations

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
