"""The moderation record in the store: recording is idempotent, flagged messages for the
archive, and the migration keeps the non-response violations recorded before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command

from groupops.db import make_engine
from groupops.db.engine import alembic_config
from groupops.moderation import flagged_messages, load_violations, record_detections
from groupops.moderation.detect import Detection
from groupops.moderation.store import record_admin_violation

T0 = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)


def detection(category: str, ids: tuple[str, ...], minutes: int = 0) -> Detection:
    return Detection(
        "wecom", "g", "x", category, f"{category}_rule", ids, T0 + timedelta(minutes=minutes)
    )


def test_recording_twice_adds_nothing_and_refreshes_evidence(engine: sa.Engine) -> None:
    assert record_detections(engine, [detection("ad", ("m1",))], T0) == 1
    assert record_detections(engine, [detection("ad", ("m1",))], T0) == 0
    assert record_detections(engine, [detection("flood", ("m1", "m2"))], T0) == 1
    # the flood grew: same first message, same violation, fresh evidence
    assert record_detections(engine, [detection("flood", ("m1", "m2", "m3"), 1)], T0) == 1
    stored = load_violations(engine)
    assert [(v.category, v.message_ids) for v in stored] == [
        ("ad", ("m1",)),
        ("flood", ("m1", "m2", "m3")),
    ]


def test_flagged_messages_by_category_and_instant(engine: sa.Engine) -> None:
    record_detections(
        engine,
        [
            detection("ad", ("m1",)),
            detection("vulgar", ("m2",), 10),
            detection("confidential", ("m3",), 20),
            detection("flood", ("m4", "m5"), 30),
        ],
        T0,
    )
    flagged = flagged_messages(engine, ["ad", "vulgar", "flood"], T0 + timedelta(minutes=10))
    assert [(f.message_id, f.category) for f in flagged] == [("m1", "ad"), ("m2", "vulgar")]
    later = flagged_messages(engine, ["flood"], T0 + timedelta(hours=1))
    assert [f.message_id for f in later] == ["m4", "m5"]


def test_admin_violations_are_recorded_once(engine: sa.Engine) -> None:
    args = {
        "platform": "wecom", "group_id": "g", "member_id": "x", "category": "rumour",
        "message_ids": ["m9"], "at": T0, "recorded_by": "adm", "note": "造谣", "now": T0,
    }  # fmt: skip
    first, created = record_admin_violation(engine, **args)
    again, created_again = record_admin_violation(engine, **args)
    assert (created, created_again, first.id) == (True, False, again.id)
    assert (first.source, first.recorded_by, first.rule, first.note) == (
        "admin",
        "adm",
        "admin",
        "造谣",
    )


def test_the_migration_keeps_non_response_violations(db_url: str) -> None:
    config = alembic_config(db_url)
    command.downgrade(config, "0002")
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO groups (platform, group_id, name, admin_ids, content_hash, "
                    "updated_at) VALUES ('wecom', 'g', 'G', '[]', 0, :t)"
                ),
                {"t": T0 if conn.dialect.name != "sqlite" else "2026-11-10 04:00:00"},
            )
            for i, minutes in ((1, 0), (2, 90)):
                conn.execute(
                    sa.text(
                        "INSERT INTO messages (platform, group_id, message_id, sender_id, "
                        "sent_at, kind, text, mentions, mention_all, pinned, content_hash, "
                        "updated_at) VALUES ('wecom', 'g', :m, 'boss', :t, 'text', 'x', '[]', "
                        "false, false, 0, :t)"
                    ),
                    {
                        "m": f"m{i}",
                        "t": (T0 + timedelta(minutes=minutes))
                        if conn.dialect.name != "sqlite"
                        else f"2026-11-10 0{4 + minutes // 60}:{minutes % 60:02d}:00",
                    },
                )
            conn.execute(
                sa.text(
                    "INSERT INTO violations (platform, group_id, member_id, type, period, count, "
                    "evidence_message_ids, created_at, updated_at) VALUES ('wecom', 'g', 'bob', "
                    "'non-response', '2026-11', 2, '[\"m1\",\"m2\"]', :t, :t)"
                ),
                {"t": T0 if conn.dialect.name != "sqlite" else "2026-11-10 04:00:00"},
            )
        command.upgrade(config, "head")
        (kept,) = load_violations(engine)
        assert (kept.category, kept.evidence_key, kept.message_ids, kept.rule) == (
            "non_response",
            "period:2026-11",
            ("m1", "m2"),
            "non_response_threshold",
        )
        assert kept.at == T0 + timedelta(minutes=90)  # the latest evidence message
        # the id sequence goes on after the kept rows
        record_detections(engine, [detection("ad", ("m1",))], T0)
        assert sorted(v.id for v in load_violations(engine)) == [kept.id, kept.id + 1]
    finally:
        engine.dispose()
