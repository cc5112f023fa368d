"""Flow: the main job on the bundled demo company, every pipeline in order.

``groupops demo`` runs it against a fresh local SQLite store (``data/local/demo/``); later
stages (statistics and digests, deadlines, …) are added here as they land.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow
from pydantic import BaseModel, ConfigDict

from flows.ingest_activity import ingest_activity
from groupops.ingest.pipeline import IngestSummary


class DemoResult(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    ingest: IngestSummary


@flow(name="demo-pipeline")
def demo_pipeline(bundle: str = "data/demo") -> DemoResult:
    """Ingest the demo bundle, then run every later stage on it."""
    ingest = ingest_activity(str(Path(bundle)), format="canonical")
    return DemoResult(ingest=ingest)
