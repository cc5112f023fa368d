"""The validated, idempotent ingest on SQLite and PostgreSQL: every bad-input case lands in
quarantine with file, line, field and reason, never blocks good rows, never touches stored data."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from groupops.db.models import IngestRun, QuarantineRecord
from groupops.db.queries import load_groups, load_members, load_memberships, load_messages
from groupops.ingest import BundleError, open_bundle, run_ingest
from groupops.policy import Policy
from tests.bundles import GROUPS, MEMBERS, MEMBERSHIPS, MESSAGES, message, write_bundle, write_csv

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
POLICY = Policy()


def ingest(engine: sa.Engine, path: Path, chunk_size: int = 50_000):
    return run_ingest(open_bundle(path), engine, POLICY, now=NOW, chunk_size=chunk_size)


def quarantined(engine: sa.Engine) -> list[tuple[str, int, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                QuarantineRecord.source_file,
                QuarantineRecord.line,
                QuarantineRecord.field,
                QuarantineRecord.reason,
            ).order_by(QuarantineRecord.source_file, QuarantineRecord.line)
        ).all()
    return [(Path(s).name, line, f, r) for s, line, f, r in rows]


def test_clean_bundle_loads_everything_and_twice_adds_nothing(
    engine: sa.Engine, tmp_path: Path
) -> None:
    bundle = write_bundle(tmp_path / "b")
    first = ingest(engine, bundle)
    assert (first.total("loaded"), first.total("updated"), first.total("quarantined")) == (11, 0, 0)
    assert first.exit_code == 0 and first.status == "clean"
    assert first.watermark == datetime(2026, 11, 2, 1, 4, tzinfo=UTC)

    second = ingest(engine, bundle)
    assert (second.total("loaded"), second.total("updated"), second.total("unchanged")) == (
        0,
        0,
        11,
    )
    assert second.exit_code == 0

    msgs = load_messages(engine)
    assert list(msgs["message_id"]) == ["m1", "m2", "m3", "m4"]
    assert (
        msgs.loc[0, "mentions"] == ["u2"] and msgs.loc[3, "mention_all"] and msgs.loc[3, "pinned"]
    )
    assert msgs.loc[1, "reply_to"] == "m1"
    assert len(load_groups(engine)) == 2 and len(load_members(engine)) == 3
    joins = load_memberships(engine)
    assert pd.isna(joins.set_index("member_id").loc["u3", "approved_by"])


def test_run_is_recorded_with_counts(engine: sa.Engine, tmp_path: Path) -> None:
    summary = ingest(engine, write_bundle(tmp_path / "b"))
    with engine.connect() as conn:
        run = conn.execute(sa.select(IngestRun)).one()
    assert run.id == summary.run_id and run.status == "clean" and run.format == "canonical"
    assert (run.loaded, run.updated, run.unchanged, run.quarantined) == (11, 0, 0, 0)
    assert run.finished_at is not None and run.watermark == summary.watermark


def test_edited_message_is_updated_in_place(engine: sa.Engine, tmp_path: Path) -> None:
    ingest(engine, write_bundle(tmp_path / "a"))
    edited = [*MESSAGES[:1], {**MESSAGES[1], "text": "收到，周四下午前给初稿"}, *MESSAGES[2:]]
    summary = ingest(engine, write_bundle(tmp_path / "b", messages=edited))
    assert (summary.total("loaded"), summary.total("updated"), summary.total("unchanged")) == (
        0,
        1,
        10,
    )
    assert (
        load_messages(engine).set_index("message_id").loc["m2", "text"] == "收到，周四下午前给初稿"
    )


def test_broken_line_and_unknown_group_are_quarantined_and_nothing_else_changes(
    engine: sa.Engine, tmp_path: Path
) -> None:
    ingest(engine, write_bundle(tmp_path / "first"))
    before = load_messages(engine)

    bad = write_bundle(
        tmp_path / "bad",
        messages=[*MESSAGES, message(5, group="nope")],
        extra_message_lines=['{"platform": "wecom", "group_id": "proj", "message_id": "m6",'],
    )
    summary = ingest(engine, bad)
    assert summary.exit_code == 2 and summary.status == "quarantined"
    unknown, broken = quarantined(engine)
    assert unknown == (
        "messages.jsonl",
        5,
        "group_id",
        "unknown group 'wecom:nope': not in this input's groups nor in the store",
    )
    assert broken[:3] == ("messages.jsonl", 6, "(line)") and broken[3].startswith("not valid JSON")
    assert summary.total("loaded") == 0 and summary.total("unchanged") == 11
    pd.testing.assert_frame_equal(load_messages(engine), before)


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        (
            message(9, kind="sticker"),
            "kind",
            "'sticker' is not one of: file, image, link, system, text, video, voice",
        ),
        (message(9, sender_id=None), "sender_id", "required field is missing or empty"),
        (message(9, sender_id="  "), "sender_id", "required field is missing or empty"),
        (message(9, message_id=""), "message_id", "required field is missing or empty"),
        (
            message(9, sent_at="1999-12-31T23:00:00+08:00"),
            "sent_at",
            "implausible time (before the policy's earliest year or in the future)",
        ),
        (
            message(9, sent_at="2027-06-01T00:00:00+08:00"),
            "sent_at",
            "implausible time (before the policy's earliest year or in the future)",
        ),
        (
            message(9, sent_at="next tuesday"),
            "sent_at",
            "not an ISO 8601 time or epoch seconds/milliseconds: 'next tuesday'",
        ),
        (message(9, pinned="sometimes"), "pinned", "not a boolean (true/false): 'sometimes'"),
        (message(9, platform=None), "platform", "required field is missing or empty"),
    ],
)
def test_each_bad_message_is_quarantined_with_its_reason(
    engine: sa.Engine, tmp_path: Path, row: dict[str, object], field: str, reason: str
) -> None:
    summary = ingest(engine, write_bundle(tmp_path / "b", messages=[*MESSAGES, row]))
    assert summary.total("loaded") == 11 and summary.total("quarantined") == 1
    assert quarantined(engine) == [("messages.jsonl", 5, field, reason)]


def test_duplicate_ids_keep_the_last_and_name_it(engine: sa.Engine, tmp_path: Path) -> None:
    rows = [*MESSAGES, {**MESSAGES[0], "text": "更正：周四前提交"}]
    summary = ingest(engine, write_bundle(tmp_path / "b", messages=rows))
    assert summary.total("quarantined") == 1
    [(name, line, field, reason)] = quarantined(engine)
    assert (name, line, field) == ("messages.jsonl", 1, "(key)")
    assert reason.startswith(
        "duplicate (platform, group_id, message_id): superseded by "
    ) and reason.endswith("messages.jsonl line 5")
    assert load_messages(engine).set_index("message_id").loc["m1", "text"] == "更正：周四前提交"


def test_bad_member_email_and_membership_event(engine: sa.Engine, tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "b")
    (bundle / "members.jsonl").write_text(
        (bundle / "members.jsonl").read_text()
        + '{"platform": "wecom", "member_id": "u9", "display_name": "外包", "email": "not-an-email"}\n'
    )
    (bundle / "memberships.jsonl").write_text(
        (bundle / "memberships.jsonl").read_text()
        + '{"platform": "wecom", "group_id": "proj", "member_id": "u9", "event": "kicked", "at": "2026-10-03T10:00:00+08:00"}\n'
    )
    summary = ingest(engine, bundle)
    assert quarantined(engine) == [
        ("members.jsonl", 4, "email", "not an email address: 'not-an-email'"),
        ("memberships.jsonl", 3, "event", "'kicked' is not one of: join, leave, removed"),
    ]
    assert summary.total("loaded") == 11


def test_gbk_jsonl_and_a_line_in_no_encoding(engine: sa.Engine, tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "b", encoding="gbk")
    with (bundle / "messages.jsonl").open("ab") as fh:
        fh.write(b'{"platform": "wecom", "text": "\xff\xfe\xfa"}\n')
    summary = ingest(engine, bundle)
    assert summary.total("loaded") == 11
    [(name, line, field, reason)] = quarantined(engine)
    assert (name, line, field) == ("messages.jsonl", 5, "(line)")
    assert reason.startswith("not valid UTF-8 or GBK text")
    assert load_groups(engine).set_index("group_id").loc["proj", "name"] == "项目运营群"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_bundle_in_utf8_or_gbk(engine: sa.Engine, tmp_path: Path, encoding: str) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    write_csv(folder / "groups.csv", GROUPS, encoding=encoding)
    write_csv(folder / "members.csv", MEMBERS, encoding=encoding)
    write_csv(folder / "memberships.csv", MEMBERSHIPS, encoding=encoding)
    write_csv(folder / "messages.csv", MESSAGES, encoding=encoding)
    summary = ingest(engine, folder)
    assert (summary.total("loaded"), summary.total("quarantined")) == (11, 0)
    msgs = load_messages(engine).set_index("message_id")
    assert msgs.loc["m1", "text"] == "【任务】@李娜 周五前提交活动方案"
    assert msgs.loc["m1", "mentions"] == ["u2"] and bool(msgs.loc["m4", "pinned"])
    assert load_groups(engine).set_index("group_id").loc["proj", "admin_ids"] == ["u2"]


def test_csv_missing_required_column_rejects_those_rows_only(
    engine: sa.Engine, tmp_path: Path
) -> None:
    folder = write_bundle(tmp_path / "b")
    (folder / "messages.jsonl").unlink()
    write_csv(folder / "messages.csv", MESSAGES, drop=["sender_id"])
    summary = ingest(engine, folder)
    assert summary.total("loaded") == 7  # groups, members, memberships
    rows = quarantined(engine)
    assert rows == [
        ("messages.csv", n, "sender_id", "required field is missing or empty") for n in (2, 3, 4, 5)
    ]


def test_csv_row_with_wrong_cell_count(engine: sa.Engine, tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "b")
    (folder / "messages.jsonl").unlink()
    path = write_csv(folder / "messages.csv", MESSAGES)
    path.write_text(path.read_text(encoding="utf-8") + "wecom,proj,m9\n", encoding="utf-8")
    ingest(engine, folder)
    assert quarantined(engine) == [("messages.csv", 6, "(line)", "3 cells where the header has 11")]


def test_zip_bundle(engine: sa.Engine, tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "b")
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f"export/{f.name}")
    summary = ingest(engine, archive)
    assert summary.total("loaded") == 11
    assert summary.source == str(archive)


def test_small_chunks_give_the_same_result(engine: sa.Engine, tmp_path: Path) -> None:
    rows = [message(n, sender=f"u{1 + n % 3}") for n in range(1, 60)]
    summary = ingest(
        engine,
        write_bundle(tmp_path / "b", messages=rows, extra_message_lines=["nope"]),
        chunk_size=7,
    )
    assert summary.total("loaded") == 7 + 59 and summary.total("quarantined") == 1
    assert len(load_messages(engine)) == 59


def test_reingesting_bad_input_does_not_grow_quarantine(engine: sa.Engine, tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "b", extra_message_lines=["{oops"])
    ingest(engine, bundle)
    ingest(engine, bundle)
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(QuarantineRecord)).scalar_one() == 1
        )


def test_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no canonical bundle files found"):
        open_bundle(tmp_path)
    with pytest.raises(BundleError, match="no such file or folder"):
        open_bundle(tmp_path / "missing")


def test_reingest_of_unchanged_input_writes_no_row(engine: sa.Engine, tmp_path: Path) -> None:
    """Unchanged rows are recognised by their content hash before writing: a second run leaves
    every row as the first run wrote it (same run id, same updated_at), and an edit touches
    only its own row."""
    bundle = write_bundle(tmp_path / "b")
    first = ingest(engine, bundle)

    def stamps() -> list[tuple[str, object, object]]:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("select message_id, ingest_run_id, updated_at from messages")
            ).all()
        return sorted((str(m), r, u) for m, r, u in rows)

    before = stamps()
    assert {r for _, r, _ in before} == {first.run_id}
    later = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    second = run_ingest(open_bundle(bundle), engine, POLICY, now=later)
    assert second.total("unchanged") == 11 and stamps() == before

    edited = [*MESSAGES[:3], {**MESSAGES[3], "text": "改过了"}]
    third = run_ingest(open_bundle(write_bundle(tmp_path / "c", messages=edited)), engine,
                       POLICY, now=later)  # fmt: skip
    assert (third.total("updated"), third.total("unchanged")) == (1, 10)
    after = stamps()
    assert after[:3] == before[:3] and after[3][1] == third.run_id
