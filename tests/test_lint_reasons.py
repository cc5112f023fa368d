"""Every silenced check says why (developers' guide): a ``# noqa`` names its rule and gives a
reason on the same line, a ``# type: ignore`` names its error code and gives a reason, and code
mypy does not check (outside ``[tool.mypy] packages``) carries no ``type: ignore`` at all."""

from __future__ import annotations

import io
import re
import tokenize
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("groupops", "cli", "flows", "tasks", "tests", "bench", "scripts")
CHECKED = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["packages"])

NOQA = re.compile(r"#\s*noqa\b(?P<codes>:\s*[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)?(?P<rest>.*)")
IGNORE = re.compile(r"#\s*type:\s*ignore\b(?P<codes>\[[a-z-]+(?:,\s*[a-z-]+)*\])?(?P<rest>.*)")
REASON = re.compile(r"[^\W\d_]{3,}")  # at least one word


def problems(source: str, name: str, *, type_checked: bool) -> list[str]:
    """What is wrong with the silencing comments of one file's ``source`` (empty: nothing)."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    comments = [(t.start[0], t.string) for t in tokens if t.type == tokenize.COMMENT]
    out = []
    for line, comment in comments:
        for kind, pattern in (("noqa", NOQA), ("type: ignore", IGNORE)):
            found = pattern.search(comment)
            if found is None:
                continue
            where = f"{name}:{line}"
            if kind == "type: ignore" and not type_checked:
                out.append(f"{where}: mypy does not check this file; drop the type: ignore")
            elif not found["codes"]:
                out.append(f"{where}: a bare {kind} silences everything; name the code")
            elif not REASON.search(found["rest"]):
                out.append(f"{where}: {kind} without a reason")
    return out


@pytest.mark.parametrize(
    ("comment", "type_checked", "expected"),
    [
        ("x = 1  # noqa: DTZ001 - local wall time", True, []),
        ("x = 1  # noqa: DTZ001  (hypothesis bounds are naive)", True, []),
        ("x = 1  # noqa: DTZ001", True, ["without a reason"]),
        ("x = 1  # noqa", True, ["bare noqa"]),
        ("x = 1  # type: ignore[arg-type]  # stubs: .at is any scalar", True, []),
        ("x = 1  # type: ignore[arg-type]", True, ["without a reason"]),
        ("x = 1  # type: ignore  # whatever", True, ["bare type: ignore"]),
        ("x = 1  # type: ignore[arg-type]  # stubs are wrong", False, ["does not check"]),
        ('x = "# noqa"  # a string is not a comment', True, []),
    ],
)
def test_the_rule(comment: str, type_checked: bool, expected: list[str]) -> None:
    found = problems(comment + "\n", "probe.py", type_checked=type_checked)
    assert len(found) == len(expected)
    for message, part in zip(found, expected, strict=True):
        assert part in message


def test_every_silenced_check_says_why() -> None:
    found = [
        problem
        for folder in FOLDERS
        for path in sorted((ROOT / folder).rglob("*.py"))
        for problem in problems(
            path.read_text(encoding="utf-8"),
            str(path.relative_to(ROOT)),
            type_checked=folder in CHECKED,
        )
    ]
    assert not found, "\n".join(found)
