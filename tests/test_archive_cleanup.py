"""Cleanup on a real store (SQLite and PostgreSQL): preview changes nothing but the log, apply
archives and purges, restore gives back every row column for column, a second apply changes
nothing, the guard refuses over the fraction, pinned and held messages are never purged; and
the commands with the issue's JSON fields."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli import app
from groupops.archive.cleanup import cleanup, restore
from groupops.archive.store import MESSAGE_FIELDS, add_hold, load_register, load_runs, remove_hold
from groupops.db import make_engine, upgrade
from groupops.db.models import ArchiveEntry, Message, PurgedMessage
from groupops.ingest.bundle import open_bundle
from groupops.ingest.pipeline import run_ingest
from groupops.moderation.detect import Detection
from groupops.moderation.store import record_detections
from groupops.policy import Policy
from groupops.settings import get_settings
from tests.bundles import dated_message, write_bundle

TZ = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2026, 11, 20, 18, 0, tzinfo=TZ)
NOW = datetime(2026, 11, 20, 18, 5, tzinfo=TZ)
POLICY = Policy()


m = partial(dated_message, sender="u3")  # the cleanup tests' messages are u3's unless said


MESSAGES = [
    m("n-old", "11-01 10:00", "【通知】周会改到周二下午", sender="u1", mention_all=True),
    m("n-valid", "11-01 10:05", "【通知】优惠有效期至11月25日", sender="u2"),
    m("n-event", "11-10 10:00", "【通知】年会于11月15日晚上7点举行", sender="u2"),
    m("n-room", "11-12 10:00", "【通知】会议室调整：三楼", sender="u2"),
    m("n-room2", "11-14 10:00", "【通知】会议室调整（更新）：四楼", sender="u2"),
    m("dup-1", "11-16 10:00", "周报模板已经放到共享盘了，请查收"),
    m("dup-2", "11-17 10:00", "周报模板已经放到共享盘了，请查收"),
    m("ack-1", "11-16 11:00", "收到"),
    m("ack-2", "11-16 11:01", "收到"),
    m("pinned", "11-01 09:00", "【公告】旧的群规", sender="u1", pinned=True),
    m("held", "11-01 09:30", "【通知】合同归档安排", sender="u2"),
    m("dup-new", "11-20 12:00", "周报模板已经放到共享盘了，请查收"),
    m("ad", "11-18 20:00", "加微信领优惠券，名额有限速来"),
    m("important", "11-02 09:00", "【重要】预算冻结到月底", sender="u1"),
    *[m(f"f{i:02d}", f"11-{10 + i % 9:02d} 1{i % 8}:{i:02d}", f"第{i}条闲聊") for i in range(30)],
]
STALE = {"n-old": "expired", "n-event": "expired", "n-room": "superseded", "dup-2": "duplicate",
         "ad": "off_topic"}  # fmt: skip
EXEMPT = {"pinned": "still pinned", "held": "legal hold", "dup-new": "newer than"}


def seed(engine: sa.Engine, folder: Path, messages: list[dict[str, Any]] = MESSAGES) -> None:
    write_bundle(folder, messages=messages)
    summary = run_ingest(open_bundle(folder), engine, POLICY, now=AS_OF)
    assert summary.exit_code == 0, summary
    det = Detection("wecom", "proj", "u3", "ad", "ad_words", ("ad",),
                    datetime(2026, 11, 18, 20, 0, tzinfo=TZ), ("加微信",), "加微信…")  # fmt: skip
    record_detections(engine, [det], NOW)
    add_hold(engine, "held", reason="劳动仲裁取证", by="legal", now=NOW)


def purged_ids(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(PurgedMessage.message_id)).scalars())


def rows(engine: sa.Engine, model: type[Any]) -> list[tuple[Any, ...]]:
    table = model.__table__
    with engine.connect() as conn:
        return [
            tuple(r) for r in conn.execute(sa.select(table).order_by(*table.primary_key.columns))
        ]


@pytest.fixture
def seeded(engine: sa.Engine, tmp_path: Path) -> sa.Engine:
    seed(engine, tmp_path / "bundle")
    return engine


def test_preview_lists_candidates_and_exempt_and_changes_nothing(seeded: sa.Engine) -> None:
    before = rows(seeded, Message)
    result = cleanup(seeded, POLICY, AS_OF, now=NOW, ran_by="admin")
    out = result.as_dict(TZ)
    assert out["mode"] == "preview"
    assert {c["message_id"]: c["reason"] for c in out["candidates"]} == STALE
    assert {e["message_id"] for e in out["exempt"]} == set(EXEMPT)
    for e in out["exempt"]:
        assert EXEMPT[e["message_id"]] in e["why"]
    assert all(set(c) >= {"group_id", "message_id", "reason", "detail"} for c in out["candidates"])
    assert rows(seeded, Message) == before
    assert rows(seeded, PurgedMessage) == [] and rows(seeded, ArchiveEntry) == []
    (logged,) = load_runs(seeded)
    assert (logged["run_id"], logged["mode"], logged["ran_by"], logged["candidates"]) == (
        result.run_id, "preview", "admin", len(STALE),
    )  # fmt: skip
    assert {c["message_id"] for c in logged["detail"]["candidates"]} == set(STALE)


def test_apply_then_restore_gives_back_every_row(seeded: sa.Engine) -> None:
    before = rows(seeded, Message)
    applied = cleanup(seeded, POLICY, AS_OF, now=NOW, ran_by="admin", apply=True)
    assert applied.mode == "applied" and applied.purged == len(STALE)
    assert purged_ids(seeded) == set(STALE)
    with seeded.connect() as conn:  # each kept whole: every column of its messages row
        copies = {
            r.message_id: tuple(getattr(r, f) for f in MESSAGE_FIELDS)
            for r in conn.execute(sa.select(PurgedMessage))
        }
    originals = {r[2]: r for r in before}
    assert all(copies[k] == originals[k] for k in STALE)
    register = {e.message_id: e.rules for e in load_register(seeded)}
    assert register["important"] == ("importance_marker",)
    assert register["pinned"] == ("pinned",)
    assert register["n-old"] == ("mention_all_by_admin",)  # the owner's @all: archived first
    assert "ad" in register and "violation_evidence" in register["ad"]
    # the platform: no connector here, so each purge is an admin to-do
    assert {a["status"] for a in applied.actions} == {"todo"}

    # a second apply of the same preview changes nothing
    state = (rows(seeded, Message), rows(seeded, PurgedMessage), rows(seeded, ArchiveEntry))
    again = cleanup(
        seeded, POLICY, AS_OF, now=NOW + timedelta(minutes=1), ran_by="admin", apply=True
    )
    assert again.purged == 0 and again.archived == 0 and again.plan.candidates == []
    assert (rows(seeded, Message), rows(seeded, PurgedMessage), rows(seeded, ArchiveEntry)) == state

    done = restore(seeded, applied.run_id, by="admin", now=NOW + timedelta(hours=1))
    assert {k[2] for k in done.restored} == set(STALE)
    assert rows(seeded, Message) == before  # every column of every row
    assert restore(seeded, applied.run_id, by="admin", now=NOW).restored == []
    # restored messages are candidates again for the next run
    assert {
        c.message_id for c in cleanup(seeded, POLICY, AS_OF, now=NOW, ran_by="a").plan.candidates
    } == set(STALE)


def test_hard_deletion_only_after_the_restore_window(seeded: sa.Engine) -> None:
    applied = cleanup(seeded, POLICY, AS_OF, now=NOW, ran_by="admin", apply=True)
    window = timedelta(days=POLICY.notices.restore_window_days)
    early = cleanup(
        seeded,
        POLICY,
        AS_OF + window - timedelta(hours=1),
        now=NOW,
        ran_by="a",
        apply=True,
        force=True,
    )
    assert early.deleted == 0
    late = cleanup(seeded, POLICY, AS_OF + window, now=NOW, ran_by="a", apply=True, force=True)
    assert late.deleted == len(STALE)
    with seeded.connect() as conn:
        left = set(conn.execute(sa.select(Message.message_id)).scalars())
    assert not (left & set(STALE))
    gone = restore(seeded, applied.run_id, by="admin", now=NOW)
    assert gone.restored == [] and {k[2] for k in gone.deleted} == set(STALE)


def test_guard_refuses_over_the_fraction_unless_forced(engine: sa.Engine, tmp_path: Path) -> None:
    few = [m("a", "11-01 10:00", "【通知】旧安排一"), m("b", "11-01 10:01", "【通知】旧安排二"),
           *[m(f"k{i}", "11-15 10:00", f"第{i}条") for i in range(5)]]  # fmt: skip
    write_bundle(tmp_path / "b", messages=few)
    assert run_ingest(open_bundle(tmp_path / "b"), engine, POLICY, now=AS_OF).exit_code == 0
    refused = cleanup(engine, POLICY, AS_OF, now=NOW, ran_by="a", apply=True)
    assert refused.mode == "preview" and refused.purged == 0
    assert refused.refused == [{"platform": "wecom", "group_id": "proj", "messages": 7, "purge": 2,
                                "fraction": round(2 / 7, 4), "limit": 0.2}]  # fmt: skip
    assert rows(engine, PurgedMessage) == []
    assert load_runs(engine)[0]["refused"]
    forced = cleanup(engine, POLICY, AS_OF, now=NOW, ran_by="a", apply=True, force=True)
    assert forced.mode == "applied" and forced.purged == 2


def test_pinned_and_held_are_never_purged_until_released(seeded: sa.Engine) -> None:
    cleanup(seeded, POLICY, AS_OF, now=NOW, ran_by="a", apply=True, force=True)
    assert not purged_ids(seeded) & {"pinned", "held"}
    remove_hold(seeded, "held", reason="结案", by="legal", now=NOW)
    later = cleanup(seeded, POLICY, AS_OF, now=NOW, ran_by="a", apply=True, force=True)
    assert [c.message_id for c in later.plan.candidates] == ["held"]
    assert "pinned" in {e.message_id for e in later.plan.exempt}


# -- the commands -----------------------------------------------------------------------------

RUNNER = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sa.Engine]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    engine = make_engine(url)
    seed(engine, tmp_path / "bundle")
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", url)
    monkeypatch.setenv("GROUPOPS_SOURCES_PATH", str(tmp_path / "none.toml"))
    get_settings.cache_clear()
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def cli(*args: str, code: int = 0) -> Any:
    result = RUNNER.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if "--json" in args else result.output


def test_cleanup_restore_and_hold_commands(store: sa.Engine) -> None:
    as_of = "2026-11-20T18:00"
    preview = cli("cleanup", "--as-of", as_of, "--json")
    assert set(preview) >= {"run_id", "mode", "candidates", "exempt"}
    assert preview["mode"] == "preview"
    assert {c["message_id"]: c["reason"] for c in preview["candidates"]} == STALE
    assert all(set(e) >= {"group_id", "message_id", "why"} for e in preview["exempt"])
    assert cli("cleanup", "--group", "mkt", "--as-of", as_of, "--json")["candidates"] == []

    cli("hold", "add", "dup-2", "--reason", "投诉取证", "--by", "legal")
    assert "dup-2" in {
        e["message_id"] for e in cli("cleanup", "--as-of", as_of, "--json")["exempt"]
    }
    assert "already held" in cli("hold", "add", "dup-2", "--reason", "again")
    cli("hold", "remove", "dup-2", "--reason", "结案")
    cli("hold", "add", "nope", "--reason", "x", code=2)

    applied = cli("cleanup", "--as-of", as_of, "--apply", "--json")
    assert applied["mode"] == "applied" and len(applied["candidates"]) == len(STALE)
    restored = cli("restore", applied["run_id"], "--json")
    assert {r["message_id"] for r in restored["restored"]} == set(STALE)
    cli("restore", "no-such-run", code=2)
    table = cli("cleanup", "--as-of", as_of)
    assert "preview only" in table


def test_cleanup_refusal_exits_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'small.db'}"
    upgrade(url)
    engine = make_engine(url)
    write_bundle(
        tmp_path / "b",
        messages=[m("a", "11-01 10:00", "【通知】旧安排"), m("b", "11-15 10:00", "第1条")],
    )
    assert run_ingest(open_bundle(tmp_path / "b"), engine, POLICY, now=AS_OF).exit_code == 0
    engine.dispose()
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", url)
    monkeypatch.setenv("GROUPOPS_SOURCES_PATH", str(tmp_path / "none.toml"))
    get_settings.cache_clear()
    try:
        out = cli("cleanup", "--as-of", "2026-11-20T18:00", "--apply", "--json", code=3)
        assert out["mode"] == "preview" and out["refused"][0]["group_id"] == "proj"
        assert (
            cli("cleanup", "--as-of", "2026-11-20T18:00", "--apply", "--force", "--json")["mode"]
            == "applied"
        )
    finally:
        get_settings.cache_clear()


def test_now_is_not_used_for_judging() -> None:
    # time is an argument: the run id carries as_of's local minute, never the wall clock
    from groupops.archive.cleanup import new_run_id

    assert new_run_id(datetime(2026, 11, 20, 10, 0, tzinfo=UTC), TZ).startswith(
        "cleanup-20261120T1800-"
    )


class Recalling:
    """A connector that can recall (the platform side of a purge), one message refused."""

    def __init__(self) -> None:
        from groupops.connectors.base import Capability, Connector, PlatformError

        class _Conn(Connector):
            platform = "wecom"
            capabilities = Capability.RECALL_MESSAGE

            def __init__(self, outer: Recalling) -> None:
                super().__init__()
                self.outer = outer

            def _recall(self, group_id: str, message_id: str, reason: str | None) -> None:
                if message_id == "ad":
                    raise PlatformError("too old to recall", status=400, code="expired")
                self.outer.recalled.append((group_id, message_id, reason))

        self.recalled: list[tuple[str, str, str | None]] = []
        self.connector = _Conn(self)

    def __call__(self, platform: str, group_id: str) -> Any:
        return ("wecom-live", self.connector) if group_id == "proj" else None


def test_recall_through_a_connector_else_a_todo(seeded: sa.Engine) -> None:
    from groupops.archive.store import load_actions

    pool = Recalling()
    applied = cleanup(seeded, POLICY, AS_OF, now=NOW, ran_by="a", apply=True, connector_for=pool)
    assert {m for _g, m, _r in pool.recalled} == set(STALE) - {"ad"}
    assert all(r and r.startswith("groupops cleanup: ") for _g, _m, r in pool.recalled)
    status = {a["message_id"]: (a["action"], a["status"], a["via"]) for a in load_actions(seeded)}
    assert status["ad"] == ("recall", "failed", "wecom-live")
    assert status["n-old"] == ("recall", "done", "wecom-live")
    # restoring a recalled message cannot undo the recall: an admin to-do to post it again
    restore(seeded, applied.run_id, by="a", now=NOW)
    reposts = [a for a in load_actions(seeded) if a["action"] == "repost"]
    assert {a["message_id"] for a in reposts} == set(STALE) - {"ad"}
    assert {a["status"] for a in reposts} == {"todo"}
