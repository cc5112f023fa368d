"""``groupops doctor``: the deployment's health, part by part, with a non-zero exit naming the
broken part (see groupops.ops.health)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli import common
from cli.app import app, console
from cli.tables import safe

if TYPE_CHECKING:
    from groupops.ops.health import Check, FlowRuns

_STYLE = {"ok": "green", "warning": "yellow", "error": "red", "skipped": "dim"}
_MARK = {"ok": "✓", "warning": "!", "error": "✗", "skipped": "-"}


@app.command("doctor")
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="The instant to judge the sources' silence at (ISO 8601 or a date, naive = "
            "Asia/Shanghai; default now). Run ages are always judged now.",
        ),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Skip the network probes (SMTP, sources).")
    ] = False,
) -> None:
    """Check the deployment: store reachable and at head, policy valid, SMTP reachable and
    authenticated (when configured), each enabled source reachable, a CJK font for the charts,
    the last successful ingest and (with PREFECT_API_URL) each deployment's last successful run
    and its age, and sources silent beyond their threshold (stale data).

    Exit 0 when nothing is broken, 1 naming every broken part."""
    from groupops.ops.doctor import diagnose
    from groupops.ops.health import Check

    settings = common.settings()
    now = datetime.now(UTC)
    data_as_of = None
    if as_of is not None:
        from groupops.policy import Policy

        data_as_of = common.instant_option(as_of, Policy())
    flows: list[FlowRuns] = []
    extra: list[Check] = []
    api = os.environ.get("PREFECT_API_URL")
    if api:
        try:
            flows = _flow_runs(now, api)
            extra.append(Check("prefect", "ok", f"{api} answers"))
        except Exception as exc:  # any failure to reach or read the server is its health
            detail = " ".join(str(exc).split())[:300] or type(exc).__name__
            extra.append(Check("prefect", "error", f"{api}: {type(exc).__name__}: {detail}"))
    report = diagnose(
        settings,
        now=now,
        as_of=data_as_of,
        smtp_password=_block_password(settings.smtp_password_block)
        if settings.smtp_password_block and settings.smtp_password is None and not offline
        else None,
        block_loader=_load_block,
        flows=flows,
        probe=not offline,
        extra=extra,
    )
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        for check in report.checks:
            style = _STYLE[check.status]
            console.print(
                f"[{style}]{_MARK[check.status]} {safe(check.name)}[/]: {safe(check.detail)}",
                soft_wrap=True,
                markup=True,
                highlight=False,
            )
        if report.ok:
            console.print("[green]healthy[/]")
        else:
            names = safe(", ".join(c.name for c in report.broken))
            console.print(f"[red]broken: {names}[/]", soft_wrap=True)
    raise typer.Exit(report.exit_code)


def _load_block(name: str) -> str:
    from tasks.pull import load_secret_block

    return load_secret_block(name)


def _block_password(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return _load_block(name)
    except Exception:  # reported by the SMTP check as "no password"
        return None


def _flow_runs(now: datetime, api: str) -> list[FlowRuns]:
    """Each deployment of prefect.yaml: its last Completed run (read from the server at ``api``,
    the one the check names, whatever Prefect settings are active) and the scheduled times
    before ``now``."""
    import asyncio

    import yaml

    from groupops.ops.health import FlowRuns

    path = Path("prefect.yaml")  # the deployments of the checkout the doctor runs in
    if not path.exists():
        raise FileNotFoundError(f"no {path} here: run the doctor from the project root")
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    deployments = config.get("deployments") or []

    async def last_successes() -> dict[str, tuple[datetime | None, datetime | None]]:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import (
            DeploymentFilter,
            DeploymentFilterName,
            FlowRunFilter,
            FlowRunFilterState,
            FlowRunFilterStateType,
        )
        from prefect.client.schemas.objects import StateType
        from prefect.client.schemas.sorting import FlowRunSort

        out: dict[str, tuple[datetime | None, datetime | None]] = {}
        async with get_client() as client:
            for d in deployments:
                registered = await client.read_deployments(
                    deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[d["name"]]))
                )
                created = min((r.created for r in registered if r.created), default=None)
                runs = await client.read_flow_runs(
                    deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[d["name"]])),
                    flow_run_filter=FlowRunFilter(
                        state=FlowRunFilterState(
                            type=FlowRunFilterStateType(any_=[StateType.COMPLETED])
                        )
                    ),
                    sort=FlowRunSort.START_TIME_DESC,
                    limit=1,
                )
                out[d["name"]] = (runs[0].start_time if runs else None, created)
        return out

    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api}):
        successes = asyncio.run(last_successes())
    return [
        FlowRuns(
            d["name"],
            successes.get(d["name"], (None, None))[0],
            _scheduled_before(d, now),
            created=successes.get(d["name"], (None, None))[1],
        )
        for d in deployments
    ]


def _scheduled_before(deployment: dict[str, Any], now: datetime) -> list[datetime]:
    """The two newest scheduled times before ``now`` (oldest first) of the deployment's active
    cron schedules; cronsim is the cron library Prefect itself uses."""
    from zoneinfo import ZoneInfo

    from cronsim import CronSim

    times: list[datetime] = []
    for schedule in deployment.get("schedules") or []:
        if not schedule.get("cron") or schedule.get("active") is False:
            continue
        local = now.astimezone(ZoneInfo(schedule.get("timezone") or "UTC"))
        it = CronSim(schedule["cron"], local, reverse=True)
        for _ in range(2):
            fire = next(it, None)
            if fire is not None and local - fire < timedelta(days=40):
                times.append(fire)
    return sorted(times)[-2:]
