"""Flow: clean out stale notices, duplicates and off-topic messages (rulebook ch. 3(四)) — an
ad-hoc admin run from the Prefect UI, previewed first.

With the defaults it is a **preview**: the Markdown artifact ``cleanup-preview`` lists what
would go (with its reason) and what is exempt (with why); an admin reads it, then runs the
deployment again with ``apply`` (and ``force`` past the guard). An applied run archives the
important messages, purges the candidates (kept whole; ``groupops restore RUN_ID`` undoes it),
asks the platforms to recall them (admin to-dos where no connector can) and deletes for good
what was purged longer than ``notices.restore_window_days`` ago. Every run is logged in the
store (``cleanup_runs``), which is where the weekly preview's counts reach the admins' digest.

Deployments (prefect.yaml): ``cleanup`` without a schedule; ``cleanup-weekly-preview`` on
Monday mornings, a preview only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from pydantic import BaseModel

from groupops.policy import load_policy
from groupops.settings import get_settings
from tasks.archive import cleanup as cleanup_task
from tasks.db import ensure_schema


class CleanupRun(BaseModel):
    """What one run did: the ``groupops cleanup --json`` object, plus the artifact's key."""

    run_id: str
    mode: str
    as_of: datetime
    candidates: list[dict[str, Any]] = []
    exempt: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    actions: list[dict[str, Any]] = []
    artifact: str = "cleanup-preview"


@flow(name="cleanup", log_prints=False)
def cleanup(
    group: str | None = None,
    as_of: datetime | None = None,
    apply: bool = False,
    force: bool = False,
    ran_by: str = "prefect",
) -> CleanupRun:
    """Preview (default) or apply a cleanup.

    Args:
        group: Only this group id (every group when empty).
        as_of: Judge at this instant (default: now).
        apply: Archive, purge (restorable) and recall; off: a preview only.
        force: Apply even over notices.max_purge_fraction of a group's messages.
        ran_by: Who runs it, for the run log.
    """
    settings = get_settings()
    db, policy_path = settings.database_url, str(settings.policy_path)
    policy = load_policy(policy_path)
    now = datetime.now(UTC)
    when = (as_of or now).astimezone(policy.tz)

    ensure_schema(db, settings.auto_upgrade)
    out = cleanup_task(
        db, policy_path, str(settings.sources_path), when, now, ran_by,
        [group] if group else None, apply, force,
    )  # fmt: skip
    run = CleanupRun(**{k: v for k, v in out.items() if k in CleanupRun.model_fields})
    _publish(run)
    return run


def preview_markdown(run: CleanupRun) -> str:
    """The artifact an admin reads before re-running with ``apply``."""
    counts = run.counts
    lines = [
        f"# Cleanup {run.run_id}: {run.mode}",
        "",
        f"As of {run.as_of.isoformat()}: **{counts.get('candidates', 0)} to purge**, "
        f"{counts.get('exempt', 0)} exempt"
        + (
            f"; archived {counts.get('archived', 0)}, purged {counts.get('purged', 0)}, "
            f"deleted after the restore window {counts.get('deleted', 0)}."
            if run.mode == "applied"
            else "."
        ),
        "",
    ]
    for g in run.refused:
        lines.append(
            f"> **Refused**: `{g['group_id']}` would lose {g['purge']} of {g['messages']} "
            f"messages ({g['fraction']:.0%} > {g['limit']:g}); run with `force` to apply."
        )
    if run.refused:
        lines.append("")
    lines += ["| group | message | reason | detail |", "|---|---|---|---|"]
    lines += [
        f"| {c['group_id']} | {c['message_id']} | {c['reason']} | {_cell(c['detail'])} |"
        for c in run.candidates
    ] or ["| – | – | nothing to purge | |"]
    if run.exempt:
        lines += ["", "## Exempt", "", "| group | message | why | reason |", "|---|---|---|---|"]
        lines += [
            f"| {e['group_id']} | {e['message_id']} | {_cell(e['why'])} | {e['reason']} |"
            for e in run.exempt
        ]
    lines.append("")
    if run.mode == "preview" and run.candidates:
        lines.append("Preview only: run the `cleanup` deployment again with `apply` to purge.")
    elif run.mode == "applied":
        lines.append(f"Undo with `groupops restore {run.run_id}`.")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _publish(run: CleanupRun) -> None:
    create_markdown_artifact(
        key=run.artifact,
        markdown=preview_markdown(run),
        description=f"Cleanup {run.run_id} ({run.mode})",
    )
    get_run_logger().info("cleanup %s (%s): %s", run.run_id, run.mode, run.counts)
