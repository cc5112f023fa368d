"""The hostile corpus (issue 14): each malicious or malformed input of the issue, ingested by
``groupops ingest`` in a subprocess under a memory limit (``resource.setrlimit``), on SQLite and
PostgreSQL. Every case must exit 0 or 2, load the good rows, quarantine the bad ones with a
reason, stay below 512 MB of peak memory and read nothing outside the bundle; plus hypothesis
fuzzing of the JSONL and CSV readers and of the ingest itself."""

from __future__ import annotations

import io
import json
import os
import resource
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groupops.db.models import QuarantineRecord
from groupops.db.queries import load_groups, load_messages
from groupops.ingest.bundle import _csv_records, _jsonl_records
from groupops.ingest.limits import Limits
from tests import clockshift
from tests.bundles import GROUPS, MEMBERS, MEMBERSHIPS, MESSAGES, jsonl, message, write_bundle

PEAK_MB = 512
#: The child's address-space ceiling: a regression fails there instead of exhausting the
#: machine (virtual memory is far above resident memory for numpy/pyarrow, hence not 512 MB).
ADDRESS_SPACE = 3 << 30
CANARY = "CANARY-outside-the-bundle-7f3a"
ROOT = Path(__file__).resolve().parent.parent


#: The corpus ingests in a child process that runs on the real clock (the test clock's shift is
#: not applied there), so ``make test-shifted`` would only repeat ``make test``'s run of it.
REAL_CLOCK_ONLY = pytest.mark.skipif(
    bool(os.environ.get(clockshift.ENV)),
    reason="the memory-limited child ingest runs on the real clock (it runs in `make test`)",
)


def _limit() -> None:  # runs in the child, before exec
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def ingest_in_child(
    path: Path, db_url: str, tmp: Path, *args: str
) -> tuple[int, dict[str, object], float]:
    """``groupops ingest PATH --json [ARGS]`` in a memory-limited child: (exit code, summary,
    peak MB)."""
    code = (
        "import resource, sys, runpy\n"
        "sys.argv = ['groupops', 'ingest', *sys.argv[1:], '--json']\n"
        "try:\n"
        "    from cli import main\n"
        "    main()\n"
        "finally:\n"
        # VmHWM: this process's own high-water mark. ru_maxrss would carry over the pytest
        # process's resident size at the fork (Linux keeps it across exec), so a long suite's
        # memory would count as the ingest's.
        "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
        "    peak = int(hwm[0].split()[1])\n"
        "    sys.stderr.write(f'\\nPEAK_KB={peak}\\n')\n"
    )
    env = {**os.environ, "GROUPOPS_DATABASE_URL": db_url, "GROUPOPS_OUTBOX_DIR": str(tmp / "out")}
    done = subprocess.run(
        [sys.executable, "-c", code, str(path), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, preexec_fn=_limit,
    )  # fmt: skip
    peaks = [line for line in done.stderr.splitlines() if line.startswith("PEAK_KB=")]
    assert peaks, done.stderr[-3000:]
    peak_mb = int(peaks[-1].removeprefix("PEAK_KB=")) / 1024
    assert done.returncode in (0, 2), done.stderr[-3000:]
    return done.returncode, json.loads(done.stdout), peak_mb


def _quarantine(engine: sa.Engine) -> list[tuple[str, str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                QuarantineRecord.source_file,
                QuarantineRecord.field,
                QuarantineRecord.reason,
                QuarantineRecord.raw,
            )
        ).all()
    return [(s, f, r, raw) for s, f, r, raw in rows]


def _nothing_from_outside(engine: sa.Engine) -> None:
    """No stored text holds the canary written outside the bundle."""
    with engine.connect() as conn:
        for table in ("messages", "members", "groups", "quarantine"):
            for row in conn.execute(sa.text(f"SELECT * FROM {table}")):  # fixed names
                assert CANARY not in " ".join(map(str, row)), table


# -- the cases: each writes its input under tmp and says what must be quarantined -----------------


def _outside(tmp: Path) -> Path:
    secret = tmp / "outside" / "secret.jsonl"
    secret.parent.mkdir(exist_ok=True)
    secret.write_text(jsonl([{**MEMBERS[0], "display_name": CANARY}]) * 10, encoding="utf-8")
    return secret


def case_nul_bytes(tmp: Path) -> tuple[Path, int]:
    rows = [*MESSAGES, message(9, text="a\x00b"), message(10, sender_id="u\x1b")]
    return write_bundle(tmp / "b", messages=rows, extra_message_lines=['{"text": "x\x00']), 3


def case_long_line_in_zip(tmp: Path) -> tuple[Path, int]:
    """A 200 MB line in a zip (ratio under the limit: random-ish text compresses little)."""
    folder = write_bundle(tmp / "b")
    archive = tmp / "long.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for child in sorted(folder.iterdir()):
            if child.name != "messages.jsonl":
                zf.write(child, child.name)
        with zf.open("messages.jsonl", "w", force_zip64=True) as out:
            out.write(jsonl(MESSAGES).encode())
            block = os.urandom(1 << 20).hex().encode()  # 2 MiB of hex: ratio about 2:1
            out.write(b'{"text": "')
            for _ in range(100):
                out.write(block)
            out.write(b'"}\n')
            out.write(jsonl([message(9)]).encode())
    return archive, 1


def case_zip_bomb(tmp: Path) -> tuple[Path, int]:
    """300 MB of newlines in 300 kB: refused from the header (ratio), never inflated."""
    folder = write_bundle(tmp / "b")
    archive = tmp / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for child in sorted(folder.iterdir()):
            if child.name != "messages.jsonl":
                zf.write(child, child.name)
        with zf.open("messages.jsonl", "w", force_zip64=True) as out:
            block = b"\n" * (1 << 20)
            for _ in range(300):
                out.write(block)
    return archive, 1


def case_blank_lines(tmp: Path) -> tuple[Path, int]:
    """300 MB of blank lines around the good rows: skipped a block at a time."""
    folder = write_bundle(tmp / "b")
    with (folder / "messages.jsonl").open("ab") as out:
        block = b"\r\n" * (1 << 19)
        for _ in range(300):
            out.write(block)
        out.write(jsonl([message(9)]).encode())
    return folder, 0


def case_symlinks_out(tmp: Path) -> tuple[Path, int]:
    folder = write_bundle(tmp / "b")
    (folder / "members.jsonl").unlink()
    (folder / "members.jsonl").symlink_to(_outside(tmp))
    (folder / "roster.csv").symlink_to("/dev/zero")
    return folder, 2


def case_dangerous_members(tmp: Path) -> tuple[Path, int]:
    folder = write_bundle(tmp / "b")
    archive = tmp / "names.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for child in sorted(folder.iterdir()):
            zf.write(child, child.name)
        zf.writestr("../../x/messages.jsonl", jsonl([{**message(99), "text": CANARY}]))
        zf.writestr("..\\..\\x", CANARY)
        zf.writestr("/etc/messages.jsonl", CANARY)
    return archive, 3


def case_wrong_types(tmp: Path) -> tuple[Path, int]:
    rows = [*MESSAGES, message(9, text={"a": 1}), message(10, message_id=True),
            message(11, group_id=["proj"]), message(12, sender_id=None, text=["x"])]  # fmt: skip
    return write_bundle(tmp / "b", messages=rows), 4


def case_slack_big_day_file(tmp: Path) -> tuple[Path, int]:
    """A Slack zip whose day file declares 300 MB (a bomb): quarantined by name."""
    archive = tmp / "slack.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("channels.json", json.dumps([{"id": "C1", "name": "ops"}]))
        zf.writestr("users.json", json.dumps([{"id": "U1", "name": "li"}]))
        zf.writestr("ops/2026-11-02.json", json.dumps([{"ts": "1793581200.0", "user": "U1",
                                                        "text": "好"}]))  # fmt: skip
        with zf.open("ops/2026-11-03.json", "w", force_zip64=True) as out:
            out.write(b'[{"ts": "1793667600.0", "user": "U1", "text": "')
            for _ in range(300):
                out.write(b" " * (1 << 20))
            out.write(b'"}]')
        zf.writestr("../../ops/2026-11-04.json", "[]")
    return archive, 2


CASES: dict[str, Callable[[Path], tuple[Path, int]]] = {
    "nul-bytes": case_nul_bytes,
    "long-line-in-zip": case_long_line_in_zip,
    "zip-bomb": case_zip_bomb,
    "blank-lines": case_blank_lines,
    "symlinks-out": case_symlinks_out,
    "dangerous-members": case_dangerous_members,
    "wrong-types": case_wrong_types,
    "slack-big-day-file": case_slack_big_day_file,
}


#: Messages stored where the attack is the bundle's only messages file (groups still load).
ONLY = {"zip-bomb": 0, "slack-big-day-file": 1}


@pytest.mark.slow
@REAL_CLOCK_ONLY
@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_case(case: str, db_url: str, engine: sa.Engine, tmp_path: Path) -> None:
    path, bad = CASES[case](tmp_path)
    code, summary, peak_mb = ingest_in_child(path, db_url, tmp_path)
    assert peak_mb < PEAK_MB, f"{case}: peak {peak_mb:.0f} MB"
    quarantined = _quarantine(engine)
    assert code == (2 if bad else 0) and summary["quarantined"] == len(quarantined) == bad
    assert all(reason for _, _, reason, _ in quarantined)
    _nothing_from_outside(engine)
    stored = load_messages(engine)
    if case in ONLY:  # the case's one messages file is the attack: the rest still loads
        assert len(stored) == ONLY[case] and len(load_groups(engine)) >= 1
    else:  # every good row is stored
        assert {"m1", "m2", "m3", "m4"} <= set(stored["message_id"])


# -- the text exports: 1 GB inputs, generated on the fly (never stored) ----------------------------

GIB = 1 << 30
WA_HEAD = "[{d:02d}/11/2026, 09:{m:02d}:00] "
WA_GOOD = [WA_HEAD.format(d=2 + n, m=n) + f"李{n}: 第{n}条" for n in range(3)]
WA_LAST = WA_HEAD.format(d=20, m=0) + "王五: 最后一条"
WC_HEADER = "localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,NickName,Sender"
WC_GOOD = [
    f"{n},g@chatroom,1,0,0,{1793581200 + n * 60},2,第{n}条,,,李{n},wxid_{n}" for n in range(1, 4)
]
WC_LAST = "9,g@chatroom,1,0,0,1793667600,2,最后一条,,,王五,wxid_9"


def _hole(path: Path, before: str, after: str) -> Path:
    """``before``, then 1 GiB of NUL bytes with no line end (a sparse file: nothing written
    to disk, every byte read), then ``after``."""
    with path.open("wb") as out:
        out.write(before.encode())
        out.seek(GIB, os.SEEK_CUR)
        out.write(after.encode())
    return path


def _blanks(path: Path, before: str, after: str, end: bytes) -> Path:
    """``before``, 1 GiB of empty lines ended by ``end``, then ``after``."""
    block = end * ((1 << 20) // len(end))
    with path.open("wb") as out:
        out.write(before.encode())
        for _ in range(GIB // len(block)):
            out.write(block)
        out.write(after.encode())
    return path


def wa_long_line(tmp: Path) -> Path:
    """A message whose first line is 1 GiB: quarantined as too long, the others load."""
    before = "\r\n".join([*WA_GOOD, WA_HEAD.format(d=10, m=0) + "赵六: "])
    return _hole(tmp / "WhatsApp Chat with 运营群.txt", before, "\r\n" + WA_LAST + "\r\n")


def wa_blank_lines(tmp: Path) -> Path:
    """1 GiB of CR-only empty lines inside the last message but one: skipped, all load."""
    before = "\r".join(WA_GOOD) + "\r"
    return _blanks(tmp / "WhatsApp Chat with 运营群.txt", before, WA_LAST + "\r", b"\r")


def wa_dev_zero(tmp: Path) -> Path:
    """An export folder whose ``_chat.txt`` is a symlink to ``/dev/zero``."""
    folder = tmp / "运营群"
    folder.mkdir()
    (folder / "_chat.txt").symlink_to("/dev/zero")
    return folder


def wc_long_line(tmp: Path) -> Path:
    before = "\n".join([WC_HEADER, *WC_GOOD, "5,g@chatroom,1,0,0,1793581500,2,"])
    return _hole(tmp / "运营群_utf8.csv", before, ",,,赵六,wxid_6\n" + WC_LAST + "\n")


def wc_blank_lines(tmp: Path) -> Path:
    before = "\n".join([WC_HEADER, *WC_GOOD]) + "\n"
    return _blanks(tmp / "运营群_utf8.csv", before, WC_LAST + "\n", b"\r\n")


def wc_dev_zero(tmp: Path) -> Path:
    (tmp / "运营群_utf8.csv").symlink_to("/dev/zero")
    return tmp / "运营群_utf8.csv"


def telegram_big_export(tmp: Path) -> Path:
    """A Telegram Desktop export of 100,000 messages (about 220 MB, the text as JSON escapes:
    more than three times the old whole-document limit), one of them not an object: streamed,
    that one quarantined, the rest stored."""
    path = tmp / "result.json"
    filler = "运营周报 " * 40
    with path.open("w", encoding="utf-8") as out:
        out.write('{"name": "大群", "type": "private_supergroup", "id": 4242, "messages": [')
        for i in range(1, 100_001):
            text = {1: "第1条", 100_000: "最后一条"}.get(i, f"{filler}{i}")
            message = {"id": i, "type": "message", "date": "2026-11-02T09:00:00",
                       "date_unixtime": str(1793581200 + i), "from": f"成员{i % 300}",
                       "from_id": f"user{i % 300}", "text": text,
                       "text_entities": [{"type": "plain", "text": text}]}  # fmt: skip
            out.write(("," if i > 1 else "") + ("[1, 2]" if i == 50_000 else json.dumps(message)))
        out.write("]}")
    return path


def discord_big_export(tmp: Path) -> Path:
    """A DiscordChatExporter channel of 100,000 messages (about 115 MB), one of them not an
    object: streamed, that one quarantined, the rest stored."""
    path = tmp / "大群 [4242].json"
    filler = "运营周报 " * 40
    with path.open("w", encoding="utf-8") as out:
        out.write('{"guild": {"id": "1", "name": "运营中心"}, "channel": {"id": "4242", '
                  '"type": "GuildTextChat", "name": "大群"}, "messages": [')  # fmt: skip
        for i in range(1, 100_001):
            text = {1: "第1条", 100_000: "最后一条"}.get(i, f"{filler}{i}")
            message = {"id": str(i), "type": "Default", "timestamp": f"2026-11-02T09:{i // 6000 % 60:02d}:00+08:00",
                       "author": {"id": str(i % 300), "name": f"成员{i % 300}"}, "content": text}  # fmt: skip
            out.write(("," if i > 1 else "") + ("[1, 2]" if i == 50_000 else json.dumps(message)))
        out.write("]}")
    return path


#: case → (builder, format, quarantined, messages stored).
EXPORT_CASES: dict[str, tuple[Callable[[Path], Path], str, int, int]] = {
    "whatsapp-1gb-line": (wa_long_line, "whatsapp", 1, 4),
    "whatsapp-1gb-blank-lines": (wa_blank_lines, "whatsapp", 0, 4),
    "whatsapp-dev-zero": (wa_dev_zero, "whatsapp", 1, 0),
    "wechat-1gb-line": (wc_long_line, "wechat-csv", 1, 4),
    "wechat-1gb-blank-lines": (wc_blank_lines, "wechat-csv", 0, 4),
    "wechat-dev-zero": (wc_dev_zero, "wechat-csv", 1, 0),
    "telegram-220mb-export": (telegram_big_export, "telegram", 1, 99_999),
    "discord-115mb-export": (discord_big_export, "discord", 1, 99_999),
}


@pytest.fixture(scope="module")
def export_inputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Each case's input, built once for both stores and deleted after the module."""
    built: dict[str, Path] = {}
    yield built
    for path in built.values():
        shutil.rmtree(path.parent, ignore_errors=True)


@pytest.mark.slow
@REAL_CLOCK_ONLY
@pytest.mark.timeout(900)  # 1 GB and 220 MB inputs on a loaded 2-core machine
@pytest.mark.parametrize("case", sorted(EXPORT_CASES))
def test_hostile_export(
    case: str, db_url: str, engine: sa.Engine, tmp_path: Path, export_inputs: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:  # fmt: skip
    build, fmt, bad, stored = EXPORT_CASES[case]
    if case not in export_inputs:
        export_inputs[case] = build(tmp_path_factory.mktemp(f"export-{case}"))
    code, summary, peak_mb = ingest_in_child(export_inputs[case], db_url, tmp_path, "--format", fmt)
    assert peak_mb < PEAK_MB, f"{case}: peak {peak_mb:.0f} MB"
    quarantined = _quarantine(engine)
    assert code == (2 if bad else 0) and summary["quarantined"] == len(quarantined) == bad
    assert all(field in ("(file)", "(line)", "(record)") and reason
               for _, field, reason, _ in quarantined)  # fmt: skip
    messages = load_messages(engine)
    assert len(messages) == stored
    if stored:
        assert {"最后一条", "第1条"} <= set(messages["text"])
    assert len(load_groups(engine)) == 1


# -- fuzzing the readers -------------------------------------------------------------------------

FUZZ = settings(
    max_examples=int(os.environ.get("ROBUST_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SPECIAL = [b"\x00", b"\x1b[31m", b"\xff\xfe", b"\xef\xbb\xbf", b'"', b",", b"\r", b"{", b"}",
           b"[", b"\\u0000", b"\\ud800", b"\xe4\xbd"]  # fmt: skip
hostile_bytes = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=120).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from(SPECIAL),
)
lines = st.lists(st.lists(hostile_bytes, max_size=6).map(b"".join), max_size=12)


def _check_records(records: list[Any]) -> None:
    last = 0
    for record in records:
        assert (record.data is None) != (record.error is None)
        if record.error is not None:
            assert record.error.reason
        assert record.line >= last
        last = record.line


@FUZZ
@given(lines, st.sampled_from(["\n", "\r\n"]))
def test_jsonl_reader_never_crashes(chunks: list[bytes], end: str) -> None:
    data = end.encode().join(chunks)
    records = list(_jsonl_records("messages", "f", io.BytesIO(data), Limits(max_record_bytes=1024)))
    _check_records(records)


@FUZZ
@given(lines)
def test_csv_reader_never_crashes(chunks: list[bytes]) -> None:
    header = b"platform,group_id,message_id,sender_id,sent_at,kind,text\n"
    data = header + b"\n".join(chunks)
    records = list(_csv_records("messages", "f", io.BytesIO(data), Limits(max_record_bytes=1024)))
    _check_records(records)


texts = st.one_of(st.text(max_size=40), st.sampled_from(["a\x00b", "\x1b[2J", "[/x]", "\ud800"]))
fields = st.one_of(texts, st.none(), st.booleans(), st.integers(), st.lists(texts, max_size=2),
                   st.dictionaries(st.text(max_size=3), texts, max_size=2))  # fmt: skip
edits = st.lists(
    st.tuples(st.sampled_from(["text", "message_id", "sender_id", "kind"]), fields), max_size=8
)


@FUZZ
@given(edits)
def test_ingest_stores_or_quarantines_every_record(
    engine: sa.Engine, tmp_path_factory: pytest.TempPathFactory, changes: list[tuple[str, Any]]
) -> None:
    """Whatever a field holds, every record is stored or quarantined with a reason, on SQLite
    and PostgreSQL alike (a lone surrogate is written as a JSON escape; orjson refuses it)."""
    from datetime import UTC, datetime

    from groupops.ingest import open_bundle, run_ingest
    from groupops.policy import Policy

    rows = [message(100 + n, **{name: value}) for n, (name, value) in enumerate(changes)]
    folder = tmp_path_factory.mktemp("fuzz")
    for name, records in (("groups", GROUPS), ("members", MEMBERS), ("memberships", MEMBERSHIPS)):
        (folder / f"{name}.jsonl").write_text(jsonl(records), encoding="utf-8")
    text = "".join(json.dumps(r, ensure_ascii=True) + "\n" for r in [*MESSAGES, *rows])
    (folder / "messages.jsonl").write_text(text, encoding="utf-8")
    with engine.begin() as conn:
        for table in ("messages", "quarantine", "membership_events", "members", "groups"):
            conn.execute(sa.text(f"DELETE FROM {table}"))  # fixed table names
    summary = run_ingest(open_bundle(folder), engine, Policy(),
                         now=datetime(2026, 11, 24, tzinfo=UTC))  # fmt: skip
    messages = summary.entities[3]
    assert messages.read == len(MESSAGES) + len(rows)
    assert messages.loaded + messages.quarantined + messages.unchanged == messages.read
    assert {"m1", "m2", "m3", "m4"} <= set(load_messages(engine)["message_id"])
