"""One retry policy for every task that touches the database or the network.

A transient failure (the database restarting or refusing connections, a deadlock or
serialization failure between overlapping runs, a dropped connection, a timeout, another process
holding the migration lock) is retried with exponential backoff and jitter. Anything else (bad
input, a policy error, a schema this code does not match) fails at once: retrying it would only
delay the message. Every task using this policy is idempotent, so a retry never doubles work.
"""

from __future__ import annotations

from typing import Any

from prefect.context import TaskRunContext
from prefect.tasks import exponential_backoff

from groupops.db.schema import MigrationLockTimeout

#: Keyword arguments for ``@task``: 3 retries after about 2, 4 and 8 seconds (±50 %).
DB_RETRIES: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_jitter_factor": 0.5,
}


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` may well not happen on a second try."""
    import sqlalchemy.exc as sa_exc

    if isinstance(exc, MigrationLockTimeout | sa_exc.OperationalError | sa_exc.InterfaceError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        # PostgreSQL: 40001 serialization_failure, 40P01 deadlock_detected, 55P03 lock timeout
        code = getattr(exc.orig, "sqlstate", None)
        return code in {"40001", "40P01", "55P03"}
    # Network and SMTP (smtplib's errors are OSErrors), timeouts; not a missing input file.
    return isinstance(exc, OSError | TimeoutError) and not isinstance(
        exc, FileNotFoundError | IsADirectoryError | NotADirectoryError | PermissionError
    )


def retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """``retry_condition_fn`` for Prefect tasks: retry only :func:`is_transient` failures."""
    exc = state.data if isinstance(state.data, BaseException) else None
    if exc is None:
        try:
            result = state.result(raise_on_failure=False)
        except Exception:
            return True
        exc = result if isinstance(result, BaseException) else None
    return exc is None or is_transient(exc)


#: ``@task(**RETRY_TRANSIENT)``: the policy with its condition.
RETRY_TRANSIENT: dict[str, Any] = {**DB_RETRIES, "retry_condition_fn": retry_transient}


def retries_left() -> bool:
    """Whether Prefect will run the current task again if it raises now."""
    ctx = TaskRunContext.get()
    return ctx is not None and ctx.task_run.run_count <= (ctx.task.retries or 0)
