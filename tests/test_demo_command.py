"""``groupops demo`` (what ``make demo`` runs): every stage on the demo company, into a fresh
store, at the demo's own as_of, in this process; the caller's settings are left as they were;
it ends with the exact commands that show what it stored, and those commands do.

Its tables are also the check that the everyday commands print at 80 columns without
splitting an id, a name or a path (``cli/tables.py``)."""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.cells import cell_len
from typer.testing import CliRunner, Result

from cli import app
from cli.app import console
from groupops.db import make_engine
from groupops.settings import get_settings

PLANTED = json.loads(Path("data/demo/planted.json").read_text(encoding="utf-8"))
CLEANUP_RUN = re.compile(r"cleanup-\d{8}T\d{4}-[0-9a-f]{8}")


def _run_ids(text: str) -> str:
    return CLEANUP_RUN.sub("cleanup-RUN", text)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    out = tmp_path_factory.mktemp("demo") / "demo"
    (out / "stale").mkdir(parents=True)  # a previous demo's leftovers are removed
    return out, CliRunner().invoke(app, ["demo", "--out", str(out)])


def next_steps(output: str) -> tuple[dict[str, str], list[list[str]]]:
    """The ``export …`` settings and the ``uv run groupops …`` commands the demo printed."""
    env: dict[str, str] = {}
    commands = []
    for line in output.split("explore the demo's data", 1)[1].splitlines():
        if not line.strip().startswith(("export ", "uv run ")):
            continue
        words = shlex.split(line.strip())
        if words[:1] == ["export"]:
            env.update(dict(w.split("=", 1) for w in words[1:]))
        elif words[:3] == ["uv", "run", "groupops"]:
            commands.append(words[3:])
    return env, commands


@pytest.fixture
def demo_env(
    demo: tuple[Path, Result], monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[list[str]]]:
    env, commands = next_steps(demo[1].output)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield commands
    get_settings.cache_clear()


def test_demo_runs_every_stage_into_a_fresh_store(demo: tuple[Path, Result]) -> None:
    out, result = demo
    assert result.exit_code == 0, result.output
    assert (
        "GROUPOPS_DATABASE_URL" not in os.environ
        or str(out) not in os.environ["GROUPOPS_DATABASE_URL"]
    )
    assert not (out / "stale").exists()
    text = " ".join(result.output.split())
    assert "every record loaded" in text
    assert f"{len(PLANTED['overdue'])} overdue" in text
    assert f"{len(PLANTED['meetings'])} meetings" in text
    # The moderation stage decides every planted violation, and the non-response violations the
    # deadline watcher recorded just before it (they enter the same ladder).
    decided = re.search(r"(\d+) decided", text)
    assert decided and int(decided.group(1)) >= len(PLANTED["violations"]["decided"])
    stale = len(PLANTED["cleanup"]["candidates"])  # and moderation's off-topic ones
    purge = re.search(r"(\d+) to purge", text)
    assert purge and int(purge.group(1)) > stale and "nothing purged" in text
    assert "Prefect" not in result.output  # in this process: no server, no Prefect logs
    engine = make_engine(f"sqlite:///{out / 'groupops.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from messages")).scalar_one() == len(
            Path("data/demo/messages.jsonl").read_text(encoding="utf-8").splitlines()
        )
    engine.dispose()
    assert list((out / "outbox").glob("*.eml"))


def test_the_printed_commands_show_the_demo_data(demo_env: list[list[str]]) -> None:
    assert [c[0] for c in demo_env] == [
        "stats", "overdue", "tasks", "digest", "cleanup", "runs", "quarantine"
    ]  # fmt: skip
    outputs = {}
    for args in demo_env:
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        outputs[args[0]] = result.output
    assert "every record loaded" not in outputs["runs"]
    assert "clean" in outputs["runs"]
    assert f"{len(PLANTED['overdue'])} overdue" in outputs["overdue"]
    assert "already" in outputs["digest"]  # the demo queued them: running again adds nothing
    assert "preview only" in outputs["cleanup"]  # the demo's cleanup stage purged nothing
    json_stats = CliRunner().invoke(app, [*demo_env[0], "--json"])
    assert sum(g["messages"] for g in json.loads(json_stats.output)["groups"]) > 0


def _lines_fit(output: str, width: int) -> None:
    for line in output.splitlines():
        if line.startswith("  ") and ": " in line:
            continue  # a record's "column: value" line: one logical line the terminal wraps
        assert cell_len(line) <= width, line


@pytest.mark.parametrize(
    ("command", "ids"),
    [
        ("overdue", ("group_id", "message_id", "assignee_name")),
        ("tasks", ("group_id", "message_id", "assignee_name")),
    ],
)
def test_tables_fit_80_columns_without_splitting_ids(
    demo_env: list[list[str]], command: str, ids: tuple[str, ...]
) -> None:
    assert console.width == 80  # not a terminal: Rich's default, as in a pipe or CI
    args = next(c for c in demo_env if c[0] == command)
    text = CliRunner().invoke(app, args).output
    records = json.loads(CliRunner().invoke(app, [*args, "--json"]).output)
    _lines_fit(text, 80)
    lines = text.splitlines()
    for record in records:
        for key in ids:  # whole, on one line (a name may hold a space)
            assert any(str(record[key]) in line for line in lines), (key, record[key])


@pytest.mark.parametrize(
    ("args", "ids"),
    [
        (["violations"], ("group_id", "member_id", "category")),
        (["appeals"], ("group_id", "member_id")),
        (["todos"], ("group_id", "member_id", "action")),
        (["meetings", "--as-of", "2026-11-20T18:00"], ("group_id",)),
        (["roster", "check", "--as-of", "2026-11-20T18:00"], ("group_id", "member_id")),
    ],
)
def test_moderation_and_meeting_tables_keep_ids_whole_at_80_columns(
    demo_env: list[list[str]], args: list[str], ids: tuple[str, ...]
) -> None:
    """The listings after ``make demo`` at 80 columns: columns are left out (a note says
    which) or rows become records before an id or a name is split across lines."""
    assert console.width == 80
    text = CliRunner().invoke(app, args).output
    records = json.loads(CliRunner().invoke(app, [*args, "--json"]).output)
    assert records  # the demo left some: the check below is not vacuous
    _lines_fit(text, 80)
    lines = text.splitlines()
    for record in records:
        for key in ids:
            assert any(str(record[key]) in line for line in lines), (key, record[key])


def test_stats_runs_and_digest_tables_keep_ids_and_paths_whole(
    demo_env: list[list[str]], demo: tuple[Path, Result]
) -> None:
    stats_args = demo_env[0]
    text = CliRunner().invoke(app, stats_args).output
    _lines_fit(text, 80)
    report = json.loads(CliRunner().invoke(app, [*stats_args, "--json"]).output)
    words = set(text.split())
    for group in report["groups"]:
        assert f"{group['platform']}:{group['group_id']}" in words
        for member in group["members"]:
            assert member["member_id"] in words

    runs = CliRunner().invoke(app, ["runs", "list"]).output
    _lines_fit(runs, 80)
    assert "data/demo" in runs.split()

    digest = CliRunner().invoke(app, demo_env[3]).output
    out = demo[0] / "outbox"
    paths = [p for p in digest.split() if p.endswith(".eml")]
    assert paths and all(Path(p).parent == out and Path(p).exists() for p in paths)


def test_digests_share_one_load_of_their_sections_and_say_what_loading_each_would(
    demo_env: list[list[str]], demo: tuple[Path, Result]
) -> None:
    """The demo loads the sections besides activity (overdue, meetings, moderation, archive)
    once for its weekly and monthly digests: each queued digest is exactly what loading them
    again at the demo's as_of (nothing they read changed since) builds and renders. (The
    tests above may run ``groupops cleanup`` again at the same as_of: the same preview under
    a new run id, which the admins' digest names.)"""
    from email import message_from_bytes
    from email import policy as email_policy
    from email.message import EmailMessage

    from groupops.clock.timeparse import parse_instant
    from groupops.digest import build_digests, digest_period
    from groupops.digest.deliver import standard_providers
    from groupops.mail.render import render_email
    from groupops.policy import load_policy

    pol = load_policy(get_settings().policy_path)
    as_of = parse_instant(PLANTED["as_of"], pol.tz)
    engine = make_engine(get_settings().database_url)
    providers = standard_providers(engine, pol, as_of)
    queued = {p.name.split("-", 1)[1]: p for p in (demo[0] / "outbox").glob("*-digest_*.eml")}
    compared = 0
    for kind in ("week", "month"):
        period = digest_period(kind, as_of, pol)
        for d in build_digests(engine, pol, period, providers=providers, as_of=as_of):
            if not d.has_content or not d.recipients or d.held:
                continue
            name = "digest_" + d.key.split(":", 1)[1].replace(":", "_") + ".eml"
            mail = message_from_bytes(queued[name].read_bytes(), policy=email_policy.default)
            assert isinstance(mail, EmailMessage)
            fresh = render_email("digest", d.context, language=d.language, images=d.images)
            plain, html = mail.get_body(("plain",)), mail.get_body(("html",))
            assert plain is not None and html is not None
            assert _run_ids(plain.get_content()) == _run_ids(fresh.text), name
            assert _run_ids(html.get_content()) == _run_ids(fresh.html), name
            compared += 1
    engine.dispose()
    assert compared == len(queued) == 16


def test_the_digest_finds_the_meetings_once_and_the_watcher_takes_them(
    demo_env: list[list[str]], demo: tuple[Path, Result]
) -> None:
    """The digest's sections find the meetings once (``standard_providers``): the deadline
    watcher's obligations given the meetings found equal those that find them again, and
    the meetings view built on those obligations holds the same meetings and records as one
    that computes its own (the demo's store has meetings with action items and minutes)."""
    import pandas as pd

    from groupops.clock.timeparse import parse_instant
    from groupops.meetings.store import load_meetings
    from groupops.policy import load_policy
    from groupops.watch import load_obligations

    pol = load_policy(get_settings().policy_path)
    as_of = parse_instant(PLANTED["as_of"], pol.tz)
    folder = get_settings().meetings_dir
    engine = make_engine(get_settings().database_url)
    try:
        fresh = load_obligations(engine, pol, as_of, meetings_dir=folder)
        alone = load_meetings(engine, pol, as_of, meetings_dir=folder)
        shared = load_meetings(
            engine, pol, as_of, meetings_dir=folder,
            obligations=lambda found: load_obligations(
                engine, pol, as_of, meetings_dir=folder, found=found
            ),
        )  # fmt: skip
    finally:
        engine.dispose()
    assert any(m.action_items for m in alone.found.meetings)
    assert (fresh.tasks["source"] == "minutes").any()
    assert shared.found == alone.found
    assert shared.records == alone.records
    assert shared.problems == alone.problems
    for name in ("items", "overdue", "tasks", "violations"):
        pd.testing.assert_frame_equal(getattr(shared.obligations, name), getattr(fresh, name))
