"""Commands read the store's URL and the files' paths without pydantic-settings, and read them
exactly as pydantic-settings does.

``groupops.envsettings.read_environment`` either answers or declines; when it answers, the full
``Settings`` built from the same environment must succeed and hold the same values. Environments
are generated (hypothesis) with every field in several spellings of its name and with the
values where parsers differ: empty text, booleans in other cases, numbers with signs, spaces,
underscores and exponents, JSON, values just under a bound."""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cli.common import store_settings as command_settings
from groupops.envsettings import (
    DECLINED,
    KINDS,
    CommandSettings,
    read_environment,
)
from groupops.settings import Settings

FIELDS = tuple(CommandSettings.__dataclass_fields__)


def _full(env: dict[str, str]) -> Settings | None:
    """pydantic-settings' reading of ``env`` alone (no ``.env`` file), or ``None`` if it fails."""
    with mock.patch.dict(os.environ, env, clear=True):
        try:
            return Settings(_env_file=None)
        except ValidationError:
            return None


def _same(light: CommandSettings, full: Settings) -> None:
    assert {f: getattr(light, f) for f in FIELDS} == {f: getattr(full, f) for f in FIELDS}


def _spellings(field: str) -> st.SearchStrategy[str]:
    name = f"GROUPOPS_{field.upper()}"
    return st.sampled_from([name, name.lower(), name[:9] + name[9:].lower(), name.title()])


names = st.one_of(
    st.sampled_from(sorted(KINDS)).flatmap(_spellings),
    st.sampled_from(sorted(DECLINED)).flatmap(_spellings),
    st.sampled_from(["GROUPOPS_NOT_A_FIELD", "GROUPOPS_", "PATH", "GROUPOPS_DATABASE_URL_X"]),
)
#: The values where parsers differ.
SAMPLES = [
    "",
    " ",
    "true",
    "True",
    "TRUE",
    "false",
    "yes",
    "No",
    "on",
    "off",
    "t",
    "f",
    "y",
    "n",
    "1",
    "0",
    "2",
    "-1",
    "+1",
    " 1",
    "1 ",
    "007",
    "1_000",
    "1e3",
    "3.5",
    "1023",
    "1024",
    "4096",
    "99999999999999999999",
    "none",
    "None",
    "null",
    "ssl",
    "SSL",
    "starttls",
    "builtin",
    "great_expectations",
    "{}",
    '{"a": "b"}',
    "[]",
    "sqlite:///x.db",
    "postgresql+psycopg://u:p@h:5432/db",
    "data/x.toml",
    "a b",
    "名字",
    "~/x",
    "/abs/path",
    ".",
    "..",
]
# What an environment can hold: no NUL, no lone surrogate.
env_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)
values = st.one_of(st.sampled_from(SAMPLES), env_text)
environments = st.dictionaries(names, values, max_size=5)


def test_each_field_alone_with_each_sample_value() -> None:
    for field in sorted(KINDS):
        for value in SAMPLES:
            env = {f"GROUPOPS_{field.upper()}": value}
            light = read_environment(env)
            if light is not None:
                full = _full(env)
                assert full is not None, env
                _same(light, full)


@settings(max_examples=400, deadline=None)
@given(environments)
def test_an_answer_is_what_pydantic_settings_reads(env: dict[str, str]) -> None:
    light = read_environment(env)
    if light is None:
        return  # declined: the command builds the full settings itself
    full = _full(env)
    assert full is not None, f"pydantic-settings rejects {env!r}; the light reader answered"
    _same(light, full)


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"GROUPOPS_DATABASE_URL": "sqlite:///data/local/demo/groupops.db"},
        {"GROUPOPS_DATABASE_URL": "sqlite:///d.db", "GROUPOPS_OUTBOX_DIR": "data/local/demo/out"},
        {"groupops_auto_upgrade": "false", "GROUPOPS_POLICY_PATH": "p.toml"},
        {"GROUPOPS_MEETINGS_DIR": "m", "GROUPOPS_SOURCES_PATH": "s.toml", "HOME": "/root"},
        {"GROUPOPS_RUN_LEASE_SECONDS": "60", "GROUPOPS_SMTP_HOST": "mail.example.com"},
        {"GROUPOPS_TASK_THREADS": "8", "GROUPOPS_VALIDATOR": "great_expectations"},
    ],
)
def test_the_usual_environments_are_answered(env: dict[str, str]) -> None:
    """The demo's and a deployment's plain settings take the light path (else no gain)."""
    light = read_environment(env)
    assert light is not None
    full = _full(env)
    assert full is not None
    _same(light, full)


@pytest.mark.parametrize(
    "env",
    [
        {"GROUPOPS_SMTP_PASSWORD": "hunter2"},  # a secret
        {"GROUPOPS_CHATBOT_WEBHOOKS": '{"a": "https://x"}'},  # JSON
        {"GROUPOPS_TASK_THREADS": "0"},  # pydantic-settings rejects it: so must the command
        {"GROUPOPS_SMTP_PORT": "twenty-five"},
        {"GROUPOPS_AUTO_UPGRADE": "maybe"},
        {"GROUPOPS_POLICY_PATH": ""},
        {"GROUPOPS_DATABASE_URL": "a", "groupops_database_url": "b"},  # which wins is order
    ],
)
def test_what_only_pydantic_may_decide_is_declined(env: dict[str, str]) -> None:
    assert read_environment(env) is None


def test_a_dotenv_file_sends_the_command_to_pydantic_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from groupops.settings import get_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GROUPOPS_DATABASE_URL", raising=False)
    (tmp_path / ".env").write_text("GROUPOPS_DATABASE_URL=sqlite:///from-dotenv.db\n")
    get_settings.cache_clear()
    try:
        assert command_settings().database_url == "sqlite:///from-dotenv.db"
    finally:
        get_settings.cache_clear()


def test_a_bad_value_fails_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    from groupops.settings import get_settings

    monkeypatch.setenv("GROUPOPS_TASK_THREADS", "0")
    get_settings.cache_clear()
    try:
        with pytest.raises(ValidationError):
            command_settings()
    finally:
        get_settings.cache_clear()


def test_every_field_is_read_or_declined() -> None:
    """A field added to ``Settings`` must be added to the light reader's table or declined."""
    assert set(KINDS) | DECLINED == set(Settings.model_fields)
    assert not set(KINDS) & DECLINED
    defaults = _full({})
    assert defaults is not None
    _same(CommandSettings(), defaults)
