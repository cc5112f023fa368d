"""Exports through the validated ingest, on SQLite and PostgreSQL: everything the importer
understood is stored, what it could not understand is in quarantine with its reason, and a
second run of the same export adds and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import create_engine

from groupops.db.models import QuarantineRecord
from groupops.db.queries import load_memberships, load_messages
from groupops.importers import open_source
from groupops.ingest import run_ingest
from groupops.policy import Policy
from groupops.settings import get_settings

FIX = Path(__file__).parent / "fixtures" / "exports"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        (FIX / "slack" / "workspace", "slack"),
        (FIX / "telegram" / "result.json", "telegram"),
        (FIX / "discord" / "ops-guild", "discord"),
        (FIX / "whatsapp" / "WhatsApp Chat with 市场运营群.txt", "whatsapp"),
        (FIX / "wechat" / "项目群_utf8.csv", "wechat-csv"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_export_ingests_and_reingests_to_nothing_new(
    engine: sa.Engine, path: Path, fmt: str
) -> None:
    source, chosen = open_source(path)
    assert chosen == fmt
    good = [r for r in source.records("messages") if r.data is not None]
    bad = sum(
        1
        for e in ("groups", "members", "memberships", "messages")
        for r in source.records(e)
        if r.error is not None
    )
    joins = [r for r in source.records("memberships") if r.data is not None]

    first = run_ingest(source, engine, Policy(), now=NOW)
    assert first.format == fmt
    assert first.total("quarantined") == bad
    assert len(load_messages(engine)) == len(good)
    assert len(load_memberships(engine)) == len(joins)
    with engine.connect() as conn:
        reasons = conn.execute(sa.select(QuarantineRecord.reason)).scalars().all()
    assert len(reasons) == bad and all(reasons)

    again, _ = open_source(path)
    second = run_ingest(again, engine, Policy(), now=NOW)
    assert (second.total("loaded"), second.total("updated")) == (0, 0)
    assert second.total("unchanged") == first.total("loaded")
    assert len(load_messages(engine)) == len(good)


def test_whatsapp_local_times_are_read_in_the_policy_zone(engine: sa.Engine) -> None:
    source, _ = open_source(FIX / "whatsapp" / "ambiguous.txt")
    run_ingest(source, engine, Policy(), now=NOW)
    sent = load_messages(engine).sort_values("sent_at")["sent_at"]
    # 09:00 in Asia/Shanghai (the default policy zone) is 01:00 UTC.
    assert [t.isoformat() for t in sent] == [
        "2025-01-12T01:00:00+00:00",
        "2025-02-01T01:00:00+00:00",
        "2025-02-02T01:00:00+00:00",
    ]


def test_cli_ingest_detects_the_format_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cli import app

    monkeypatch.setenv("GROUPOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        chat = str(FIX / "whatsapp" / "项目群-ios")
        result = runner.invoke(app, ["ingest", "--local", chat])
        assert result.exit_code == 0, result.output
        assert "format: whatsapp (detected)" in result.output
        again = runner.invoke(app, ["ingest", "--local", "--json", chat])
        assert again.exit_code == 0 and '"loaded": 0' in again.output

        ambiguous = str(FIX / "whatsapp" / "ambiguous.txt")
        forced = runner.invoke(app, ["ingest", "--local", "-o", "date_order=mdy", ambiguous])
        assert forced.exit_code == 0, forced.output
        messages = load_messages(create_engine(f"sqlite:///{tmp_path / 'cli.db'}"))
        stored = messages[messages["group_id"] == "ambiguous"]["sent_at"]
        assert sorted(t.date().isoformat() for t in stored) == [
            "2025-01-02",
            "2025-02-02",
            "2025-12-01",
        ]
        wrong = runner.invoke(app, ["ingest", "--local", "-o", "encoding=gbk", ambiguous])
        assert wrong.exit_code == 2
        assert "takes no option encoding" in " ".join(wrong.output.split())

        unknown = tmp_path / "notes.txt"
        unknown.write_text("nothing here\n", encoding="utf-8")
        refused = runner.invoke(app, ["ingest", "--local", str(unknown)])
        assert refused.exit_code == 1
        assert "not an export this version reads" in " ".join(refused.output.split())
    finally:
        get_settings.cache_clear()


@pytest.fixture
def store(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the settings (and so the flow) at the test's store."""
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


@pytest.mark.flow
@pytest.mark.usefixtures("prefect")
def test_flow_ingests_an_export_with_importer_options(store: str) -> None:
    from flows.ingest_activity import ingest_activity

    chat = str(FIX / "whatsapp" / "ambiguous.txt")
    first = ingest_activity(chat, format="whatsapp", options={"date_order": "mdy"})
    second = ingest_activity(chat, format="whatsapp", options={"date_order": "mdy"})
    assert first.format == "whatsapp" and first.total("loaded") == 6  # group, 2 members, 3
    assert (second.total("loaded"), second.total("updated")) == (0, 0)
    stored = load_messages(create_engine(store))["sent_at"]
    assert sorted(t.date().isoformat() for t in stored) == [
        "2025-01-02",
        "2025-02-02",
        "2025-12-01",
    ]


def test_a_later_whatsapp_export_updates_edited_and_deleted_messages_in_place(
    engine: sa.Engine, tmp_path: Path
) -> None:
    first_export = [
        "02/11/2026, 09:00 - 张三: 周会改到周三",
        "02/11/2026, 09:00 - 张三: 请大家确认",
        "02/11/2026, 09:05 - 李四: 收到",
    ]
    later_export = [
        "02/11/2026, 09:00 - 张三: 周会改到周四 <This message was edited>",
        "02/11/2026, 09:00 - 张三: 请大家确认",
        "02/11/2026, 09:05 - 李四: This message was deleted",
        "02/11/2026, 09:30 - 王五: 新消息",
    ]
    chat = tmp_path / "WhatsApp Chat with 项目群.txt"
    chat.write_text("\n".join(first_export) + "\n", encoding="utf-8")
    run_ingest(open_source(chat)[0], engine, Policy(), now=NOW)
    chat.write_text("\n".join(later_export) + "\n", encoding="utf-8")
    summary = run_ingest(open_source(chat)[0], engine, Policy(), now=NOW)
    by_entity = {e.entity: (e.loaded, e.updated, e.unchanged) for e in summary.entities}
    assert by_entity["messages"] == (1, 2, 1)
    texts = load_messages(engine).sort_values(["sent_at", "message_id"])["text"].tolist()
    assert sorted(texts) == sorted(
        ["周会改到周四", "请大家确认", "This message was deleted", "新消息"]
    )
