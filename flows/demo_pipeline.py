"""Flow: the main job on the bundled demo company, every pipeline in order.

``groupops demo`` runs it against a fresh local SQLite store (``data/local/demo/``) at the
demo's own ``as_of`` (the end of its four weeks, from ``data/demo/planted.json``), so every
verdict is reproducible.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from prefect import flow
from pydantic import BaseModel

from flows.cleanup import CleanupRun, cleanup
from flows.ingest_activity import ingest_activity
from flows.meetings import MeetingsRun, meetings
from flows.moderate import ModerationRun, moderate
from flows.send_digests import DigestRun, send_digests
from flows.watch_deadlines import DeadlineWatch, watch_deadlines
from groupops.ingest.pipeline import IngestSummary
from groupops.moderation.run import catch_up_instants, merge_results
from groupops.policy import load_policy
from groupops.settings import get_settings


class DemoResult(BaseModel):
    as_of: datetime
    ingest: IngestSummary
    deadlines: DeadlineWatch
    meetings: MeetingsRun
    moderation: ModerationRun
    cleanup: CleanupRun
    weekly: DigestRun
    monthly: DigestRun


@flow(name="demo-pipeline")
def demo_pipeline(
    as_of: datetime, bundle: str = "data/demo", since: datetime | None = None
) -> DemoResult:
    """Ingest the demo bundle, then run every later stage on it at ``as_of`` (moderation
    caught up from ``since``, as its schedule would have run: see ``catch_up_instants``)."""
    ingest = ingest_activity(str(Path(bundle)), format="canonical")
    deadlines = watch_deadlines(as_of=as_of)
    meetings_run = meetings(as_of=as_of)
    moderation = moderate_since(since, as_of)
    cleanup_run = cleanup(as_of=as_of, ran_by="demo")  # a preview
    weekly = send_digests(period="week", as_of=as_of)
    monthly = send_digests(period="month", as_of=as_of)
    return DemoResult(
        as_of=as_of,
        ingest=ingest,
        deadlines=deadlines,
        meetings=meetings_run,
        moderation=moderation,
        cleanup=cleanup_run,
        weekly=weekly,
        monthly=monthly,
    )


def moderate_since(since: datetime | None, as_of: datetime) -> ModerationRun:
    """One moderation run at ``as_of``, or the catch-up runs from ``since`` merged."""
    if since is None:
        return moderate(as_of=as_of)
    policy = load_policy(str(get_settings().policy_path))
    runs = [moderate(as_of=at) for at in catch_up_instants(policy, since, as_of)]
    return ModerationRun.model_validate(merge_results([r.model_dump() for r in runs]))
