"""The sources file: validation messages name the key; secrets only by reference, never echoed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from typer.testing import CliRunner

from cli import app
from groupops.connectors.base import Capability
from groupops.connectors.config import (
    SecretRef,
    SourcesError,
    load_links,
    load_sources,
    parse_sources,
    resolve_secret,
)
from groupops.connectors.feishu import FeishuConnector
from groupops.connectors.links import message_link
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


# -- links in reports: the Slack workspace and Telegram public groups from this file ----------

SLACK_TOML = """
[[sources]]
name = "slack-acme"
kind = "slack"
base_url = "https://slack.com/api/"
groups = ["C0ACME"]
token = { env = "SLACK_TOKEN" }
workspace = "acme"

[[sources]]
name = "slack-beta"
kind = "slack"
base_url = "https://slack.com/api/"
groups = ["C0BETA"]
token = { env = "SLACK_TOKEN" }

[telegram_public_groups]
"-1001" = "acme_ops"
"""


@pytest.mark.parametrize(
    ("toml", "env_workspace", "env_telegram", "platform", "group", "message", "link"),
    [
        # The source's workspace wins; the environment's is the fallback for other channels.
        (
            SLACK_TOML,
            "fallback",
            {},
            "slack",
            "C0ACME",
            "1700000000.000100",
            "https://acme.slack.com/archives/C0ACME/p1700000000000100",
        ),
        (
            SLACK_TOML,
            "fallback",
            {},
            "slack",
            "C0BETA",
            "1700000000.000100",
            "https://fallback.slack.com/archives/C0BETA/p1700000000000100",
        ),
        (SLACK_TOML, None, {}, "slack", "C0BETA", "1700000000.000100", None),
        # Telegram: the file's public groups, then the environment's.
        (SLACK_TOML, None, {}, "telegram", "-1001", "42", "https://t.me/acme_ops/42"),
        (
            SLACK_TOML,
            None,
            {"-1001": "env_name", "-1002": "other_grp"},
            "telegram",
            "-1001",
            "42",
            "https://t.me/acme_ops/42",
        ),
        (
            SLACK_TOML,
            None,
            {"-1002": "other_grp"},
            "telegram",
            "-1002",
            "7",
            "https://t.me/other_grp/7",
        ),
        (SLACK_TOML, None, {}, "telegram", "-1003", "7", None),  # private: no link
        # No sources file: the environment alone, as before.
        (
            None,
            "acme",
            {"-1001": "env_name"},
            "slack",
            "C0ACME",
            "1700000000.000100",
            "https://acme.slack.com/archives/C0ACME/p1700000000000100",
        ),
        (None, None, {"-1001": "env_name"}, "telegram", "-1001", "5", "https://t.me/env_name/5"),
    ],
)
def test_links_from_the_sources_file_with_the_environment_as_fallback(
    tmp_path: Path, toml: str | None, env_workspace: str | None, env_telegram: dict[str, str],
    platform: str, group: str, message: str, link: str | None,
) -> None:  # fmt: skip
    path = tmp_path / "sources.toml"
    if toml is not None:
        path.write_text(toml, encoding="utf-8")
    links = load_links(path, slack_workspace=env_workspace, telegram_public=env_telegram)
    assert message_link(platform, group, message, links) == link


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('workspace = "Acme Corp"', "sources.0.workspace: String should match pattern"),
        (
            '\n[telegram_public_groups]\n"-1001" = "t.me/acme"',
            "telegram_public_groups.-1001: String should match pattern",
        ),
        (
            '\n[telegram_public_groups]\n"-1001" = "abc"',
            "telegram_public_groups.-1001: String should match pattern",
        ),
    ],
)
def test_bad_link_fields_name_the_key(tmp_path: Path, extra: str, message: str) -> None:
    path = tmp_path / "sources.toml"
    one_slack = SLACK_TOML[: SLACK_TOML.index("[[sources]]", 10)]  # the first source only
    one_slack = one_slack.replace('workspace = "acme"\n', "")
    path.write_text(one_slack + extra + "\n", encoding="utf-8")
    with pytest.raises(SourcesError, match=message.replace(".", r"\.")):
        load_links(path)


def test_the_settings_path_and_fallbacks_give_the_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from groupops.settings import get_settings

    path = tmp_path / "sources.toml"
    path.write_text(SLACK_TOML, encoding="utf-8")
    monkeypatch.setenv("GROUPOPS_SOURCES_PATH", str(path))
    monkeypatch.setenv("GROUPOPS_SLACK_WORKSPACE", "fallback")
    get_settings.cache_clear()
    try:
        settings = get_settings()
        links = load_links(settings.sources_path, slack_workspace=settings.slack_workspace,
                           telegram_public=settings.telegram_public_groups)  # fmt: skip
    finally:
        get_settings.cache_clear()
    assert links.slack_workspaces == {"C0ACME": "acme"} and links.slack_workspace == "fallback"
    assert dict(links.telegram_public) == {"-1001": "acme_ops"}


def test_the_digest_links_a_slack_message_through_the_sources_file(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An overdue task in a Slack channel: the owner's Needs-you item links to its permalink,
    with the workspace from the Slack source in sources.toml (no environment variable)."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from groupops.db import session_scope
    from groupops.db.models import Group, Member, Message
    from groupops.digest import build_digests, digest_period
    from groupops.digest.deliver import standard_providers
    from groupops.policy import Policy
    from groupops.settings import get_settings

    tz, now = ZoneInfo("Asia/Shanghai"), datetime(2026, 11, 1, tzinfo=UTC)
    with session_scope(engine) as s:
        s.add(Group(platform="slack", group_id="C0ACME", name="ops", owner_id="boss",
                    admin_ids=["adm"], content_hash=0, updated_at=now))  # fmt: skip
        for mid in ("wl", "lh", "adm", "boss"):
            s.add(Member(platform="slack", member_id=mid, display_name=mid, real_name=mid,
                         email=f"{mid}@example.com", content_hash=0, updated_at=now))  # fmt: skip
        s.flush()
        s.add(Message(platform="slack", group_id="C0ACME", message_id="1794800000.000100",
                      sender_id="wl", sent_at=datetime(2026, 11, 16, 10, tzinfo=tz), kind="text",
                      text="[task] @lh send the quote by tomorrow", mentions=["lh"],
                      content_hash=0, updated_at=now))  # fmt: skip
    path = tmp_path / "sources.toml"
    path.write_text(SLACK_TOML, encoding="utf-8")
    monkeypatch.setenv("GROUPOPS_SOURCES_PATH", str(path))
    monkeypatch.delenv("GROUPOPS_SLACK_WORKSPACE", raising=False)
    monkeypatch.setenv("GROUPOPS_MEETINGS_DIR", str(tmp_path / "no-meetings"))
    get_settings.cache_clear()
    try:
        policy, as_of = Policy(), datetime(2026, 11, 23, 9, tzinfo=tz)
        providers = standard_providers(engine, policy, as_of)
        digests = build_digests(engine, policy, digest_period("week", as_of, policy),
                                providers=providers, as_of=as_of)  # fmt: skip
    finally:
        get_settings.cache_clear()
    owner = next(d for d in digests if d.scope.audience == "owner")
    links = [a.get("link") for slot in owner.context["needs_you"]["slots"] for a in slot["items"]]
    assert "https://acme.slack.com/archives/C0ACME/p1794800000000100" in links
