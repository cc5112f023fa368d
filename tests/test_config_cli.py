"""``groupops config show``: settings with secrets masked; the policy validated."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from groupops.settings import get_settings

SECRET = "s3cr3t-Passw0rd"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv(
        "GROUPOPS_DATABASE_URL", f"postgresql+psycopg://ops:{SECRET}@db.internal:5432/groupops"
    )
    monkeypatch.setenv("GROUPOPS_SMTP_PASSWORD", SECRET)
    monkeypatch.setenv("GROUPOPS_SMTP_HOST", "smtp.example.com")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("args", [["config", "show"], ["config", "show", "--json"]])
def test_secrets_are_masked(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert "smtp.example.com" in result.output
    assert "db.internal" in result.output


def test_json_carries_the_policy() -> None:
    result = CliRunner().invoke(app, ["config", "show", "--json"])
    payload = json.loads(result.stdout)
    assert payload["policy"]["timezone"] == "Asia/Shanghai"
    assert payload["settings"]["smtp_password"] == "**********"


def test_invalid_policy_is_reported_with_its_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = tmp_path / "policy.toml"
    bad.write_text("[replies]\ndeadline_working_hours = 0\n", encoding="utf-8")
    monkeypatch.setenv("GROUPOPS_POLICY_PATH", str(bad))
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 2
    assert "replies.deadline_working_hours" in result.output
