"""The Prefect automation that ends zombie flow runs: ``python -m scripts.automations``.

A deployed run sends a heartbeat event every ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` seconds (set
for every deployment in prefect.yaml). When a run's process is killed (with its worker, by the
OOM killer, a host going down) the heartbeats stop without a final state, and the run would stay
Running for good. This automation (Prefect's documented "crash zombie flows" recipe) marks a run
Crashed when, after a heartbeat, neither another heartbeat nor a final state arrives within
``--within`` seconds (default: three missed heartbeats). ``make deploy`` runs it; it is
idempotent (an automation of the same name is updated, not duplicated).
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta

from prefect.automations import Automation
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification

NAME = "groupops: crash zombie flow runs"
#: Heartbeat frequency the deployments set (prefect.yaml); three of them missed is a zombie.
HEARTBEAT_SECONDS = 60


def zombie_automation(within: timedelta) -> Automation:
    return Automation(
        name=NAME,
        description=(
            "Marks a flow run Crashed when its heartbeats stop without a final state "
            "(its process died): see scripts/automations.py and docs/operations.md."
        ),
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
            },
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=within,
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message="Marked Crashed: no heartbeat from the flow run's process "
                f"for {within.total_seconds():.0f} s (groupops zombie-run automation).",
            )
        ],
    )


async def ensure_zombie_automation(within: timedelta) -> Automation:
    """Create the automation, or update the one of the same name; it."""
    wanted = zombie_automation(within)
    try:
        existing = await Automation.aread(name=NAME)
    except ValueError:  # none of that name yet
        return await wanted.acreate()
    wanted.id = existing.id
    await wanted.aupdate()
    return wanted


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--within",
        type=float,
        default=3 * HEARTBEAT_SECONDS,
        help="seconds without a heartbeat before a running flow run is marked Crashed",
    )
    args = parser.parse_args(argv)
    automation = asyncio.run(ensure_zombie_automation(timedelta(seconds=args.within)))
    print(f"automation {automation.name!r} ({automation.id}): Crashed after {args.within:.0f} s")


if __name__ == "__main__":
    main()
