"""A re-ingest of an unchanged file skips it by its fingerprint (size, mtime, SHA-256, the
ingest's rules), on SQLite and PostgreSQL: the run is still recorded and reports the file's
records as unchanged, and every case where a re-read would change something reads it again."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from groupops.canonical import Entity
from groupops.db.models import IngestRun, QuarantineRecord
from groupops.db.queries import load_messages
from groupops.ingest import open_bundle, run_ingest
from groupops.ingest.bundle import BundleSource
from groupops.ingest.pipeline import IngestSummary
from groupops.policy import Policy
from tests.bundles import MESSAGES, write_bundle

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
POLICY = Policy()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Entity]:
    """The entities whose file a run actually reads, in order."""
    seen: list[Entity] = []
    original = BundleSource.chunks

    def spy(self: BundleSource, entity: Entity, size: int, **kw: bool | None) -> Iterator[object]:
        seen.append(entity)
        return original(self, entity, size, **kw)

    monkeypatch.setattr(BundleSource, "chunks", spy)
    return seen


def ingest(
    engine: sa.Engine, path: Path, *, now: datetime = NOW, force: bool = False,
    policy: Policy = POLICY,
) -> IngestSummary:  # fmt: skip
    return run_ingest(open_bundle(path), engine, policy, now=now, force=force)


def counts(summary: IngestSummary) -> tuple[int, int, int, int]:
    total = summary.total
    return total("loaded"), total("updated"), total("unchanged"), total("quarantined")


def test_an_unchanged_bundle_is_not_read_again_and_the_run_is_recorded(
    engine: sa.Engine, tmp_path: Path, reads: list[Entity]
) -> None:
    bundle = write_bundle(tmp_path / "b")
    first = ingest(engine, bundle)
    assert counts(first) == (11, 0, 0, 0)
    reads.clear()

    second = ingest(engine, bundle, now=NOW + timedelta(days=1))
    assert reads == []
    assert counts(second) == (0, 0, 11, 0) and second.status == "clean"
    assert second.as_dict()["entities"] == {
        e.entity: {"loaded": 0, "updated": 0, "unchanged": e.read, "quarantined": 0}
        for e in first.entities
    }
    with engine.connect() as conn:
        run = conn.execute(sa.select(IngestRun).where(IngestRun.id == second.run_id)).one()
    assert (run.status, run.loaded, run.updated, run.unchanged) == ("clean", 0, 0, 11)
    assert run.watermark == first.watermark and second.watermark == first.watermark


def test_force_reads_every_file_again(
    engine: sa.Engine, tmp_path: Path, reads: list[Entity]
) -> None:
    bundle = write_bundle(tmp_path / "b")
    ingest(engine, bundle)
    reads.clear()
    again = ingest(engine, bundle, force=True)
    assert reads == ["groups", "members", "memberships", "messages"]
    assert counts(again) == (0, 0, 11, 0)


def test_an_edited_or_touched_file_is_read_again(
    engine: sa.Engine, tmp_path: Path, reads: list[Entity]
) -> None:
    bundle = write_bundle(tmp_path / "b")
    ingest(engine, bundle)
    messages = bundle / "messages.jsonl"
    text = messages.read_text(encoding="utf-8")
    edited = text.replace(MESSAGES[1]["text"], MESSAGES[1]["text"][::-1], 1)
    assert edited != text and len(edited) == len(text)
    stat = messages.stat()
    messages.write_text(edited, encoding="utf-8")
    os.utime(messages, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime
    reads.clear()
    assert counts(ingest(engine, bundle)) == (0, 1, 10, 0)
    assert reads == ["messages"]

    reads.clear()
    messages.touch()  # same bytes, a newer mtime
    assert counts(ingest(engine, bundle)) == (0, 0, 11, 0)
    assert reads == ["messages"]


def test_a_file_whose_run_quarantined_records_is_read_again(
    engine: sa.Engine, tmp_path: Path, reads: list[Entity]
) -> None:
    bundle = write_bundle(tmp_path / "b", extra_message_lines=["{oops"])
    first = ingest(engine, bundle)
    reads.clear()
    second = ingest(engine, bundle)
    assert reads == ["messages"] and counts(second) == (0, 0, 11, 1)
    with engine.connect() as conn:
        run_ids = conn.execute(sa.select(QuarantineRecord.run_id)).scalars().all()
    assert run_ids == [second.run_id] and second.run_id != first.run_id


def test_a_file_whose_run_crashed_is_read_again(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [{**MESSAGES[0], "message_id": f"x{n}"} for n in range(30)]
    bundle = write_bundle(tmp_path / "b", messages=rows)
    original = BundleSource.chunks

    def dies_after_one_chunk(
        self: BundleSource, entity: Entity, size: int, **kw: bool | None
    ) -> Iterator[object]:
        for n, chunk in enumerate(original(self, entity, size, **kw)):
            if entity == "messages" and n == 1:
                raise RuntimeError("the process died")
            yield chunk

    monkeypatch.setattr(BundleSource, "chunks", dies_after_one_chunk)
    with pytest.raises(RuntimeError):
        run_ingest(open_bundle(bundle), engine, POLICY, now=NOW, chunk_size=10)
    assert len(load_messages(engine)) == 10
    monkeypatch.setattr(BundleSource, "chunks", original)
    again = run_ingest(open_bundle(bundle), engine, POLICY, now=NOW, chunk_size=10)
    assert again.entities[-1].loaded == 20 and len(load_messages(engine)) == 30


def test_rows_deleted_from_the_store_come_back_from_the_unchanged_file(
    engine: sa.Engine, tmp_path: Path
) -> None:
    bundle = write_bundle(tmp_path / "b")
    ingest(engine, bundle)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM messages WHERE message_id = 'm2'"))
    assert counts(ingest(engine, bundle)) == (1, 0, 10, 0)
    with engine.begin() as conn:  # a group's messages and memberships go with it (cascade)
        conn.execute(sa.text("DELETE FROM groups WHERE group_id = 'proj'"))
    restored = ingest(engine, bundle)
    assert restored.total("loaded") > 1 and len(load_messages(engine)) == len(MESSAGES)


def test_rows_another_source_updated_are_put_back_by_the_unchanged_file(
    engine: sa.Engine, tmp_path: Path
) -> None:
    bundle = write_bundle(tmp_path / "b")
    ingest(engine, bundle)
    edited = [*MESSAGES[:3], {**MESSAGES[3], "text": "改过了"}]
    other = ingest(engine, write_bundle(tmp_path / "other", messages=edited))
    assert other.total("updated") == 1
    back = ingest(engine, bundle)
    assert counts(back) == (0, 1, 10, 0)
    assert load_messages(engine).set_index("message_id").loc["m4", "text"] == MESSAGES[3]["text"]


def test_an_earlier_now_or_another_policy_reads_again(
    engine: sa.Engine, tmp_path: Path, reads: list[Entity]
) -> None:
    bundle = write_bundle(tmp_path / "b")
    ingest(engine, bundle)
    reads.clear()
    ingest(engine, bundle, now=NOW - timedelta(days=1))  # a narrower window of plausible times
    assert reads == ["groups", "members", "memberships", "messages"]
    reads.clear()
    ingest(engine, bundle, now=NOW + timedelta(days=1), policy=Policy(timezone="Asia/Tokyo"))
    assert reads == ["groups", "members", "memberships", "messages"]


def test_an_unchanged_zip_is_skipped_and_a_changed_one_read(
    engine: sa.Engine, tmp_path: Path, reads: list[Entity]
) -> None:
    folder = write_bundle(tmp_path / "b")
    archive = tmp_path / "bundle.zip"

    def pack(messages_text: str | None = None) -> None:
        with zipfile.ZipFile(archive, "w") as zf:
            for f in sorted(folder.iterdir()):
                if f.name == "messages.jsonl" and messages_text is not None:
                    zf.writestr(f"export/{f.name}", messages_text)
                else:
                    zf.write(f, f"export/{f.name}")

    pack()
    ingest(engine, archive)
    reads.clear()
    assert counts(ingest(engine, archive)) == (0, 0, 11, 0) and reads == []
    text = (folder / "messages.jsonl").read_text(encoding="utf-8")
    pack(text.replace(MESSAGES[1]["text"], "改了", 1))
    assert counts(ingest(engine, archive)) == (0, 1, 10, 0)
    assert "messages" in reads


@pytest.mark.postgres
def test_a_truncated_table_is_filled_again_on_postgresql(engine: sa.Engine, tmp_path: Path) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    bundle = write_bundle(tmp_path / "b")
    ingest(engine, bundle)
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE messages"))
    assert ingest(engine, bundle).entities[-1].loaded == len(MESSAGES)
    assert len(load_messages(engine)) == len(MESSAGES)
