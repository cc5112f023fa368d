"""The sources file: validation messages name the key; secrets only by reference, never echoed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from cli import app
from groupops.connectors.base import Capability
from groupops.connectors.config import (
    SecretRef,
    SourcesError,
    load_sources,
    parse_sources,
    resolve_secret,
)
from groupops.connectors.feishu import FeishuConnector
from groupops.connectors.registry import capabilities_of, open_connector

FEISHU = {
    "name": "feishu-main",
    "kind": "feishu",
    "base_url": "https://open.feishu.cn",
    "groups": ["oc_1"],
    "app_id": "cli_1",
    "app_secret": {"env": "FEISHU_SECRET"},
}


def with_(**changes: Any) -> dict[str, Any]:
    return {"sources": [{**FEISHU, **changes}]}


def test_the_shipped_example_file_is_valid() -> None:
    sources = load_sources("data/sources.toml")
    assert {s.kind for s in sources} == {"matrix", "feishu", "slack"}
    assert not any(s.enabled for s in sources)  # examples only: nothing is pulled by default


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (with_(groups=[]), "sources.0.groups: List should have at least 1 item"),
        (with_(kind="wechat"), "sources.0: Input tag 'wechat' found using 'kind' does not match"),
        (with_(base_url="open.feishu.cn"), "sources.0.base_url: String should match pattern"),
        (with_(page_size=51), "sources.0.page_size: Input should be less than or equal to 50"),
        (with_(colour="red"), "sources.0.colour: unknown key"),
        (
            with_(history_since="2026-01-01T00:00:00"),
            "sources.0.history_since: Input should have timezone info",
        ),
        (
            with_(app_secret={"env": "A", "block": "b"}),
            "sources.0.app_secret: Value error, give exactly one",
        ),
        (with_(app_secret={}), "sources.0.app_secret: Value error, give exactly one"),
        (
            {"sources": [FEISHU, FEISHU]},
            "sources: Value error, source name 'feishu-main' is used twice",
        ),
        (with_(name="Feishu Main"), "sources.0.name: String should match pattern"),
    ],
)
def test_errors_name_the_key(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(SourcesError) as info:
        parse_sources(raw, "data/sources.toml")
    assert f"data/sources.toml: {message}" in str(info.value)


@pytest.mark.parametrize("key", ["app_secret"])
def test_a_literal_secret_is_refused_and_never_echoed(key: str) -> None:
    with pytest.raises(SourcesError) as info:
        parse_sources(with_(**{key: "sk-live-abcdef"}), "s.toml")
    assert "sk-live-abcdef" not in str(info.value)
    assert f"s.toml: sources.0.{key}: give a reference" in str(info.value)


def test_secrets_resolve_from_env_or_block() -> None:
    assert resolve_secret(SecretRef(env="X"), environ={"X": "v1"}).get_secret_value() == "v1"
    blocks = {"feishu-app-secret": "v2"}
    got = resolve_secret(SecretRef(block="feishu-app-secret"), block_loader=blocks.__getitem__)
    assert got.get_secret_value() == "v2"
    with pytest.raises(SourcesError, match="environment variable X is not set"):
        resolve_secret(SecretRef(env="X"), environ={})
    with pytest.raises(SourcesError, match="no block loader"):
        resolve_secret(SecretRef(block="b"))
    with pytest.raises(SourcesError, match="cannot read Prefect Secret block 'nope'"):
        resolve_secret(SecretRef(block="nope"), block_loader=blocks.__getitem__)


def test_open_connector_masks_its_credentials() -> None:
    (source,) = parse_sources(with_())
    conn = open_connector(source, environ={"FEISHU_SECRET": "very-secret"})
    assert isinstance(conn, FeishuConnector) and "very-secret" not in repr(conn)
    assert isinstance(resolve_secret(source.app_secret, environ={"FEISHU_SECRET": "s"}), SecretStr)
    assert Capability.MUTE not in capabilities_of("slack") and Capability.MUTE in capabilities_of(
        "matrix"
    )


def test_cli_lists_sources_with_references_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROUPOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'absent.db'}")
    from groupops.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["sources", "list", "--path", "data/sources.toml", "--json"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    slack = next(r for r in rows if r["kind"] == "slack")
    assert slack["credentials"] == {"token": "env:GROUPOPS_SLACK_BOT_TOKEN"}
    assert "mute" not in slack["capabilities"] and slack["watermark"] is None
    assert not (tmp_path / "absent.db").exists()  # read-only: no store created

    bad = tmp_path / "bad.toml"
    bad.write_text('[[sources]]\nname = "x"\nkind = "slack"\n')
    result = CliRunner().invoke(app, ["sources", "list", "--path", str(bad)])
    assert result.exit_code == 2 and "sources.0.base_url: Field required" in result.output


def test_sources_list_does_not_import_prefect() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from cli import app\n"
        "r = CliRunner().invoke(app, ['sources', 'list', '--json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print('prefect' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
