"""Reading the deployment's TOML files (the policy, the sources): one way to load them and to
report what is wrong, naming the file, the dotted key and the problem."""

from __future__ import annotations

import tomllib
from collections.abc import Collection
from pathlib import Path
from typing import Any

from pydantic import ValidationError


def read_toml(path: Path, what: str, error: type[Exception]) -> dict[str, Any]:
    """The parsed file; a missing or malformed one raises ``error`` naming ``path``."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise error(f"{path}: {what} file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from exc


def validation_message(
    path: Path,
    exc: ValidationError,
    *,
    unknown_key: str = "unknown key",
    hidden_levels: Collection[str] = (),
    secret_keys: Collection[str] = (),
    secret_hint: str = "",
) -> str:
    """One line per problem: ``path: dotted.key: message (got value)``. ``hidden_levels``:
    location parts left out of the key (a tagged union's tag); the value given for any of
    ``secret_keys`` is never shown (``secret_hint`` replaces the message when one was given)."""
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if p not in hidden_levels]
        key = ".".join(loc) or "(top level)"
        msg = unknown_key if err["type"] == "extra_forbidden" else err["msg"]
        got = err.get("input")
        show = got is not None and err["type"] != "extra_forbidden" and not isinstance(got, dict)
        if set(secret_keys) & set(loc):
            show = False
            if secret_hint and err["type"] != "missing" and not isinstance(got, dict):
                msg = secret_hint
        lines.append(f"{path}: {key}: {msg}{f' (got {got!r})' if show else ''}")
    return "\n".join(lines)
