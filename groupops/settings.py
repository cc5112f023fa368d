"""Runtime settings: one pydantic-settings class, read from ``GROUPOPS_*`` env vars and ``.env``.

Paths are relative to the working directory (the project root for ``make`` targets and for
Prefect workers, which run from the checkout). Secrets are ``SecretStr`` and never printed.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_DIR = Path("data/local")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GROUPOPS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = f"sqlite:///{LOCAL_DIR / 'groupops.db'}"
    policy_path: Path = Path("data/policy.toml")
    outbox_dir: Path = LOCAL_DIR / "outbox"
    sources_path: Path = Path("data/sources.toml")
    # Regular meetings declared as files (groupops.meetings.declared); a missing folder is fine.
    meetings_dir: Path = Path("data/meetings")

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_tls: Literal["none", "starttls", "ssl"] = "none"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    # Name of a Prefect Secret block holding the SMTP password (used when smtp_password is unset).
    smtp_password_block: str | None = None
    mail_from: str = "groupops@localhost"
    # Links in reports (groupops.connectors.links): the Slack workspace's subdomain ("acme" for
    # acme.slack.com) and the public usernames of Telegram groups (JSON: {"group id": "name"}).
    slack_workspace: str | None = None
    telegram_public_groups: dict[str, str] = {}

    # Rows per ingest chunk: memory stays bounded by this, whatever the file size.
    chunk_size: int = 100_000
    # Which engine runs the ingest validation suites (the same rejections either way):
    # "builtin" (vectorised, no import cost) or "great_expectations" (GX itself; 5-15 s import).
    validator: Literal["builtin", "great_expectations"] = "builtin"

    def redacted(self) -> dict[str, object]:
        """The settings as a dict safe to log or print (secrets masked)."""
        out: dict[str, object] = {}
        for key, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                out[key] = "**********" if value.get_secret_value() else ""
            elif key == "database_url":
                out[key] = _mask_url_password(str(value))
            else:
                out[key] = value
        return out


def _mask_url_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
