"""Hostile text (issue 14): NUL and other C0 controls, and values of the wrong JSON type, are
quarantined with file, line and field on SQLite and PostgreSQL alike, and never block the good
rows of the same chunk (docs/security.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from groupops.canonical import RawRecord
from groupops.db.models import IngestRun, QuarantineRecord
from groupops.db.queries import load_members, load_messages
from groupops.ingest import normalise as normalise_module
from groupops.ingest import open_bundle, run_ingest
from groupops.ingest.normalise import control_errors, normalise, normalise_frame
from groupops.ingest.store import storable
from groupops.policy import Policy
from tests.bundles import GROUPS, MEMBERS, MEMBERSHIPS, MESSAGES, jsonl, message, write_bundle

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
POLICY = Policy()


def ingest(engine: sa.Engine, path: Path):
    return run_ingest(open_bundle(path), engine, POLICY, now=NOW)


def quarantined(engine: sa.Engine) -> list[tuple[str, int, str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                QuarantineRecord.source_file,
                QuarantineRecord.line,
                QuarantineRecord.field,
                QuarantineRecord.reason,
                QuarantineRecord.raw,
            ).order_by(QuarantineRecord.line, QuarantineRecord.field)
        ).all()
    return [(Path(s).name, line, f, r, raw) for s, line, f, r, raw in rows]


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        (message(9, text="a\x00b"), "text", "contains the control character U+0000 (NUL)"),
        (message(9, text="\x1b[31mred"), "text", "contains the control character U+001B (ESC)"),
        (message(9, sender_id="u\x01"), "sender_id", "contains the control character U+0001"),
        (message(9, text={"a": 1}), "text", "expected a string, got a JSON object"),
        (message(9, text=["a"]), "text", "expected a string, got a JSON list"),
        (message(9, message_id=True), "message_id", "expected a string, got a boolean (true)"),
        (message(9, group_id={"id": "proj"}), "group_id", "expected a string, got a JSON object"),
        (message(9, kind=False), "kind", "expected a string, got a boolean (false)"),
        (message(9, mentions=["u\x002"]), "mentions", "an id holds a control character"),
    ],
)
def test_bad_text_field_is_quarantined_and_good_rows_load(
    engine: sa.Engine, tmp_path: Path, row: dict[str, object], field: str, reason: str
) -> None:
    summary = ingest(engine, write_bundle(tmp_path / "b", messages=[*MESSAGES, row]))
    assert summary.exit_code == 2
    assert summary.total("loaded") == 11 and summary.total("quarantined") == 1
    [(name, line, got_field, got_reason, raw)] = quarantined(engine)
    assert (name, line, got_field) == ("messages.jsonl", 5, field)
    assert got_reason.startswith(reason)
    assert json.loads(raw) == row  # the raw line, as read (JSON escapes stay escapes)
    stored = load_messages(engine)
    assert sorted(stored["message_id"]) == ["m1", "m2", "m3", "m4"]


def test_tab_newline_and_carriage_return_are_text(engine: sa.Engine, tmp_path: Path) -> None:
    row = message(9, text="第一行\r\n第二行\t完")
    summary = ingest(engine, write_bundle(tmp_path / "b", messages=[*MESSAGES, row]))
    assert summary.exit_code == 0
    stored = load_messages(engine).set_index("message_id")
    assert stored.at["m9", "text"] == "第一行\r\n第二行\t完"


def test_numbers_stay_ids(engine: sa.Engine, tmp_path: Path) -> None:
    row = message(9, message_id=12345, sender_id="u1")
    summary = ingest(engine, write_bundle(tmp_path / "b", messages=[*MESSAGES, row]))
    assert summary.exit_code == 0
    assert "12345" in set(load_messages(engine)["message_id"])


def test_raw_nul_bytes_on_a_broken_line_are_quarantined_visibly(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """A raw NUL (not a JSON escape) on a line that is not JSON: the line lands in quarantine
    with the NUL shown as ␀, on PostgreSQL too; the file path is stored as read."""
    bundle = write_bundle(tmp_path / "b", extra_message_lines=['{"text": "x\x00y', "\x00\x00\x00"])
    summary = ingest(engine, bundle)
    assert summary.total("loaded") == 11 and summary.total("quarantined") == 2
    rows = quarantined(engine)
    assert [(r[1], r[2]) for r in rows] == [(5, "(line)"), (6, "(line)")]
    assert rows[0][4] == '{"text": "x␀y' and rows[1][4] == "␀␀␀"


def test_many_hostile_rows_in_one_chunk_leave_every_good_row(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """The issue's case: a few NULs among thousands of messages load all the others."""
    good = [message(n, text=f"消息 {n}") for n in range(10, 2010)]
    hostile = [message(n, text=f"坏\x00{n}") for n in range(3000, 3005)]
    members = [{**MEMBERS[0], "member_id": "u9", "display_name": "零\x00号"}, *MEMBERS]
    folder = write_bundle(tmp_path / "b", messages=[*good, *hostile])
    (folder / "members.jsonl").write_text(jsonl(members), encoding="utf-8")
    summary = ingest(engine, folder)
    assert summary.entities[1].quarantined == 1 and summary.entities[3].quarantined == 5
    assert len(load_messages(engine)) == 2000
    assert set(load_members(engine)["member_id"]) == {"u1", "u2", "u3"}
    with engine.connect() as conn:
        assert conn.execute(sa.select(IngestRun.status)).scalar_one() == "quarantined"


def test_control_errors_are_vectorised_and_exact() -> None:
    import pandas as pd

    values = pd.Series(["ok", None, "tab\tok", "bell\x07", 5, "末尾\x1f"])
    errors = control_errors(values)
    assert errors.isna().tolist() == [True, True, True, False, True, False]
    assert "U+0007 (BEL) at character 5" in errors[3]


def test_a_columnar_frame_goes_through_the_same_text_rule() -> None:
    """A frame laid out as the columnar reader lays it out is checked by ``normalise_frame``,
    the per-line path's own rule (there is no second copy of it)."""
    from zoneinfo import ZoneInfo

    import pandas as pd

    frame = pd.DataFrame(
        {
            **{k: [v, v] for k, v in message(1).items()},
            "_source": ["f", "f"],
            "_line": [1, 2],
            "_raw": ["{}", "{}"],
        }
    )
    frame.loc[1, "text"] = "x\x00"
    columnar = normalise_frame("messages", frame, ZoneInfo("Asia/Shanghai"))
    records = [RawRecord("messages", "f", n, "{}", data={**message(1), "text": text})
               for n, text in ((1, message(1)["text"]), (2, "x\x00"))]  # fmt: skip
    per_line = normalise("messages", records, ZoneInfo("Asia/Shanghai"))
    for result in (columnar, per_line):
        assert len(result.frame) == 1
        assert [(r.line, r.field, r.reason) for r in result.rejected] == [
            (2, "text", per_line.rejected[0].reason)
        ]
    assert "U+0000 (NUL)" in per_line.rejected[0].reason


def test_storable_shows_controls_and_keeps_the_rest() -> None:
    assert storable("a\x00b\x1bc\ud800\t\n\r") == "a␀b␛c\ufffd\t\n\r"
    assert storable("正常") == "正常"


def test_groups_and_memberships_are_checked_alike(engine: sa.Engine, tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "b")
    groups = [*GROUPS, {**GROUPS[0], "group_id": "g\x00", "name": "坏群"}]
    memberships = [*MEMBERSHIPS, {**MEMBERSHIPS[0], "reason": {"why": "obj"}}]
    (folder / "groups.jsonl").write_text(jsonl(groups), encoding="utf-8")
    (folder / "memberships.jsonl").write_text(jsonl(memberships), encoding="utf-8")
    summary = ingest(engine, folder)
    assert summary.total("quarantined") == 2 and summary.total("loaded") == 11
    fields = sorted((name, f) for name, _, f, _, _ in quarantined(engine))
    assert fields == [("groups.jsonl", "group_id"), ("memberships.jsonl", "reason")]


def test_csv_cells_follow_the_same_rules(engine: sa.Engine, tmp_path: Path) -> None:
    from tests.bundles import write_csv

    folder = write_bundle(tmp_path / "b")
    (folder / "messages.jsonl").unlink()
    write_csv(folder / "messages.csv", [*MESSAGES, message(9, text="nul\x00here")])
    summary = ingest(engine, folder)
    assert summary.total("loaded") == 11 and summary.total("quarantined") == 1
    [(name, line, field, reason, raw)] = quarantined(engine)
    assert (name, line, field) == ("messages.csv", 6, "text") and "U+0000" in reason
    assert "nul␀here" in raw


def _reference_control_errors(values: pd.Series) -> pd.Series:
    """``control_errors`` of Arrow text before its byte pre-check: the regex on every column."""
    errors = pd.Series(pd.NA, index=values.index, dtype=object)
    hits = pc.match_substring_regex(pa.array(values.array), normalise_module._CONTROL_PATTERN)
    if not pc.any(hits).as_py():
        return errors
    return control_errors(values.astype(object))  # the per-value look, as before


_texts = st.lists(
    st.one_of(st.none(), st.text(alphabet=st.characters(codec="utf-8"), max_size=6)), max_size=8
)


@settings(max_examples=300, deadline=None)
@given(
    chunks=st.lists(_texts, min_size=1, max_size=3), start=st.integers(0, 5), large=st.booleans()
)
def test_arrow_text_control_errors_match_the_regex_on_every_value(
    chunks: list[list[str | None]], start: int, large: bool
) -> None:
    kind = pa.large_string() if large else pa.string()
    array = pa.chunked_array([pa.array(c, type=kind) for c in chunks], type=kind)
    values = pd.Series(pd.arrays.ArrowStringArray(array)).iloc[start:]  # a slice: offset views
    expected = _reference_control_errors(values)
    got = control_errors(values)
    assert got.tolist() == expected.tolist()
    assert list(got.index) == list(expected.index)
