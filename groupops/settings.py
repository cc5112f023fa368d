"""Runtime settings: one pydantic-settings class, read from ``GROUPOPS_*`` env vars and ``.env``.

Paths are relative to the working directory (the project root for ``make`` targets and for
Prefect workers, which run from the checkout). Secrets are ``SecretStr`` and never printed.
Commands that only need the store's URL and the file paths read them through
:func:`cli.common.store_settings` (no pydantic-settings import when
:func:`groupops.envsettings.read_environment` can prove the same answer); the defaults they
share are :class:`groupops.envsettings.CommandSettings`' (one place).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Re-exported: the settings' defaults and the URL masking live where commands read them cheaply.
from groupops.envsettings import LOCAL_DIR as LOCAL_DIR
from groupops.envsettings import CommandSettings
from groupops.envsettings import mask_url as mask_url

_COMMAND = CommandSettings()  # the defaults commands read without this class


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GROUPOPS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = _COMMAND.database_url
    # Whether a flow or command finding the store's schema behind upgrades it (under the
    # migration lock) or fails naming `groupops db upgrade`; production workers set false so
    # only the deploy step migrates (and a rolled-back store stays rolled back).
    auto_upgrade: bool = _COMMAND.auto_upgrade
    policy_path: Path = _COMMAND.policy_path
    outbox_dir: Path = _COMMAND.outbox_dir
    sources_path: Path = _COMMAND.sources_path
    # Regular meetings declared as files (groupops.meetings.declared); a missing folder is fine.
    meetings_dir: Path = _COMMAND.meetings_dir

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_tls: Literal["none", "starttls", "ssl"] = "none"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    # Name of a Prefect Secret block holding the SMTP password (used when smtp_password is unset).
    smtp_password_block: str | None = None
    mail_from: str = "groupops@localhost"
    # Group bots' webhook URLs and Feishu signing secrets by bot name (the policy's
    # ``[chatbots.NAME]``), JSON: {"pm-feishu": "https://open.feishu.cn/open-apis/bot/v2/hook/…"}.
    # A bot missing here is looked up in the Prefect Secret block ``chatbot-NAME`` by the flows.
    chatbot_webhooks: dict[str, SecretStr] = {}
    chatbot_secrets: dict[str, SecretStr] = {}
    # Links in reports (groupops.connectors.links), fallbacks for data/sources.toml (a Slack
    # source's `workspace`, `[telegram_public_groups]`): the Slack workspace's subdomain ("acme"
    # for acme.slack.com) and the public usernames of Telegram groups (JSON: {"group id": "name"}).
    slack_workspace: str | None = None
    telegram_public_groups: dict[str, str] = {}

    # A running ingest renews a lease on its run row; a `running` row whose lease is older than
    # this (or whose process on this host is gone) is marked `crashed` by the next run.
    run_lease_seconds: int = _COMMAND.run_lease_seconds

    # Task runner of the flows that fan out per group (tasks.runners, docs/operations.md):
    # a Dask scheduler address (tcp://host:8786; needs the `dask` extra) runs their tasks on
    # that existing cluster; unset, a thread pool of `task_threads` in the flow's process.
    dask_address: str | None = None
    task_threads: int = Field(default=4, ge=1)

    # Rows per ingest chunk: memory stays bounded by this, whatever the file size.
    chunk_size: int = 100_000
    # Which engine runs the ingest validation suites (the same rejections either way):
    # "builtin" (vectorised, no import cost) or "great_expectations" (GX itself; 5-15 s import).
    validator: Literal["builtin", "great_expectations"] = "builtin"
    # Ingest: whether a child process prepares (reads, normalises, validates, hashes) the next
    # chunk while this one writes (groupops.ingest.overlap): unset, for a file of 64 MiB or more
    # on two usable CPUs; 0 never; 1 whenever the source is a canonical bundle's file.
    ingest_workers: int | None = Field(default=None, ge=0, le=1)

    # Input limits (docs/security.md): a longer record is quarantined as too long (read without
    # holding it); at most this many bytes are read from one file; a document parsed whole
    # (a Slack day or list file; Telegram and Discord exports are streamed) may be at most this large; an
    # archive may expand to at most this much, each member at this compression ratio at most.
    max_record_bytes: int = Field(default=1 << 20, ge=1024)
    max_file_bytes: int = Field(default=4 << 30, ge=1024)
    max_document_bytes: int = Field(default=64 << 20, ge=1024)
    max_archive_bytes: int = Field(default=8 << 30, ge=1024)
    max_compression_ratio: float = Field(default=200.0, gt=1)

    def redacted(self) -> dict[str, object]:
        """The settings as a dict safe to log or print (secrets masked)."""
        out: dict[str, object] = {}
        for key, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                out[key] = "**********" if value.get_secret_value() else ""
            elif isinstance(value, dict) and any(isinstance(v, SecretStr) for v in value.values()):
                out[key] = dict.fromkeys(value, "**********")
            elif isinstance(value, str) and "://" in value:
                out[key] = mask_url(value)
            else:
                out[key] = value
        return out

    def __repr_args__(self) -> Any:
        """``repr()``/``str()`` show the redacted values: a URL's password never prints."""
        yield from self.redacted().items()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
