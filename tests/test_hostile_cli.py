"""Untrusted text printed by the CLI (issue 14): names, texts, ids, paths and reasons that look
like Rich markup (or carry terminal control characters) are shown as written by every command,
never interpreted; settings never show a password, even in a URL that does not parse."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from cli.tables import safe, visible
from groupops.settings import Settings, get_settings, mask_url
from tests.bundles import jsonl, message

#: Strings that Rich would read as markup (or emoji codes), or that break it.
CORPUS = ("a [/x] b", "[task]", "[link=http://x]y[/link]", "[bold]", ":thumbs_up:", "x\\", "[/]")
RUNNER = CliRunner()
AS_OF = "2026-11-20T18:00"


def hostile_bundle(folder: Path) -> Path:
    folder.mkdir(parents=True)
    groups = [
        {"platform": "wecom", "group_id": "g[/x]", "name": "a [/x] b", "category": "project",
         "owner_id": "[bold]", "admin_ids": ["[task]"]},
    ]  # fmt: skip
    names = {"[bold]": "[link=http://x]y[/link]", "[task]": "[task]", "u3": ":thumbs_up:"}
    members = [
        {"platform": "wecom", "member_id": mid, "display_name": name, "email": None}
        for mid, name in names.items()
    ]
    memberships = [
        {"platform": "wecom", "group_id": "g[/x]", "member_id": mid, "event": "join",
         "at": "2026-10-01T10:00:00+08:00"}
        for mid in names
    ]  # fmt: skip
    messages = [
        message(1, group="g[/x]", sender="[bold]", text="【任务】@[task] 今天下班前提交 [/x]",
                mentions=["[task]"], sent_at="2026-11-16T09:00:00+08:00"),
        message(2, group="g[/x]", sender="u3", text="@[bold] [link=http://x]y[/link] 请回复？",
                mentions=["[bold]"], sent_at="2026-11-16T10:00:00+08:00"),
        message(3, group="g[/x]", sender="[task]", text="x\\", sent_at="2026-11-16T11:00:00+08:00"),
        message(4, group="g[/x]", sender="[task]", kind="[bold]", sent_at="2026-11-16T11:05:00+08:00"),
    ]  # fmt: skip
    (folder / "groups.jsonl").write_text(jsonl(groups), encoding="utf-8")
    (folder / "members.jsonl").write_text(jsonl(members), encoding="utf-8")
    (folder / "memberships.jsonl").write_text(jsonl(memberships), encoding="utf-8")
    broken = '{"text": "[link=http://x]y[/link] a [/x] b [task] \x1b[31m"\n'
    (folder / "messages.jsonl").write_text(jsonl(messages) + broken, encoding="utf-8")
    return folder


@pytest.fixture
def store(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", db_url)
    monkeypatch.setenv("GROUPOPS_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("GROUPOPS_SOURCES_PATH", str(tmp_path / "none.toml"))
    monkeypatch.setenv("GROUPOPS_MEETINGS_DIR", str(tmp_path / "no-meetings"))
    get_settings.cache_clear()
    yield hostile_bundle(tmp_path / "a [/x] b [bold]")
    get_settings.cache_clear()


def run(*args: str, codes: tuple[int, ...] = (0,)) -> str:
    result = RUNNER.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{args}: {result.exception!r}\n{result.output}"
    )
    assert result.exit_code in codes, f"{args}: exit {result.exit_code}\n{result.output}"
    assert "MarkupError" not in result.output and "\x1b" not in result.output
    return result.output


def flat(text: str) -> str:
    """Output without table borders and line breaks (a name may sit in a folded cell)."""
    for ch in "│┃┏┓┗┛┡┩└┘┌┐├┤┼─━╇╈╀╁═║\n":
        text = text.replace(ch, " ")
    return " ".join(text.split())


def test_every_command_shows_markup_as_written(store: Path) -> None:
    bundle = str(store)
    out = run("ingest", bundle, codes=(2,))
    assert bundle in flat(out) or "a [/x] b [bold]" in out
    assert "record(s) in quarantine" in out

    out = flat(run("quarantine", "list"))
    assert "[link=http://x]y[/link] a [/x] b [task] ␛[31m" in out  # the raw line, visible
    assert "'[bold]' is not one of" in out  # the reason quotes the value as written
    assert "quarantined records (2)" in out
    for line in map(json.loads, run("quarantine", "list", "--json").splitlines()):
        assert line["source_file"].startswith(bundle)

    assert "a [/x] b [bold]" in flat(run("runs", "list"))

    out = flat(run("stats", "--since", "2026-11-16", "--until", "2026-11-23"))
    assert "a [/x] b" in out and "g[/x]" in out
    assert "[link=http://x]y[/link]" in out and ":thumbs_up:" in out and "👍" not in out

    out = flat(run("overdue", "--as-of", AS_OF))
    assert "[task]" in out or "[link=http://x]y[/link]" in out
    run("overdue", "--as-of", AS_OF, "--json")
    out = flat(run("tasks", "--as-of", AS_OF))
    assert "g[/x]" in out
    run("meetings", "--as-of", AS_OF)

    out = run("violations", "record", "--group", "g[/x]", "--member", "[bold]",
              "--category", "rumour", "--at", "2026-11-17T09:00", "--by", "[task]")  # fmt: skip
    assert "[bold] in g[/x]" in out
    out = flat(run("violations", "--as-of", AS_OF))
    assert "g[/x]" in out and "[bold]" in out
    run("moderate", "--as-of", AS_OF, "--local", "--dry-run")
    run("appeals", "--as-of", AS_OF)
    run("roster", "check")
    run("digest", "--period", "week", "--as-of", "2026-11-23T09:00")
    digests = RUNNER.invoke(app, ["digest", "--period", "week", "--as-of", "2026-11-23T09:00",
                                  "--local", "--json"])  # fmt: skip
    assert digests.exit_code == 0 and "\x1b" not in digests.stdout, digests.output
    assert "a [/x] b" in {r["subject_name"] for r in json.loads(digests.stdout)}
    run("sources", "list", codes=(0, 2))
    assert "Cleanup" in run("cleanup", "--as-of", "2026-12-20T18:00")
    run("archive", "update", "--as-of", AS_OF)
    assert "g[/x]" in flat(run("archive", "list"))
    assert "[/x]" in flat(run("archive", "search", "今天下班前"))
    run("archive", "export", "--group", "g[/x]", "--month", "2026-11")
    out = run("ingest", str(store / "nope [/x]"), codes=(1,))
    assert "nope [/x]" in out


def test_helpers_escape_and_show_controls() -> None:
    from rich.text import Text

    for text in CORPUS:
        assert Text.from_markup(safe(text), emoji=False).plain == text
    assert visible("a\x1b[31m\x07\x9b\tb\n") == "a␛[31m␇\ufffd\tb\n"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://user:s3cret@db.example:notaport/groupops",
        "postgresql://user:s3cret@db.example:5432/groupops",
        "postgresql://user:p@s3cret/x@db.example:5432/groupops",
        "postgresql://:s3cret@[::1/groupops",
    ],
)
def test_config_show_never_prints_a_password(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", url)
    monkeypatch.setenv("GROUPOPS_SMTP_PASSWORD", "hunter2")
    get_settings.cache_clear()
    try:
        for args in (["config", "show"], ["config", "show", "--json"]):
            out = run(*args)
            assert "s3cret" not in out and "hunter2" not in out
            assert "db.example" in out or "[::1" in out
        settings = get_settings()
        for shown in (repr(settings), str(settings), str(settings.redacted())):
            assert "s3cret" not in shown and "hunter2" not in shown
        out = RUNNER.invoke(app, ["runs", "list"]).output
        assert "s3cret" not in out
    finally:
        get_settings.cache_clear()


def test_mask_url_keeps_what_is_not_secret() -> None:
    assert mask_url("postgresql://u:pw@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert mask_url("postgresql://u:pw@h:x/db") == "postgresql://***@h:x/db"
    assert mask_url("sqlite:///data/local/groupops.db") == "sqlite:///data/local/groupops.db"
    assert "pw" not in repr(Settings(database_url="postgresql://u:pw@h:x/db"))
