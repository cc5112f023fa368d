"""On the demo data, `groupops moderate` (caught up over the demo's period, as the schedule would
have run) then `groupops violations --json` finds exactly the violations the generator planted,
with their ladder steps and when each was notified; `groupops appeals --json` gives exactly the
appeals planted (upheld → the violation revoked, rejected, late, answer overdue);
`groupops roster check --json` finds exactly the roster findings it planted
(data/demo/planted.json)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from groupops.settings import get_settings

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
PLANTED = json.loads((DEMO / "planted.json").read_text(encoding="utf-8"))
AS_OF = PLANTED["as_of"]
SINCE = PLANTED["period"]["since"]
RUNNER = CliRunner()


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo bundle (with its roster) ingested, then moderation caught up to as_of."""
    root = tmp_path_factory.mktemp("demo-moderation")
    env = {
        "GROUPOPS_DATABASE_URL": f"sqlite:///{root / 'store.db'}",
        "GROUPOPS_OUTBOX_DIR": str(root / "outbox"),
        "GROUPOPS_SOURCES_PATH": str(root / "no-sources.toml"),
    }
    mp = pytest.MonkeyPatch()
    for key, value in env.items():
        mp.setenv(key, value)
    get_settings.cache_clear()
    ingested = RUNNER.invoke(
        app, ["ingest", str(DEMO), "--format", "canonical", "--local", "--json"]
    )
    assert ingested.exit_code == 0, ingested.output
    first = RUNNER.invoke(
        app, ["moderate", "--since", SINCE, "--as-of", AS_OF, "--local", "--json"]
    )
    assert first.exit_code == 0, first.output
    yield root
    mp.undo()
    get_settings.cache_clear()


def cli_json(*args: str) -> object:
    result = RUNNER.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_violations_are_exactly_the_planted_ones_with_their_ladder_steps(demo_store: Path) -> None:
    rows = cli_json("violations", "--as-of", AS_OF, "--json")
    fields = ("group_id", "member_id", "category", "message_ids", "at", "penalty",
              "decided_at", "state")  # fmt: skip
    got = [{k: r[k] for k in fields} for r in rows]
    key = lambda d: (d["at"], d["group_id"], d["member_id"])  # noqa: E731  (a sort key)
    assert sorted(got, key=key) == PLANTED["violations"]["decided"]
    assert {r["state"] for r in rows} == {"active", "revoked"}
    evidence = {m for r in rows for m in r["message_ids"]}
    assert not evidence & set(PLANTED["violations"]["not_violations"])


def test_appeals_are_exactly_the_planted_ones(demo_store: Path) -> None:
    by_evidence = {
        tuple(r["message_ids"]): r["violation_id"]
        for r in cli_json("violations", "--as-of", AS_OF, "--json")
    }
    rows = cli_json("appeals", "--as-of", AS_OF, "--json")
    fields = ("group_id", "member_id", "filed_at", "appeal_deadline", "answer_due_at", "state",
              "overdue_working_minutes", "decided_at", "decided_by")  # fmt: skip
    got = sorted(
        ({k: r[k] for k in ("violation_id", "message_id", *fields)} for r in rows),
        key=lambda r: r["filed_at"],
    )
    want = sorted(
        (
            {
                "violation_id": by_evidence[tuple(a["violation_message_ids"])],
                "message_id": a["message_id"],
                **{k: a[k] for k in fields},
            }
            for a in PLANTED["appeals"]
        ),
        key=lambda r: r["filed_at"],
    )
    assert got == want
    assert {a["state"] for a in PLANTED["appeals"]} == {
        "upheld", "rejected", "late", "answer_overdue",
    }  # fmt: skip
    # Before the admin's answer, the upheld appeal was pending and its violation active.
    upheld = next(a for a in PLANTED["appeals"] if a["state"] == "upheld")
    before = cli_json("appeals", "--as-of", upheld["filed_at"], "--json")
    assert [r["state"] for r in before if r["message_id"] == upheld["message_id"]] == ["pending"]


def test_a_second_run_changes_nothing(demo_store: Path) -> None:
    again = cli_json("moderate", "--since", SINCE, "--as-of", AS_OF, "--local", "--json")
    assert (again["recorded"], again["decisions"], again["notices"], again["actions"]) == (
        0, [], [], [],
    )  # fmt: skip
    assert (again["appeals_filed"], again["appeals_answered"]) == ([], [])


def test_notices_went_to_the_members_admins_and_department_heads(demo_store: Path) -> None:
    outbox = sorted(p.name for p in (demo_store / "outbox").glob("*.eml"))
    assert any(name.endswith("department.eml") for name in outbox)
    assert any(name.endswith("member.eml") for name in outbox)
    assert any(name.endswith("owner.eml") for name in outbox)  # severe: the owner is told


def test_roster_findings_are_exactly_the_planted_ones(demo_store: Path) -> None:
    findings = cli_json("roster", "check", "--as-of", AS_OF, "--json")
    got = [{k: f[k] for k in ("kind", "group_id", "member_id")} for f in findings]
    assert got == PLANTED["roster_findings"]
