"""Input limits and the bundle's boundary (issue 14): records longer than ``max_record_bytes``
are quarantined without being held, only regular files inside the bundle are read, archive
members with dangerous names or ratios are quarantined with their names (docs/security.md)."""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from groupops.canonical import ENTITIES
from groupops.db.models import QuarantineRecord
from groupops.db.queries import load_members, load_messages
from groupops.importers import open_source
from groupops.ingest import open_bundle, run_ingest
from groupops.ingest.limits import (
    FileTooLarge,
    Limits,
    Refusal,
    bounded_lines,
    index_archive,
    normalise_member_name,
)
from groupops.policy import Policy
from tests.bundles import MESSAGES, jsonl, message, write_bundle, write_csv

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
POLICY = Policy()
SMALL = Limits(max_record_bytes=4096)
SLACK = Path(__file__).parent / "fixtures" / "exports" / "slack" / "workspace"


def quarantined(engine: sa.Engine) -> list[tuple[str, int, str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                QuarantineRecord.source_file,
                QuarantineRecord.line,
                QuarantineRecord.field,
                QuarantineRecord.reason,
                QuarantineRecord.raw,
            ).order_by(QuarantineRecord.source_file, QuarantineRecord.line)
        ).all()
    return [tuple(r) for r in rows]


# -- the bounded line reader -------------------------------------------------------------------


def test_bounded_lines_keep_only_the_head_of_a_long_line() -> None:
    long = b"x" * 3_000_000
    data = b'{"a": 1}\n' + long + b"\r\n\n\n" + b'{"b": 2}\r\n' + b'{"c": 3}'
    lines = list(bounded_lines(io.BytesIO(data), Limits(max_record_bytes=1024)))
    assert [(ln.number, ln.too_long) for ln in lines] == [
        (1, False),
        (2, True),
        (5, False),
        (6, False),
    ]
    assert lines[1].length == 3_000_001 and len(lines[1].data) <= 200
    assert lines[2].data == b'{"b": 2}' and lines[3].data == b'{"c": 3}'


def test_blank_blocks_are_skipped_and_counted() -> None:
    data = b"\n" * 5_000_000 + b'{"a": 1}\n' + b" \n" * 10 + b'{"b": 2}\n'
    lines = list(bounded_lines(io.BytesIO(data), Limits()))
    assert [(ln.number, ln.data) for ln in lines] == [
        (5_000_001, b'{"a": 1}'),
        (5_000_012, b'{"b": 2}'),
    ]


def test_file_limit_stops_reading() -> None:
    data = b'{"a": 1}\n' * 1_000_000
    with pytest.raises(FileTooLarge, match="max_file_bytes"):
        list(bounded_lines(io.BytesIO(data), Limits(max_file_bytes=2 << 20)))


# -- records too long --------------------------------------------------------------------------


def test_too_long_jsonl_record_is_quarantined_and_the_rest_loads(
    engine: sa.Engine, tmp_path: Path
) -> None:
    huge = message(9, text="长" * 100_000)  # 300 kB of UTF-8
    bundle = write_bundle(tmp_path / "b", messages=[*MESSAGES, huge, message(10)])
    summary = run_ingest(open_bundle(bundle, SMALL), engine, POLICY, now=NOW)
    assert summary.total("loaded") == 12 and summary.total("quarantined") == 1
    [(source, line, field, reason, raw)] = quarantined(engine)
    assert (Path(source).name, line, field) == ("messages.jsonl", 5, "(line)")
    assert "longer than 4,096 (max_record_bytes)" in reason
    assert len(raw) <= 201 and raw.endswith("…")
    assert {"m9", "m10"} & set(load_messages(engine)["message_id"]) == {"m10"}


def test_too_long_csv_line_is_quarantined(engine: sa.Engine, tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "b")
    (folder / "messages.jsonl").unlink()
    write_csv(folder / "messages.csv", [*MESSAGES, message(9, text="x" * 10_000), message(10)])
    summary = run_ingest(open_bundle(folder, SMALL), engine, POLICY, now=NOW)
    assert summary.total("quarantined") == 1 and summary.total("loaded") == 12
    [(source, line, field, reason, _raw)] = quarantined(engine)
    assert (Path(source).name, line, field) == ("messages.csv", 6, "(line)")
    assert "max_record_bytes" in reason


# -- files: regular, inside the bundle ----------------------------------------------------------


def test_symlink_out_of_the_bundle_is_refused_and_named(engine: sa.Engine, tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "b")
    (folder / "members.jsonl").unlink()
    (folder / "members.jsonl").symlink_to("/etc/passwd")
    summary = run_ingest(open_bundle(folder), engine, POLICY, now=NOW)
    assert summary.exit_code == 2
    [(source, line, field, reason, raw)] = quarantined(engine)
    assert (source, line, field, raw) == (str(folder / "members.jsonl"), 0, "(file)", "")
    assert "outside the bundle" in reason
    assert load_members(engine).empty and len(load_messages(engine)) == 4


def test_symlink_inside_the_bundle_is_read(engine: sa.Engine, tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "b")
    (folder / "data").mkdir()
    (folder / "messages.jsonl").rename(folder / "data" / "all.jsonl")
    (folder / "messages.jsonl").symlink_to(folder / "data" / "all.jsonl")
    summary = run_ingest(open_bundle(folder), engine, POLICY, now=NOW)
    assert summary.exit_code == 0 and len(load_messages(engine)) == 4


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_is_never_read(engine: sa.Engine, tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "b")
    (folder / "messages.jsonl").unlink()
    (folder / "messages.jsonl").symlink_to("/dev/zero")
    summary = run_ingest(open_bundle(folder), engine, POLICY, now=NOW)
    [(_, _, field, reason, _)] = quarantined(engine)
    assert field == "(file)" and "outside the bundle" in reason
    assert summary.total("loaded") == 7
    # named directly by the user, the symlink is followed, but a device is still refused
    direct = tmp_path / "messages.jsonl"
    direct.symlink_to("/dev/zero")
    source = open_bundle(direct)
    [record] = list(source.records("messages"))
    assert record.error is not None and "not a regular file" in record.error.reason


def test_fifo_in_a_folder_is_refused(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "b")
    (folder / "groups.jsonl").unlink()
    os.mkfifo(folder / "groups.jsonl")
    [record] = list(open_bundle(folder).records("groups"))
    assert record.error is not None and "not a regular file" in record.error.reason


# -- archives -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("messages.jsonl", "messages.jsonl"),
        ("./a//b/./c.json", "a/b/c.json"),
        ("a\\b.json", "a/b.json"),
        ("../../x", "leads outside"),
        ("..\\..\\x", "leads outside"),
        ("../../x/2026-11-02.json", "leads outside"),
        ("/etc/passwd", "absolute"),
        ("C:\\x", "absolute"),
        ("a\x00b", "control character"),
    ],
)
def test_member_names(name: str, expected: str) -> None:
    got = normalise_member_name(name)
    if isinstance(got, Refusal):
        assert expected in got.reason
    else:
        assert got == expected


def test_dangerous_members_are_quarantined_with_their_names(
    engine: sa.Engine, tmp_path: Path
) -> None:
    folder = write_bundle(tmp_path / "b")
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for child in sorted(folder.iterdir()):
            zf.write(child, child.name)
        zf.writestr("../../messages.jsonl", jsonl([message(99)]))
        zf.writestr("..\\..\\x", "evil")
        zf.writestr("bomb/messages.jsonl", b"\n" * (8 << 20))  # 8 MiB of newlines: ~8000:1
    summary = run_ingest(open_bundle(archive), engine, POLICY, now=NOW)
    assert summary.exit_code == 2 and summary.total("loaded") == 11
    refused = {
        (s.rpartition("!")[2], field): reason for s, _, field, reason, _ in quarantined(engine)
    }
    assert set(refused) == {
        ("../../messages.jsonl", "(file)"),
        ("..\\..\\x", "(file)"),
        ("bomb/messages.jsonl", "(file)"),
    }
    assert "compression ratio" in refused[("bomb/messages.jsonl", "(file)")]
    assert "m99" not in set(load_messages(engine)["message_id"])


def test_archive_total_size_is_checked_from_the_headers(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("groups.jsonl", b"x" * 3000)
        zf.writestr("messages.jsonl", b"y" * 3000)
    with zipfile.ZipFile(archive) as zf:
        index = index_archive(zf, Limits(max_archive_bytes=4000), "a.zip")
    assert list(index.members) == ["groups.jsonl"]
    [refusal] = index.refusals
    assert refusal.name == "a.zip!messages.jsonl" and "max_archive_bytes" in refusal.reason


# -- export importers ---------------------------------------------------------------------------


def _all_records(source: Any) -> list[Any]:
    return [r for e in ENTITIES for r in source.records(e)]


def test_slack_zip_member_outside_is_quarantined_not_skipped(tmp_path: Path) -> None:
    archive = tmp_path / "slack.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(SLACK.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(SLACK).as_posix())
        zf.writestr("../../random/2026-11-05.json", json.dumps([{"ts": "1.0", "text": "x"}]))
    source, _ = open_source(archive, "slack")
    bad = [r for r in _all_records(source) if r.error is not None and r.error.field == "(file)"]
    named = {r.source.rpartition("!")[2]: r.error.reason for r in bad}
    assert "leads outside" in named["../../random/2026-11-05.json"]


def test_slack_day_file_symlinked_outside_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps([{"ts": "1793581200.0", "user": "U1", "text": "偷来的"}]))
    root = tmp_path / "ws"
    shutil.copytree(SLACK, root)
    (root / "random" / "2026-11-09.json").symlink_to(outside)
    source, _ = open_source(root, "slack")
    records = _all_records(source)
    assert not any("偷来的" in r.raw for r in records)
    bad = [r for r in records if r.error is not None and r.error.field == "(file)"]
    named = {Path(r.source).name: r.error.reason for r in bad}
    assert "outside the bundle" in named["2026-11-09.json"]


def test_slack_day_file_over_the_document_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from groupops.settings import get_settings

    root = tmp_path / "ws"
    shutil.copytree(SLACK, root)
    (root / "random" / "2026-11-09.json").write_text(
        json.dumps([{"ts": "1.0", "text": "x" * 5000}])
    )
    monkeypatch.setenv("GROUPOPS_MAX_DOCUMENT_BYTES", "4096")
    get_settings.cache_clear()
    try:
        source, _ = open_source(root, "slack")
        bad = [r for r in _all_records(source) if r.error is not None and r.error.field == "(file)"]
    finally:
        get_settings.cache_clear()
    named = {Path(r.source).name: r.error.reason for r in bad}
    assert "max_document_bytes" in named["2026-11-09.json"]
