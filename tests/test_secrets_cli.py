"""`groupops secrets set NAME` stores a Prefect Secret block headless (stdin, an environment
variable), never echoing the value; the SMTP password then comes from that block."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli import app

pytestmark = pytest.mark.flow

VALUE = "s3cret-smtp-pässword"


@pytest.fixture
def api(prefect: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    assert url
    monkeypatch.setenv("PREFECT_API_URL", url)


def test_set_from_stdin_and_from_env(api: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.blocks.system import Secret

    from groupops.settings import Settings
    from tasks.mail import smtp_password

    result = CliRunner().invoke(app, ["secrets", "set", "smtp-password"], input=VALUE + "\n")
    assert result.exit_code == 0, result.output
    assert VALUE not in result.output
    assert Secret.load("smtp-password").get() == VALUE
    settings = Settings(smtp_host="127.0.0.1", smtp_password_block="smtp-password")
    password = smtp_password(settings)
    assert password is not None and password.get_secret_value() == VALUE

    monkeypatch.setenv("NEW_SMTP_PASSWORD", "rotated")
    rotated = CliRunner().invoke(
        app, ["secrets", "set", "smtp-password", "--from-env", "NEW_SMTP_PASSWORD"]
    )
    assert rotated.exit_code == 0 and "rotated" not in rotated.output
    assert Secret.load("smtp-password").get() == "rotated"


def test_refuses_without_a_server_or_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = CliRunner().invoke(app, ["secrets", "set", "smtp-password"], input="x")
    assert result.exit_code == 1 and "PREFECT_API_URL" in result.output
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    empty = CliRunner().invoke(app, ["secrets", "set", "smtp-password"], input="")
    assert empty.exit_code == 1 and "empty" in empty.output
