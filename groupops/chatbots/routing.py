"""Which bots a digest or a reminder goes to (the policy's ``[chatbots.NAME]``), and their
webhooks from the settings (the flows add Prefect Secret blocks: ``tasks/chatbots.py``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import SecretStr

from groupops.chatbots.webhook import BotTarget
from groupops.policy import ChatBot, Policy

Purpose = Literal["digest", "reminder"]


def bots_for(
    policy: Policy,
    platform: str,
    groups: Iterable[str],
    purpose: Purpose,
    audience: str | None = None,
) -> list[tuple[str, ChatBot]]:
    """The bots (name, config) that want this digest (``audience`` owner/admin) or reminder of
    ``groups`` on ``platform``, by name."""
    wanted = list(groups)
    out = []
    for name, bot in sorted(policy.chatbots.items()):
        if purpose == "digest" and (not bot.digests or audience not in bot.audiences):
            continue
        if purpose == "reminder" and not bot.reminders:
            continue
        if any(bot.covers(platform, g) for g in wanted):
            out.append((name, bot))
    return out


def targets_from(
    policy: Policy,
    webhooks: Mapping[str, SecretStr],
    secrets: Mapping[str, SecretStr] | None = None,
) -> dict[str, BotTarget]:
    """A target for each policy bot with a webhook URL in ``webhooks`` (and a Feishu signing
    secret in ``secrets`` when it has one)."""
    secrets = secrets or {}
    out = {}
    for name, bot in policy.chatbots.items():
        url = webhooks.get(name)
        if url is not None and url.get_secret_value():
            secret = secrets.get(name)
            out[name] = BotTarget(name, bot.kind, url,
                                  secret if secret and secret.get_secret_value() else None)  # fmt: skip
    return out
