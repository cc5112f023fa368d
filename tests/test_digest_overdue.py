"""The digest's overdue section: admins see their group's items from escalation step 1, owners
their groups' items from step 2 (the ladder of issue 4 ends "to the owner, in the digest")."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from groupops.clock.timeparse import parse_instant
from groupops.db.queries import load_members
from groupops.digest import build_digests, digest_period
from groupops.digest.deliver import standard_providers
from groupops.ingest import open_bundle, run_ingest
from groupops.mail import render_email
from groupops.policy import Policy
from groupops.watch import load_obligations

POLICY = Policy()
AS_OF = parse_instant(json.loads(Path("data/demo/planted.json").read_text())["as_of"], POLICY.tz)


@pytest.fixture
def demo(engine: sa.Engine) -> sa.Engine:
    run_ingest(open_bundle("data/demo"), engine, POLICY)
    return engine


def _overdue_section(context: dict[str, object]) -> dict[str, object]:
    [section] = [s for s in context["sections"] if s["id"] == "overdue"]
    return section


def test_each_audience_sees_its_escalation_steps(demo: sa.Engine) -> None:
    obligations = load_obligations(demo, POLICY, AS_OF)
    overdue = obligations.overdue
    # 实名制: people are shown by their real name where the directory has one.
    members = load_members(demo)
    real = members["real_name"].where(members["real_name"].fillna("") != "")
    names = real.fillna(members["display_name"]).set_axis(members["member_id"])
    period = digest_period("week", AS_OF, POLICY)
    digests = build_digests(demo, POLICY, period, providers=standard_providers(demo, POLICY, AS_OF))
    assert digests
    for digest in digests:
        scope = digest.scope
        step = 2 if scope.audience == "owner" else 1
        mine = overdue[overdue["group_id"].isin(scope.groups) & (overdue["escalation"] >= step)]
        section = _overdue_section(digest.context)
        items = section["data"]["items"]
        assert sorted((i["message_id"], i["assignee"]) for i in items) == sorted(
            (m, names[a]) for m, a in zip(mine["message_id"], mine["assignee_id"], strict=True)
        )
        assert section["has_content"] == bool(len(mine))
        minutes = [i["overdue_minutes"] for i in items]
        assert minutes == sorted(minutes, reverse=True)
    assert any(_overdue_section(d.context)["has_content"] for d in digests)


def test_overdue_items_are_rendered_in_both_parts(demo: sa.Engine) -> None:
    period = digest_period("week", AS_OF, POLICY)
    digests = build_digests(demo, POLICY, period, providers=standard_providers(demo, POLICY, AS_OF))
    digest = next(d for d in digests if _overdue_section(d.context)["has_content"])
    first = _overdue_section(digest.context)["data"]["items"][0]
    for language in ("zh-CN", "en"):
        out = render_email("digest", digest.context, language=language, images=digest.images)
        assert first["assignee"] in out.text and first["assignee"] in out.html
    zh = render_email("digest", digest.context, language="zh-CN", images=digest.images)
    assert "逾期" in zh.text


def test_a_quiet_week_with_overdue_items_still_has_something_to_say(demo: sa.Engine) -> None:
    later = datetime(2026, 12, 7, 9, 0, tzinfo=POLICY.tz)  # the week of 11-30: no messages at all
    period = digest_period("week", later, POLICY)
    digests = build_digests(demo, POLICY, period, providers=standard_providers(demo, POLICY, later))
    owners = [d for d in digests if d.scope.audience == "owner"]
    assert owners and all(
        d.has_content for d in owners if _overdue_section(d.context)["has_content"]
    )
    assert any(d.has_content for d in owners)
