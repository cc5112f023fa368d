"""The owner's digest meetings section on the demo company: the period's meetings of the
owner's groups, leave, minutes and action items (open / overdue / done), rendered in both
languages; admins' digests do not carry it."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from groupops.clock.timeparse import parse_instant
from groupops.digest import build_digests, digest_period
from groupops.digest.deliver import standard_providers
from groupops.ingest import open_bundle, run_ingest
from groupops.mail import render_email
from groupops.meetings.store import load_meetings
from groupops.policy import Policy

POLICY = Policy()
DECLARED = Path("data/demo/meetings")  # the demo company's regular meetings
AS_OF = parse_instant(json.loads(Path("data/demo/planted.json").read_text())["as_of"], POLICY.tz)


@pytest.fixture
def demo(engine: sa.Engine) -> sa.Engine:
    run_ingest(open_bundle("data/demo"), engine, POLICY)
    return engine


def test_owner_digests_list_the_periods_meetings(demo: sa.Engine, tmp_path: Path) -> None:
    period = digest_period("week", AS_OF, POLICY)
    providers = standard_providers(demo, POLICY, AS_OF, meetings_dir=DECLARED)
    digests = build_digests(demo, POLICY, period, providers=providers)
    records = load_meetings(demo, POLICY, AS_OF, meetings_dir=DECLARED).records
    seen = 0
    for digest in digests:
        sections = {s["id"]: s for s in digest.context["sections"]}
        if digest.scope.audience != "owner":
            assert "meetings" not in sections
            continue
        data = sections["meetings"]["data"]
        expected = [
            r
            for r in records
            if r["group_id"] in digest.scope.groups
            and period.since <= datetime.fromisoformat(r["start"]) < period.until
        ]
        assert [m["meeting_id"] for m in data["meetings"]] == [r["meeting_id"] for r in expected]
        items = [a for r in expected for a in r["action_items"]]
        totals = data["totals"]
        assert totals["items_done"] == sum(a["state"] == "done" for a in items)
        assert totals["items_overdue"] == sum(
            a["state"] in ("overdue", "ack_overdue") for a in items
        )
        assert totals["items_open"] + totals["items_overdue"] + totals["items_done"] == len(items)
        assert totals["held"] == sum(r["state"] == "held" for r in expected)
        assert totals["minutes_missing"] == sum(r["minutes_state"] == "missing" for r in expected)
        assert sections["meetings"]["has_content"] == bool(expected)
        seen += len(expected)
        if expected:
            topic = expected[0]["topic"]
            for language in ("zh-CN", "en"):
                out = render_email(
                    "digest", digest.context, language=language, images=digest.images
                )
                assert topic in out.text and topic in out.html
    assert seen > 0
