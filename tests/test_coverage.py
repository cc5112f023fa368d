"""A digest never misleads: it states the data it stands on, a period without data is held (and
``groupops digest --send`` says why and exits 1), a comparison with a period without full data
says "no comparable data", a partial period is marked, and a member who spoke is never "never".

The demo's data runs from Sat 2026-10-24 to Fri 2026-11-20 (data/demo)."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli import app
from groupops.activity.coverage import (
    GroupCoverage,
    SourceFreshness,
    comparable,
    hold_reason,
    load_coverage,
    period_coverage,
)
from groupops.activity.stats import load_stats
from groupops.clock.workclock import WorkClock
from groupops.db import session_scope
from groupops.db.models import ConnectorWatermark
from groupops.digest import build_digests, digest_period, prepare_digests
from groupops.ingest import open_bundle, run_ingest
from groupops.mail import render_email
from groupops.policy import Policy
from groupops.settings import get_settings

POLICY = Policy()
TZ = POLICY.tz
CLOCK = WorkClock.from_policy(POLICY)


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=TZ)


@pytest.fixture
def demo(engine: sa.Engine) -> sa.Engine:
    run_ingest(open_bundle("data/demo"), engine, POLICY)
    return engine


def _group(
    first: datetime | None, last: datetime | None, *sources: SourceFreshness
) -> GroupCoverage:
    return GroupCoverage("wecom", "g", "项目运营群", first, last, 10 if first else 0, sources)


# (what, first, last, since, until, status) — the week 11-16 (Mon) .. 11-23; October 2026's
# first working day is Thu 10-08 (国庆 10/1-7 off), its last Fri 10-30.
RULE = [
    ("whole week", local(2026, 11, 1), local(2026, 11, 27), local(2026, 11, 16), local(2026, 11, 23), "full"),
    ("Friday's data ends the week", local(2026, 11, 1), local(2026, 11, 20, 17), local(2026, 11, 16), local(2026, 11, 23), "full"),
    ("data ends on Wednesday", local(2026, 11, 1), local(2026, 11, 18, 17), local(2026, 11, 16), local(2026, 11, 23), "partial"),
    ("data starts on Tuesday", local(2026, 11, 17, 9), local(2026, 11, 27), local(2026, 11, 16), local(2026, 11, 23), "partial"),
    ("data ended before", local(2026, 10, 24), local(2026, 11, 20, 17), local(2026, 11, 30), local(2026, 12, 7), "none"),
    ("data starts after", local(2026, 12, 1), local(2026, 12, 20), local(2026, 11, 16), local(2026, 11, 23), "none"),
    ("October from 10-24", local(2026, 10, 24, 13), local(2026, 11, 20), local(2026, 10, 1), local(2026, 11, 1), "partial"),
    ("October from its first working day", local(2026, 10, 8, 10), local(2026, 11, 20), local(2026, 10, 1), local(2026, 11, 1), "full"),
    ("nothing ingested", None, None, local(2026, 11, 16), local(2026, 11, 23), "none"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "first", "last", "since", "until", "status"), RULE,
                         ids=[r[0] for r in RULE])  # fmt: skip
def test_period_coverage_rule(
    what: str, first: datetime, last: datetime, since: datetime, until: datetime, status: str
) -> None:
    assert period_coverage(_group(first, last), since, until, CLOCK).status == status


def test_a_live_connector_covers_the_quiet_hours_up_to_its_last_pull() -> None:
    pulled = SourceFreshness("feishu-main", "connector", local(2026, 11, 23, 8), None)
    quiet = _group(local(2026, 11, 1), local(2026, 11, 18, 17), pulled)
    assert period_coverage(quiet, local(2026, 11, 16), local(2026, 11, 23), CLOCK).status == "full"


def test_hold_only_when_no_group_has_data() -> None:
    since, until = local(2026, 11, 30), local(2026, 12, 7)
    stale = _group(local(2026, 10, 24), local(2026, 11, 20, 17, 55),
                   SourceFreshness("data/demo", "import", local(2026, 11, 21, 9), None))  # fmt: skip
    fresh = GroupCoverage("wecom", "h", "产品运营群", local(2026, 11, 1), local(2026, 12, 4), 5)
    none = period_coverage(stale, since, until, CLOCK)
    reason = hold_reason([none], as_of=local(2026, 12, 7, 9))
    assert reason is not None
    assert "2026-11-30 – 2026-12-06" in reason and "项目运营群" in reason
    assert "newest message 2026-11-20 17:55" in reason
    assert "import data/demo, last ingested 2026-11-21 09:00, 16 days ago" in reason
    assert hold_reason([none, period_coverage(fresh, since, until, CLOCK)]) is None
    assert hold_reason([]) is None


def test_comparisons_need_both_periods_fully_covered() -> None:
    g = _group(local(2026, 10, 24, 13), local(2026, 11, 20, 17))
    weeks = [(local(2026, 11, 16), local(2026, 11, 23)), (local(2026, 11, 9), local(2026, 11, 16))]
    cur, prev = (period_coverage(g, s, u, CLOCK) for s, u in weeks)
    assert comparable([cur], [prev])
    october = period_coverage(g, local(2026, 10, 1), local(2026, 11, 1), CLOCK)
    september = period_coverage(g, local(2026, 9, 1), local(2026, 10, 1), CLOCK)
    assert (october.status, september.status) == ("partial", "none")
    assert not comparable([october], [september])


def test_coverage_of_the_demo_store(demo: sa.Engine) -> None:
    cov = load_coverage(demo, local(2026, 11, 23, 9))
    raw = [json.loads(line) for line in Path("data/demo/messages.jsonl").read_text().splitlines()]
    for (platform, group_id), g in cov.groups.items():
        sent = [datetime.fromisoformat(m["sent_at"]) for m in raw
                if (m["platform"], m["group_id"]) == (platform, group_id)]  # fmt: skip
        assert g.messages == len(sent)
        if sent:
            assert (g.first_at, g.last_at) == (min(sent), max(sent))
            assert [s.kind for s in g.sources] == ["import"]
            assert g.sources[0].messages == len(sent)
    # Judged earlier, later messages are not known yet.
    early = load_coverage(demo, local(2026, 11, 1))
    assert all(g.last_at is None or g.last_at <= local(2026, 11, 1) for g in early.groups.values())


def test_a_week_after_the_data_is_held_with_its_reason(demo: sa.Engine, tmp_path: Path) -> None:
    later = local(2026, 12, 7, 9)
    outcomes = prepare_digests(demo, POLICY, kind="week", as_of=later, outbox_dir=tmp_path / "o",
                               sender="ops@example.com")  # fmt: skip
    assert outcomes and {o.outcome for o in outcomes} == {"held"}
    assert all(o.reason and "no data ingested for 2026-11-30 – 2026-12-06" in o.reason
               for o in outcomes)  # fmt: skip
    assert not (tmp_path / "o").exists()


def test_the_october_monthly_is_partial_and_compares_with_nothing(demo: sa.Engine) -> None:
    period = digest_period("month", local(2026, 11, 1, 9), POLICY)
    digests = build_digests(demo, POLICY, period, as_of=local(2026, 11, 1, 9))
    owner = next(d for d in digests if d.scope.audience == "owner")
    assert owner.held is None
    cov = owner.context["coverage"]
    assert cov["partial"] and not cov["comparable"]
    activity = owner.context["sections"][0]["data"]
    assert all(f["change"]["direction"] == "nodata" for f in activity["summary"])
    zh = render_email("digest", owner.context, language="zh-CN", images=owner.images)
    en = render_email("digest", owner.context, language="en", images=owner.images)
    assert "无可比数据" in zh.text and "无可比数据" in zh.html and "本期数据不完整" in zh.text
    assert "no comparable data" in en.text.lower() and "partial period" in en.text
    assert "%" not in zh.text.split("==")[1]  # no change percentages in the activity figures
    assert "▲" not in zh.html and "▼" not in zh.html


def test_a_full_week_compares_and_states_its_sources(demo: sa.Engine) -> None:
    as_of = local(2026, 11, 23, 9)
    digests = build_digests(demo, POLICY, digest_period("week", as_of, POLICY), as_of=as_of)
    owner = next(d for d in digests if d.scope.audience == "owner")
    cov = owner.context["coverage"]
    assert cov["comparable"] and not cov["partial"] and cov["no_data"] == []
    zh = render_email("digest", owner.context, language="zh-CN", images=owner.images)
    assert "数据范围" in zh.text and "导入 data/demo" in zh.text and "无可比数据" not in zh.text


def test_a_member_who_spoke_is_never_never(demo: sa.Engine) -> None:
    # Three weeks after the data ends, the loaded window holds nobody's messages.
    period = digest_period("week", local(2026, 12, 14, 9), POLICY)
    stats = load_stats(demo, period, POLICY)
    raw = [json.loads(line) for line in Path("data/demo/messages.jsonl").read_text().splitlines()]
    spoke = {(m["group_id"], m["sender_id"]) for m in raw if m["kind"] != "system"}
    members = stats.members
    for row in members.to_dict("records"):
        if (row["group_id"], row["member_id"]) in spoke:
            assert pd.notna(row["last_seen_at"]), row
            last = max(datetime.fromisoformat(m["sent_at"]) for m in raw
                       if (m["group_id"], m["sender_id"]) == (row["group_id"], row["member_id"])
                       and m["kind"] != "system")  # fmt: skip
            assert row["last_seen_at"] == last


def test_cli_send_says_why_and_exits_1(
    demo: sa.Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", db_url)
    monkeypatch.setenv("GROUPOPS_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.delenv("GROUPOPS_SMTP_HOST", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        args = ["digest", "--period", "week", "--as-of", "2026-12-07T09:00", "--local"]
        sent = runner.invoke(app, [*args, "--send"], terminal_width=200)
        assert sent.exit_code == 1, sent.output
        assert (
            "held" in sent.output and "no data ingested for 2026-11-30 – 2026-12-06" in sent.output
        )
        dry = runner.invoke(app, args, terminal_width=200)
        assert dry.exit_code == 0 and "held" in dry.output
        ok = runner.invoke(app, ["digest", "--period", "week", "--as-of", "2026-11-23T09:00",
                                 "--local", "--send"], terminal_width=200)  # fmt: skip
        assert ok.exit_code == 0, ok.output
    finally:
        get_settings.cache_clear()


def test_coverage_knows_connector_pulls(demo: sa.Engine) -> None:
    with session_scope(demo) as s:
        s.add(ConnectorWatermark(source="wecom-live", group_id="proj-ops", platform="wecom",
                                 cursor=None, at=local(2026, 11, 20, 17),
                                 pulled_at=local(2026, 11, 30, 9), messages=3))  # fmt: skip
    cov = load_coverage(demo, local(2026, 12, 7, 9))
    g = cov.group("wecom", "proj-ops")
    assert sorted(s.kind for s in g.sources) == ["connector", "import"]
    assert g.data_end == local(2026, 11, 30, 9).astimezone(UTC)
    # The pull on 11-30 09:00 covers nothing of the week 11-30 .. 12-06 beyond Monday morning.
    week = period_coverage(g, local(2026, 11, 30), local(2026, 12, 7), CLOCK)
    assert week.status == "partial"
    assert load_coverage(demo, local(2026, 11, 29)).group("wecom", "proj-ops").data_end == (
        g.last_at
    )
    assert timedelta(0) < (local(2026, 12, 7, 9) - g.data_end)


@pytest.mark.parametrize(
    ("as_of", "outcome", "reason"),
    [
        ("2026-12-07T09:00", "held", "no data ingested for 2026-11-30 – 2026-12-06"),
        ("2026-11-23T09:00", "queued", None),
    ],
)
def test_the_held_reason_is_stored_and_in_the_json(
    demo: sa.Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    as_of: str, outcome: str, reason: str | None,
) -> None:  # fmt: skip
    from groupops.digest import digest_log

    monkeypatch.setenv("GROUPOPS_DATABASE_URL", db_url)
    monkeypatch.setenv("GROUPOPS_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    get_settings.cache_clear()
    try:
        args = ["digest", "--period", "week", "--as-of", as_of, "--local", "--json"]
        result = CliRunner().invoke(app, args, terminal_width=200)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows and {r["outcome"] for r in rows} == {outcome}
    stored = {r["key"]: (r["outcome"], r["reason"]) for r in digest_log(demo)}
    for row in rows:
        assert stored[row["key"]] == (outcome, row["reason"])
        assert (row["reason"] is None) if reason is None else (reason in row["reason"])


@pytest.mark.parametrize(
    "as_of", [local(2026, 11, 23, 9), local(2026, 12, 14, 9), local(2026, 11, 1, 9)]
)
def test_last_seen_is_read_only_for_members_the_window_missed(
    demo: sa.Engine, as_of: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fill_last_seen`` reads the store's last messages only for the members the loaded
    window has none of (none: no read) and gives what filling from every sender's gave."""
    import groupops.activity.stats as st
    from groupops.db.queries import load_last_messages

    seen: list[st.ActivityStats] = []
    real = st.fill_last_seen

    def spy(engine: sa.Engine, stats: st.ActivityStats, **kw: object) -> st.ActivityStats:
        seen.append(stats)
        return real(engine, stats, **kw)

    monkeypatch.setattr(st, "fill_last_seen", spy)
    period = digest_period("week", as_of, POLICY)
    until = period.until
    for groups in (None, ["proj-ops"]):
        got = load_stats(demo, period, POLICY, groups=groups)
        before = seen[-1]
        every = st._with_last_seen(before, load_last_messages(demo, until=until, groups=groups))
        pd.testing.assert_frame_equal(got.members, every.members)
        for field in fields(got):  # only the members are filled
            if field.name != "members":
                assert getattr(got, field.name) is getattr(before, field.name)
        # members the window missed (forced): read for them only, or for everyone past the cap
        members = before.members.copy()
        members.loc[members.index[::3], "last_seen_at"] = pd.NaT
        missed = st.replace(before, members=members)
        reference = st._with_last_seen(missed, load_last_messages(demo, until=until, groups=groups))
        for cap in (st.LAST_SEEN_SENDERS, 0):
            monkeypatch.setattr(st, "LAST_SEEN_SENDERS", cap)
            filled = real(demo, missed, until=until, groups=groups)
            pd.testing.assert_frame_equal(filled.members, reference.members)
