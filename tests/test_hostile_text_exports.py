"""The text exports (WhatsApp ``.txt``, WeChat CSV) read within the input limits (issue 14):
lines of any ending split without holding a long one whole, a message or row longer than
``max_record_bytes`` quarantined as too long (file, line, field) while the rest loads, the
per-file byte limit, only regular files (docs/security.md)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from groupops.canonical import RawRecord
from groupops.importers.wechat import WeChatCsvExport
from groupops.importers.whatsapp import WhatsAppExport
from groupops.ingest.limits import Limits, bounded_lines, csv_rows

RECORD = 4096


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``max_record_bytes`` 4 KiB and ``max_file_bytes`` 64 KiB, as the settings say."""
    from groupops.settings import get_settings

    monkeypatch.setenv("GROUPOPS_MAX_RECORD_BYTES", str(RECORD))
    monkeypatch.setenv("GROUPOPS_MAX_FILE_BYTES", str(64 << 10))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


# -- line ends ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"a\nb\n", [(1, b"a"), (2, b"b")]),
        (b"a\r\nb\r\n", [(1, b"a"), (2, b"b")]),
        (b"a\rb\r", [(1, b"a"), (2, b"b")]),  # CR only (old Mac, some WhatsApp exports)
        (b"a\r\rb", [(1, b"a"), (2, b""), (3, b"b")]),
        (b"a\n\rb\r\n\nc", [(1, b"a"), (2, b""), (3, b"b"), (4, b""), (5, b"c")]),
        (b"a", [(1, b"a")]),
    ],
)
def test_any_newline_splits_like_a_text_file(
    data: bytes, expected: list[tuple[int, bytes]]
) -> None:
    got = [
        (ln.number, ln.data)
        for ln in bounded_lines(io.BytesIO(data), Limits(), keep_blank=True, any_newline=True)
    ]
    assert got == expected
    # the same split as Python's own universal newlines (newline="")
    text = data.decode()
    assert [d.decode() for _, d in got] == [s.rstrip("\r\n") for s in io.StringIO(text, newline="")]


@pytest.mark.parametrize("block", [1, 2, 3, 7])
def test_a_crlf_split_across_read_blocks_is_one_line_end(block: int) -> None:
    """A CR at the end of one read block and its LF at the start of the next end one line."""

    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = data

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            out, self.data = self.data[:block], self.data[block:]
            return out

    data = b"ab\r\ncd\r\n.\r\nef\rgh"
    got = [
        (ln.number, ln.data)
        for ln in bounded_lines(Trickle(data), Limits(), keep_blank=True, any_newline=True)
    ]
    assert got == [(1, b"ab"), (2, b"cd"), (3, b"."), (4, b"ef"), (5, b"gh")]


def test_blank_blocks_with_cr_only_are_counted() -> None:
    data = b"\r" * 3_000_000 + b"x\r" + b"\r\n" * 2_000_000 + b"y"
    lines = list(bounded_lines(io.BytesIO(data), Limits(), any_newline=True))
    assert [(ln.number, ln.data) for ln in lines] == [(3_000_001, b"x"), (5_000_002, b"y")]


# -- CSV rows ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b\n1,2\n", [(1, ["a", "b"], None), (2, ["1", "2"], None)]),
        ('a,b\n"x\ny",2\n3,4\n', [(1, ["a", "b"], None), (2, ["x\ny", "2"], None),
                                  (4, ["3", "4"], None)]),
        ("a,b\n" + "x" * 5000 + ",1\n3,4\n", [(1, ["a", "b"], None),
                                             (2, [], "record of 5,002 bytes"), (3, ["3", "4"], None)]),
        # a quoted cell over many short lines: the row is cut at the limit, the parser goes on
        ('a,b\n"' + "x\n" * 3000 + '",1\n', [(1, ["a", "b"], None), (2, [], "row of more than 4,")]),
        ("a,b\n\n\n5,6\n", [(1, ["a", "b"], None), (4, ["5", "6"], None)]),
    ],
)  # fmt: skip
def test_csv_rows(text: str, expected: list[tuple[int, list[str], str | None]]) -> None:
    lines = bounded_lines(
        io.BytesIO(text.encode()), Limits(max_record_bytes=RECORD), keep_blank=True
    )
    rows = list(csv_rows(lines, "utf-8", Limits(max_record_bytes=RECORD)))
    got = [(r.line, r.cells, r.error) for r in rows][: len(expected)]
    assert [(line, cells) for line, cells, _ in got] == [
        (line, cells) for line, cells, _ in expected
    ]
    for (_, _, error), (_, _, want) in zip(got, expected, strict=True):
        assert (error is None) == (want is None) and (want is None or want in str(error))


# -- WhatsApp ---------------------------------------------------------------------------------------

HEAD = "[18/03/2026, 14:56:01] "


def _records(source: WhatsAppExport | WeChatCsvExport) -> list[RawRecord]:
    return list(source.records("messages"))


def _summary(records: list[RawRecord]) -> list[tuple[int, str, str]]:
    """(line, field or "ok", reason or text head) per record."""
    return [
        (r.line, r.error.field, r.error.reason) if r.error else (r.line, "ok", r.data["text"][:10])
        for r in records
    ]


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # one physical line longer than the limit: the message is quarantined, the rest loads
        (["A: first", "B: " + "x" * 10_000, "C: last"],
         [(1, "ok", "first"), (2, "(record)", "message of 10,026 bytes"), (3, "ok", "last")]),
        # a message growing past the limit over many lines
        (["A: first", "B: start", *["line of text"] * 500, "C: last"],
         [(1, "ok", "first"), (2, "(record)", "(lines 2–502)"), (503, "ok", "last")]),
        # empty lines inside a message count too; trailing ones are dropped (as the text does)
        (["A: first", "B: start", *[""] * 5000, "end of B", "C: last"],
         [(1, "ok", "first"), (2, "(record)", "(lines 2–5003)"), (5004, "ok", "last")]),
        (["A: first", "B: start", *[""] * 5000, "C: last"],
         [(1, "ok", "first"), (2, "ok", "start"), (5003, "ok", "last")]),
    ],
)  # fmt: skip
def test_whatsapp_message_longer_than_the_record_limit(
    small_limits: None,
    tmp_path: Path,
    end: str,
    body: list[str],
    expected: list[tuple[int, str, str]],
) -> None:
    lines = [line if i >= len(body) or ":" not in line or line.startswith("line") else HEAD + line
             for i, line in enumerate(body)]  # fmt: skip
    chat = tmp_path / "chat.txt"
    chat.write_bytes(end.join(lines).encode())
    got = _summary(_records(WhatsAppExport(chat)))
    assert [(line, field) for line, field, _ in got] == [
        (line, field) for line, field, _ in expected
    ]
    for (_, _, have), (_, _, want) in zip(got, expected, strict=True):
        assert want in have


def test_whatsapp_text_before_the_first_header_too_long(small_limits: None, tmp_path: Path) -> None:
    chat = tmp_path / "chat.txt"
    chat.write_text("y" * 9000 + "\n" + HEAD + "A: hi\n", encoding="utf-8")
    got = _summary(_records(WhatsAppExport(chat)))
    assert got == [
        (1, "(line)", "line of 9,000 bytes is longer than 4,096 (max_record_bytes): not read"),
        (2, "ok", "hi"),
    ]


def test_whatsapp_file_past_the_file_limit(small_limits: None, tmp_path: Path) -> None:
    chat = tmp_path / "chat.txt"
    chat.write_text("".join(f"{HEAD}A: message {n}\n" for n in range(3000)), encoding="utf-8")
    records = _records(WhatsAppExport(chat))
    loaded = [r for r in records if r.data]
    assert 0 < len(loaded) < 3000
    assert records[-1].error is not None and records[-1].error.field == "(file)"
    assert "max_file_bytes" in records[-1].error.reason


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
@pytest.mark.parametrize("layout", ["named", "folder"])
def test_whatsapp_device_is_not_read(tmp_path: Path, layout: str) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "_chat.txt").symlink_to("/dev/zero")
    source = WhatsAppExport(folder / "_chat.txt" if layout == "named" else folder)
    (record,) = _records(source)
    assert record.error is not None and record.error.field == "(file)"
    reason = {"named": "not a regular file", "folder": "outside the bundle"}[layout]
    assert reason in record.error.reason


def test_whatsapp_zip_member_with_a_dangerous_name_is_quarantined(tmp_path: Path) -> None:
    archive = tmp_path / "WhatsApp Chat - x.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("_chat.txt", HEAD + "A: hi\n")
        zf.writestr("../../evil.txt", HEAD + "B: outside\n")
    got = [(r.source, r.error.field if r.error else r.data["text"])
           for r in _records(WhatsAppExport(archive))]  # fmt: skip
    assert got == [(f"{archive}!../../evil.txt", "(file)"), (str(archive), "hi")]


# -- WeChat CSV ----------------------------------------------------------------------------------------

WECHAT_HEADER = ["localId", "Type", "IsSender", "StrContent", "CreateTime"]


def _wechat(path: Path, rows: list[list[str]]) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerows([WECHAT_HEADER, *rows])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([["1", "1", "0", "ok", "1793581200"], ["2", "1", "0", "x" * 9000, "1793581200"],
          ["3", "1", "0", "after", "1793581200"]],
         [(2, "ok"), (3, "record of 9,0"), (4, "ok")]),
        ([["1", "1", "0", "ok", "1793581200"], ["2", "1", "0", "多行\n" * 1000, "1793581200"],
          ["3", "1", "0", "after", "1793581200"]],
         [(2, "ok"), (3, "row of more than 4,"), (None, None), (None, None)]),
    ],
)  # fmt: skip
def test_wechat_row_longer_than_the_record_limit(
    small_limits: None,
    tmp_path: Path,
    rows: list[list[str]],
    expected: list[tuple[int | None, str | None]],
) -> None:
    records = _records(WeChatCsvExport(_wechat(tmp_path / "g_utf8.csv", rows)))
    for record, (line, what) in zip(records, expected, strict=False):
        if line is None:
            continue
        assert record.line == line
        if what == "ok":
            assert record.data is not None
        else:
            assert record.error is not None and record.error.field == "(record)"
            assert what in record.error.reason
    assert records[0].data is not None and records[0].data["message_id"] == "1"


def test_wechat_file_past_the_file_limit(small_limits: None, tmp_path: Path) -> None:
    rows = [[str(n), "1", "0", f"message {n}", "1793581200"] for n in range(3000)]
    records = _records(WeChatCsvExport(_wechat(tmp_path / "g_utf8.csv", rows)))
    assert 0 < len([r for r in records if r.data]) < 3000
    assert records[-1].error is not None and records[-1].error.field == "(file)"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_wechat_device_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "g_utf8.csv").symlink_to("/dev/zero")
    (record,) = _records(WeChatCsvExport(tmp_path / "g_utf8.csv"))
    assert record.error is not None and "not a regular file" in record.error.reason


@pytest.mark.parametrize("offset", [0, 1, 2, 3])
@pytest.mark.parametrize(("end", "any_newline"), [(b"\n", False), (b"\r\n", False),
                                                   (b"\r\n", True), (b"\r", True)])  # fmt: skip
def test_blank_blocks_are_skipped_whatever_their_alignment(
    offset: int, end: bytes, any_newline: bool
) -> None:
    """Blank lines are skipped a block at a time even when a CRLF or a blank line straddles
    two read blocks (else 1 GB of them would be read a line at a time in Python)."""
    count = 3 << 20  # 3 MiB worth of line ends
    data = b"x" * offset + end + b" " * offset + end * count + b"y"
    lines = list(bounded_lines(io.BytesIO(data), Limits(), any_newline=any_newline))
    assert [(ln.number, ln.data) for ln in lines] == [(1, b"x" * offset), (count + 2, b"y")][
        0 if offset else 1 :
    ]
