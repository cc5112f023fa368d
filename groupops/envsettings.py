"""What a command needs of the settings to open the store, read without pydantic-settings.

Building :class:`groupops.settings.Settings` imports pydantic-settings (~0.12 s of CPU on top of
pydantic), which every read-only command paid before its first query. :func:`read_environment`
reads the same ``GROUPOPS_*`` variables itself when it can prove its answer equals the
pydantic one, and declines otherwise; then the command (``cli.common.store_settings``) builds
the full settings, so a bad value fails exactly as before. It declines when:

- a ``.env`` file exists (the caller checks :data:`ENV_FILE`: pydantic-settings reads it);
- a ``GROUPOPS_*`` variable naming a field does not hold a value whose parsing is spelled out
  below (plain text, a path, a canonical boolean or whole number, one of a ``Literal``'s
  values; a secret, a JSON dict, a float or an empty path never does);
- two variables naming one field in different case decline (pydantic-settings matches names
  case-insensitively and the winner depends on the environment's order).

``tests/test_envsettings.py`` checks it against pydantic-settings on generated environments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

LOCAL_DIR = Path("data/local")
PREFIX = "groupops_"
ENV_FILE = Path(".env")


@dataclass(frozen=True)
class CommandSettings:
    """The settings' values a command reads to find the store, the policy and its files (and
    the run lease ``runs list`` reaps crashed runs with)."""

    database_url: str = f"sqlite:///{LOCAL_DIR / 'groupops.db'}"
    auto_upgrade: bool = True
    policy_path: Path = Path("data/policy.toml")
    outbox_dir: Path = LOCAL_DIR / "outbox"
    sources_path: Path = Path("data/sources.toml")
    meetings_dir: Path = Path("data/meetings")
    run_lease_seconds: int = 300


_TRUE = frozenset({"1", "true", "yes", "on", "t", "y"})
_FALSE = frozenset({"0", "false", "no", "off", "f", "n"})
_WHOLE = re.compile(r"(?:0|[1-9][0-9]{0,17})")

#: How each field of :class:`groupops.settings.Settings` is read here: ``text`` (any value),
#: ``path`` (non-empty), ``bool``, ``int`` / ``int>=N`` (digits only), or the allowed values
#: of a ``Literal``. A field missing from this table (secrets, dicts, floats) declines.
KINDS: dict[str, str | frozenset[str]] = {
    "database_url": "text",
    "auto_upgrade": "bool",
    "policy_path": "path",
    "outbox_dir": "path",
    "sources_path": "path",
    "meetings_dir": "path",
    "smtp_host": "text",
    "smtp_port": "int",
    "smtp_tls": frozenset({"none", "starttls", "ssl"}),
    "smtp_user": "text",
    "smtp_password_block": "text",
    "mail_from": "text",
    "slack_workspace": "text",
    "run_lease_seconds": "int",
    "dask_address": "text",
    "task_threads": "int>=1",
    "chunk_size": "int",
    "validator": frozenset({"builtin", "great_expectations"}),
    "max_record_bytes": "int>=1024",
    "max_file_bytes": "int>=1024",
    "max_document_bytes": "int>=1024",
    "max_archive_bytes": "int>=1024",
}
#: Fields this reader never parses: any of them set sends the command to pydantic-settings.
DECLINED = frozenset(
    {
        "smtp_password",
        "chatbot_webhooks",
        "chatbot_secrets",
        "telegram_public_groups",
        "max_compression_ratio",
        "ingest_workers",  # 0, 1 or unset: only ingest reads it, and it loads the full settings
    }
)


def _parse(kind: str | frozenset[str], value: str) -> object:
    """``value`` read as ``kind``, or ``None`` when only pydantic may decide."""
    if isinstance(kind, frozenset):
        return value if value in kind else None
    if kind == "text":
        return value
    if kind == "path":
        return Path(value) if value else None
    if kind == "bool":
        return True if value in _TRUE else False if value in _FALSE else None
    if not _WHOLE.fullmatch(value):
        return None
    number = int(value)
    if kind.startswith("int>="):
        return number if number >= int(kind[5:]) else None
    return number


def read_environment(environ: Mapping[str, str]) -> CommandSettings | None:
    """The command's settings from ``environ`` alone, or ``None`` when this reader cannot prove
    pydantic-settings would read the same (see the module's docstring)."""
    values: dict[str, object] = {}
    seen: set[str] = set()
    for key, raw in environ.items():
        lowered = key.lower()
        if not lowered.startswith(PREFIX):
            continue
        field = lowered[len(PREFIX) :]
        if field in DECLINED or field in seen:
            return None
        kind = KINDS.get(field)
        if kind is None:
            continue  # not a field: pydantic-settings ignores it (extra="ignore")
        seen.add(field)
        value = _parse(kind, raw)
        if value is None:
            return None
        values[field] = value
    d = CommandSettings()
    return CommandSettings(
        database_url=str(values.get("database_url", d.database_url)),
        auto_upgrade=bool(values.get("auto_upgrade", d.auto_upgrade)),
        policy_path=Path(str(values.get("policy_path", d.policy_path))),
        outbox_dir=Path(str(values.get("outbox_dir", d.outbox_dir))),
        sources_path=Path(str(values.get("sources_path", d.sources_path))),
        meetings_dir=Path(str(values.get("meetings_dir", d.meetings_dir))),
        run_lease_seconds=int(str(values.get("run_lease_seconds", d.run_lease_seconds))),
    )


def mask_url(url: str) -> str:
    """``url`` safe to print: a password is masked (``user:***@``) when the URL parses with one
    ``@``, and everything between ``://`` and the last ``@`` otherwise (a URL that fails to
    parse is exactly what someone prints while debugging; an unencoded ``@`` in a password
    makes the split ambiguous)."""
    from sqlalchemy.engine import make_url

    if url.count("@") == 1:  # unambiguous: keep the user name, mask the password
        try:
            return make_url(url).render_as_string(hide_password=True)
        except Exception:  # unparsable: mask the whole user information below
            pass
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    return f"{scheme}://***@{rest.rpartition('@')[2]}"
