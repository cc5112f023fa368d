"""The policy file: defaults, the shipped file, and errors that name the key."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from groupops.policy import Policy, PolicyError, load_policy


def test_shipped_policy_loads_and_equals_defaults() -> None:
    assert load_policy(Path("data/policy.toml")) == Policy()


def test_defaults() -> None:
    policy = Policy()
    assert policy.timezone == "Asia/Shanghai"
    assert policy.language == "zh-CN"
    assert policy.working_time.periods[0] == (time(9), time(12))
    assert "【任务】" in policy.tasks.markers


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('timezone = "Mars/Olympus"', "timezone: Value error, unknown time zone 'Mars/Olympus'"),
        (
            "[replies]\ndeadline_working_hours = -1",
            "replies.deadline_working_hours: Input should be greater than 0",
        ),
        ("[replies]\nreply_mod = 'x'", "replies.reply_mod: unknown key"),
        ('language = "fr"', "language: Input should be 'zh-CN' or 'en'"),
        ("[tasks]\nmarkers = []", "tasks.markers: List should have at least 1 item"),
        (
            "[tasks]\nreminder_fraction = 1.5",
            "tasks.reminder_fraction: Input should be less than 1",
        ),
        (
            '[working_time]\nperiods = [["12:00", "09:00"]]',
            "period 12:00-09:00 ends before it starts",
        ),
        (
            '[working_time]\nextra_days_off = ["2026-12-31"]\nextra_workdays = ["2026-12-31"]',
            "days both off and on: 2026-12-31",
        ),
        ("timezone = ", "not valid TOML"),
    ],
)
def test_invalid_policy_names_file_key_and_problem(
    tmp_path: Path, toml: str, expected: str
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="policy file not found"):
        load_policy(tmp_path / "nope.toml")
