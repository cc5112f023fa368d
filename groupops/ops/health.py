"""``groupops doctor``: is this deployment able to do its work? One :class:`Check` per part.

Each check names the part (``store``, ``schema``, ``policy``, ``smtp``, ``source:NAME``,
``font``, ``runs``, ``flow:DEPLOYMENT``, ``stale:SOURCE``) and says ``ok``, ``warning``,
``error`` or ``skipped`` with a one-line detail; any ``error`` makes the doctor exit non-zero.
Secrets never appear in a detail (URLs are masked, SMTP passwords never printed).

The checks are pure functions of the settings, the policy and what they probe; the CLI
(``cli/doctor.py``) gathers what only Prefect knows (Secret blocks, flow runs) and passes it in.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import sqlalchemy as sa

Status = Literal["ok", "warning", "error", "skipped"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    data: dict[str, object] | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name, "status": self.status, "detail": self.detail}
        if self.data:
            out.update(self.data)
        return out


@dataclass(frozen=True)
class Report:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return not any(c.status == "error" for c in self.checks)

    @property
    def broken(self) -> list[Check]:
        return [c for c in self.checks if c.status == "error"]

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "broken": [c.name for c in self.broken],
            "checks": [c.as_dict() for c in self.checks],
        }


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text[:300]}"


def check_store(url: str, masked: str) -> Check:
    """The store answers a query."""
    from groupops.db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any driver error means the store cannot be used
        return Check("store", "error", f"{masked} is unreachable: {_one_line(exc)}")
    finally:
        engine.dispose()
    return Check("store", "ok", f"{masked} answers")


def check_schema(url: str) -> Check:
    """The store's schema is at this code's head."""
    from groupops.db.schema import schema_status

    try:
        status = schema_status(url)
    except Exception as exc:  # unreachable: already reported by check_store
        return Check("schema", "error", f"cannot read the schema revision: {_one_line(exc)}")
    data: dict[str, object] = {"current": status.current, "head": status.head}
    if status.at_head:
        return Check("schema", "ok", f"at head ({status.head})", data)
    if status.state == "unknown":
        return Check(
            "schema",
            "error",
            f"at {status.current}, unknown to this code (head {status.head}): newer code "
            "migrated it",
            data,
        )
    return Check(
        "schema",
        "error",
        f"at {status.current or '(empty)'}, behind head {status.head}: run `groupops db upgrade`",
        data,
    )


def check_policy(path: Path) -> Check:
    from groupops.policy import PolicyError, load_policy

    try:
        load_policy(path)
    except PolicyError as exc:
        return Check("policy", "error", str(exc))
    return Check("policy", "ok", f"{path} is valid")


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    tls: Literal["none", "starttls", "ssl"]
    user: str | None
    password: str | None
    timeout_s: float = 10.0


def check_smtp(target: SmtpTarget | None) -> Check:
    """Connect, greet, start TLS as configured, log in when a user is set, then quit: nothing
    is sent."""
    if target is None:
        return Check("smtp", "skipped", "no SMTP host configured: emails stay in the outbox")
    where = f"{target.host}:{target.port} ({target.tls})"
    try:
        client: smtplib.SMTP
        if target.tls == "ssl":
            client = smtplib.SMTP_SSL(
                target.host,
                target.port,
                timeout=target.timeout_s,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=target.timeout_s)
        try:
            client.ehlo()
            if target.tls == "starttls":
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if target.user:
                if not target.password:
                    return Check(
                        "smtp", "error", f"{where}: user {target.user} is set but no password"
                    )
                client.login(target.user, target.password)
            client.noop()
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
    except smtplib.SMTPAuthenticationError as exc:
        return Check(
            "smtp",
            "error",
            f"{where}: authentication failed for {target.user}: {exc.smtp_code} "
            f"{exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}",
        )
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        return Check("smtp", "error", f"{where}: {_one_line(exc)}")
    logged = f", logged in as {target.user}" if target.user else " (no login configured)"
    return Check("smtp", "ok", f"{where} answers{logged}")


def check_font(find: Callable[[], str | None]) -> Check:
    """A CJK font for the charts' Chinese labels (without one they fall back to English)."""
    family = find()
    if family is None:
        return Check(
            "font",
            "error",
            "no CJK font: charts would use English labels (install fonts-noto-cjk)",
        )
    return Check("font", "ok", f"CJK font {family}")


def check_runs(engine: sa.Engine, now: datetime, lease: timedelta) -> Check:
    """The store's record of ingest runs: the last successful one and its age; runs that crashed
    (marked here as the next run would) are a warning."""
    from groupops.db.leases import reap_crashed
    from groupops.db.models import IngestRun

    reap_crashed(engine, lease=lease, now=now)
    with engine.connect() as conn:
        last = conn.execute(
            sa.select(IngestRun.finished_at, IngestRun.source)
            .where(IngestRun.status.in_(("clean", "quarantined")))
            .order_by(IngestRun.finished_at.desc())
            .limit(1)
        ).first()
        crashed = conn.execute(
            sa.select(sa.func.count()).where(IngestRun.status == "crashed")
        ).scalar_one()
        running = conn.execute(
            sa.select(sa.func.count()).where(IngestRun.status == "running")
        ).scalar_one()
    data: dict[str, object] = {"crashed": crashed, "running": running}
    if last is None:
        return Check("runs", "warning", "no successful ingest run yet", data)
    finished, source = last
    age = now - finished
    data |= {"last_success_at": finished.isoformat(), "age_seconds": int(age.total_seconds())}
    detail = f"last successful ingest {_age(age)} ago ({source})"
    if crashed:
        detail += f"; {crashed} crashed run(s) in the record (groupops runs list)"
    return Check("runs", "warning" if crashed else "ok", detail, data)


@dataclass(frozen=True)
class FlowRuns:
    """What Prefect knows of one deployment: its last successful run and the scheduled times
    before now (newest last) it should have run at."""

    deployment: str
    last_success: datetime | None
    scheduled_before: Sequence[datetime] = ()
    #: When the deployment was registered: a slot before it was never owed (a fresh
    #: `make deploy` is not "never succeeded although scheduled").
    created: datetime | None = None


def check_flow(runs: FlowRuns, now: datetime, *, grace: timedelta = timedelta(minutes=10)) -> Check:
    """A scheduled deployment is late when its last success started before the second-newest
    scheduled time (it missed a whole schedule slot, not just the one in progress)."""
    name = f"flow:{runs.deployment}"
    data: dict[str, object] = {
        "last_success_at": runs.last_success.isoformat() if runs.last_success else None,
        "age_seconds": int((now - runs.last_success).total_seconds())
        if runs.last_success
        else None,
    }
    slots = [t for t in runs.scheduled_before if runs.created is None or t >= runs.created]
    if runs.last_success is None:
        if len(slots) >= 2:
            return Check(name, "error", "never succeeded although scheduled", data)
        return Check(name, "warning" if slots else "skipped", "no successful run yet", data)
    detail = f"last success {_age(now - runs.last_success)} ago"
    if len(slots) >= 2 and runs.last_success < slots[-2] - grace:
        return Check(
            name, "error", f"{detail}: missed the run scheduled at {slots[-2].isoformat()}", data
        )
    return Check(name, "ok", detail, data)


def _age(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def source_checks(probes: Iterable[tuple[str, BaseException | None, str]]) -> list[Check]:
    """``(source name, the probe's error or None, what was probed)`` → one check each."""
    return [
        Check(f"source:{name}", "error", f"{what}: {_one_line(exc)}")
        if exc is not None
        else Check(f"source:{name}", "ok", f"{what} answers")
        for name, exc, what in probes
    ]
