"""The sources file (``data/sources.toml``, ``Settings.sources_path``): which platforms to pull,
which groups, and where their credentials live.

Credentials are given **by reference only**: ``{ env = "VAR" }`` (an environment variable) or
``{ block = "name" }`` (a Prefect Secret block, resolved by ``tasks/pull.py``). A literal secret in
the file is refused. Errors name the file, the dotted key and the problem, e.g.
``data/sources.toml: sources.0.groups: List should have at least 1 item after validation``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from groupops.configfile import read_toml, validation_message
from groupops.connectors.links import Links


class SourcesError(ValueError):
    """The sources file is missing, unreadable or invalid, or a credential cannot be found."""


class SecretRef(BaseModel):
    """Where a credential lives: exactly one of an environment variable or a Prefect Secret
    block. The secret itself is never in the file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = Field(default=None, min_length=1)
    block: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.block is None):
            raise ValueError('give exactly one of env = "VAR" or block = "prefect-secret-name"')
        return self

    def describe(self) -> str:
        return f"env:{self.env}" if self.env is not None else f"block:{self.block}"


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")
    # A disabled source is listed but not pulled.
    enabled: bool = True
    base_url: str = Field(pattern=r"^https?://")
    groups: list[str] = Field(min_length=1)
    page_size: int = Field(default=50, ge=1, le=1000)
    # Upper bound on messages read per group per pull; the next run continues from the watermark.
    max_messages: int = Field(default=5000, ge=1)
    # First pull of a group reads back to this instant (everything the platform keeps if unset).
    history_since: AwareDatetime | None = None
    # A Retry-After up to this many seconds is waited out in place; longer ones raise RateLimited.
    max_inline_wait_s: float = Field(default=30.0, ge=0)
    timeout_s: float = Field(default=30.0, gt=0)
    # No new message from this source for longer than this many working hours raises the
    # stale-data alarm (groupops doctor, the health-check flow); unset: the policy's
    # ops.stale_after_working_hours.
    stale_after_working_hours: float | None = Field(default=None, gt=0)

    def secret_refs(self) -> dict[str, SecretRef]:
        return {k: v for k, v in self if isinstance(v, SecretRef)}


class MatrixSource(_Source):
    """A Matrix homeserver (client-server API v3); ``groups`` are room ids (``!abc:server``)."""

    kind: Literal["matrix"]
    access_token: SecretRef


class FeishuSource(_Source):
    """Feishu / Lark (``https://open.feishu.cn`` or ``https://open.larksuite.com``); ``groups``
    are chat ids (``oc_...``). A custom app's ``app_id`` with its ``app_secret``."""

    kind: Literal["feishu"]
    app_id: str = Field(min_length=1)
    app_secret: SecretRef
    page_size: int = Field(default=50, ge=1, le=50)


class SlackSource(_Source):
    """Slack Web API (``https://slack.com/api/``); ``groups`` are channel ids (``C...``)."""

    kind: Literal["slack"]
    token: SecretRef
    page_size: int = Field(default=200, ge=1, le=999)
    # The workspace's subdomain ("acme" for acme.slack.com): message links in reports
    # (permalinks) for this source's channels. Unset: GROUPOPS_SLACK_WORKSPACE, else no link.
    workspace: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")


SourceConfig = Annotated[MatrixSource | FeishuSource | SlackSource, Field(discriminator="kind")]


#: A public Telegram group's username (what follows t.me/).
TelegramUsername = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{3,31}$")]


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: list[SourceConfig] = []
    # Telegram groups (imported from exports) that are public: group id → username, for
    # t.me links in reports. Unset ids fall back to GROUPOPS_TELEGRAM_PUBLIC_GROUPS.
    telegram_public_groups: dict[str, TelegramUsername] = {}

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        seen: set[str] = set()
        for src in sources:
            if src.name in seen:
                raise ValueError(f"source name {src.name!r} is used twice")
            seen.add(src.name)
        return sources


#: Keys that hold a credential reference: their values are never echoed in an error.
SECRET_KEYS = frozenset({"access_token", "app_secret", "token"})


def parse_sources(raw: Mapping[str, Any], path: Path | str = "<sources>") -> list[SourceConfig]:
    try:
        return list(SourcesFile.model_validate(raw).sources)
    except ValidationError as exc:
        raise SourcesError(
            validation_message(
                Path(path),
                exc,
                hidden_levels=("matrix", "feishu", "slack"),
                secret_keys=SECRET_KEYS,
                secret_hint='give a reference, { env = "VAR" } or { block = "name" }, not the secret',
            )
        ) from exc


def load_sources(path: Path | str) -> list[SourceConfig]:
    """Load and validate the sources file."""
    path = Path(path)
    return parse_sources(read_toml(path, "sources", SourcesError), path)


def load_links(
    path: Path | str,
    *,
    slack_workspace: str | None = None,
    telegram_public: Mapping[str, str] | None = None,
) -> Links:
    """What message links need, from the sources file (each Slack source's ``workspace``, the
    ``[telegram_public_groups]`` table) with ``slack_workspace`` / ``telegram_public`` (the
    environment's ``GROUPOPS_SLACK_WORKSPACE`` / ``GROUPOPS_TELEGRAM_PUBLIC_GROUPS``) as
    fallbacks. A missing file gives the fallbacks alone; an invalid one raises
    :class:`SourcesError` naming the key."""
    path = Path(path)
    public = dict(telegram_public or {})
    workspaces: dict[str, str] = {}
    if path.exists():
        raw = read_toml(path, "sources", SourcesError)
        parse_sources(raw, path)  # every error named the same way as for the sources
        parsed = SourcesFile.model_validate(raw)
        public.update(parsed.telegram_public_groups)
        for src in parsed.sources:
            if isinstance(src, SlackSource) and src.workspace:
                workspaces.update(dict.fromkeys(src.groups, src.workspace))
    return Links(slack_workspace, public, workspaces)


BlockLoader = Callable[[str], str]


def resolve_secret(
    ref: SecretRef,
    *,
    block_loader: BlockLoader | None = None,
    environ: Mapping[str, str] | None = None,
) -> SecretStr:
    """The credential ``ref`` points to. ``block_loader`` reads a Prefect Secret block by name
    (supplied by ``tasks/``; the domain package never imports Prefect)."""
    if ref.env is not None:
        env = os.environ if environ is None else environ
        value = env.get(ref.env)
        if not value:
            raise SourcesError(f"environment variable {ref.env} is not set")
        return SecretStr(value)
    assert ref.block is not None
    if block_loader is None:
        raise SourcesError(f"credential is in Prefect Secret block {ref.block!r}: no block loader")
    try:
        return SecretStr(block_loader(ref.block))
    except Exception as exc:  # the loader's own error says what went wrong, never the value
        raise SourcesError(f"cannot read Prefect Secret block {ref.block!r}: {exc}") from exc
