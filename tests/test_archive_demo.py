"""On the demo data, after the moderation run, `groupops cleanup --json` (a preview) lists
exactly the stale notices, duplicates and off-topic messages the generator planted, with their
reasons, and the pinned ones as exempt (data/demo/planted.json: ``cleanup``, and the ``ad`` /
``vulgar`` / ``duplicate`` violations of ``violations.decided``). Applying then restoring gives
the demo store back row for row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli import app
from groupops.db import make_engine
from groupops.db.models import Message
from groupops.settings import get_settings

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
PLANTED = json.loads((DEMO / "planted.json").read_text(encoding="utf-8"))
AS_OF = PLANTED["as_of"]
RUNNER = CliRunner()


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("demo-archive")
    url = f"sqlite:///{root / 'store.db'}"
    mp = pytest.MonkeyPatch()
    mp.setenv("GROUPOPS_DATABASE_URL", url)
    mp.setenv("GROUPOPS_OUTBOX_DIR", str(root / "outbox"))
    mp.setenv("GROUPOPS_SOURCES_PATH", str(root / "no-sources.toml"))
    get_settings.cache_clear()
    for args in (
        ["ingest", str(DEMO), "--format", "canonical", "--local", "--json"],
        ["moderate", "--as-of", AS_OF, "--local", "--json"],
    ):
        result = RUNNER.invoke(app, args)
        assert result.exit_code == 0, result.output
    yield url
    mp.undo()
    get_settings.cache_clear()


def cli_json(*args: str, code: int = 0) -> dict[str, Any]:
    result = RUNNER.invoke(app, list(args))
    assert result.exit_code == code, result.output
    out = json.loads(result.stdout)
    assert isinstance(out, dict)
    return out


def planted_candidates() -> dict[str, str]:
    """message id → reason, from the generator's record."""
    want = {c["message_id"]: c["reason"] for c in PLANTED["cleanup"]["candidates"]}
    for v in PLANTED["violations"]["decided"]:
        if v["category"] in ("ad", "vulgar"):
            want.update(dict.fromkeys(v["message_ids"], "off_topic"))
        elif v["category"] == "duplicate":  # moderation's planted repost: the later copies go
            want.update(dict.fromkeys(v["message_ids"][1:], "duplicate"))
    return want


def test_preview_is_exactly_what_the_generator_planted(demo_store: str) -> None:
    out = cli_json("cleanup", "--as-of", AS_OF, "--json")
    assert out["mode"] == "preview"
    got = {c["message_id"]: c["reason"] for c in out["candidates"]}
    assert got == planted_candidates()
    exempt = {e["message_id"]: e["why"] for e in out["exempt"]}
    assert set(exempt) == {e["message_id"] for e in PLANTED["cleanup"]["exempt"]}
    for e in PLANTED["cleanup"]["exempt"]:
        assert {"pinned": "still pinned", "newer": "newer than"}[e["why"]] in exempt[
            e["message_id"]
        ]
    assert not out["refused"]


def test_apply_then_restore_on_the_demo(demo_store: str) -> None:
    engine = make_engine(demo_store)
    try:

        def snapshot() -> list[tuple[object, ...]]:
            table = Message.__table__
            with engine.connect() as conn:
                return [
                    tuple(r)
                    for r in conn.execute(sa.select(table).order_by(*table.primary_key.columns))
                ]

        before = snapshot()
        applied = cli_json("cleanup", "--as-of", AS_OF, "--apply", "--json")
        assert applied["mode"] == "applied"
        assert applied["counts"]["purged"] == len(planted_candidates())
        again = cli_json("cleanup", "--as-of", AS_OF, "--apply", "--json")
        assert again["candidates"] == [] and again["counts"]["purged"] == 0
        restored = cli_json("restore", str(applied["run_id"]), "--json")
        assert len(restored["restored"]) == len(planted_candidates())
        assert snapshot() == before
    finally:
        engine.dispose()
