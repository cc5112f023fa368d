"""Task runners and per-group tags for the flows that fan out over independent groups.

A flow whose groups are independent (``flows/pull_activity.py``: one pull and ingest per
source group) submits one task per group, tagged ``group:<id>``. The task runner decides where
those tasks run: ``GROUPOPS_DASK_ADDRESS`` (an existing Dask scheduler; the optional ``dask``
extra) or a thread pool of ``GROUPOPS_TASK_THREADS`` in the flow's own process. A Prefect tag
concurrency limit of 1 on ``group:<id>`` (``scripts/group_limits.py``, run by ``make deploy``)
lets no two runs work on the same group at once, while different groups proceed in parallel.
"""

from __future__ import annotations

from typing import Any

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from groupops.settings import Settings, get_settings

#: The tag (and, with ``tag:`` in front, the concurrency limit's name) of one group's work.
GROUP_TAG_PREFIX = "group:"


def group_tag(group_id: str) -> str:
    """``group:<id>``: the tag of every task run that works on ``group_id``."""
    return f"{GROUP_TAG_PREFIX}{group_id}"


def task_runner_for(settings: Settings) -> TaskRunner[Any]:
    """The runner ``settings`` ask for: Dask at ``dask_address``, else ``task_threads`` threads."""
    if settings.dask_address:
        try:
            from prefect_dask.task_runners import DaskTaskRunner
        except ImportError as exc:  # pragma: no cover - the extra is part of `make bootstrap`
            raise RuntimeError(
                "GROUPOPS_DASK_ADDRESS is set but prefect-dask is not installed: "
                "uv sync --extra dask"
            ) from exc
        runner: TaskRunner[Any] = DaskTaskRunner(address=settings.dask_address)
        return runner
    return ThreadPoolTaskRunner(max_workers=settings.task_threads)


def configured_task_runner() -> TaskRunner[Any]:
    """The runner for a fan-out flow, read from the environment when the flow module loads
    (a deployed run is a fresh process with the worker's environment; tests and callers choose
    another with ``flow.with_options(task_runner=task_runner_for(...))``)."""
    return task_runner_for(get_settings())
