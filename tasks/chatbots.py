"""Prefect tasks for group-bot cards: where each bot posts (webhook URL and Feishu signing
secret from the environment first, then a Prefect Secret block ``chatbot-<name>``), the cards
still to post, and the one delivery task (retried with backoff while a failure is transient:
network, HTTP 5xx/429, the platform's rate limit; a permanent error fails at once)."""

from __future__ import annotations

import json
from typing import Any, cast

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff
from pydantic import SecretStr

from groupops import chatbots
from groupops.chatbots import BotDelivery, BotTarget, CardsNotPosted
from groupops.db import make_engine
from groupops.policy import Policy, load_policy
from groupops.settings import Settings, get_settings
from tasks.retrying import RETRY_TRANSIENT, retries_left

#: Attempts after the first before a card delivery gives up (10 s, 20 s, 40 s apart, ±30 %).
CARD_RETRIES = 3


def block_name(bot: str) -> str:
    """The Prefect Secret block holding a bot's webhook: ``chatbot-<name>``."""
    return f"chatbot-{bot}"


def _from_block(bot: str) -> tuple[SecretStr, SecretStr | None] | None:
    """The bot's webhook URL (and signing secret) from its Secret block: the block's value is
    the URL, or ``{"url": ..., "secret": ...}`` (a dict, or that JSON as a string, which is what
    ``groupops secrets set`` stores); ``None`` when there is no such block."""
    from prefect.blocks.system import Secret

    try:
        block = cast("Secret[Any]", Secret.load(block_name(bot)))
    except ValueError:  # no block of that name
        return None
    value = block.get()
    if isinstance(value, str) and value.lstrip().startswith("{"):
        value = json.loads(value)
    if isinstance(value, dict):
        url, secret = value.get("url"), value.get("secret")
        if not url:
            return None
        return SecretStr(str(url)), (SecretStr(str(secret)) if secret else None)
    return SecretStr(str(value)), None


def bot_targets(policy: Policy, settings: Settings | None = None) -> dict[str, BotTarget]:
    """A target for every policy bot with a webhook: ``GROUPOPS_CHATBOT_WEBHOOKS`` /
    ``GROUPOPS_CHATBOT_SECRETS`` first, else the Secret block ``chatbot-<name>``."""
    settings = settings or get_settings()
    webhooks = dict(settings.chatbot_webhooks)
    secrets = dict(settings.chatbot_secrets)
    for name in policy.chatbots:
        if name in webhooks:
            continue
        found = _from_block(name)
        if found is not None:
            webhooks[name] = found[0]
            if found[1] is not None and name not in secrets:
                secrets[name] = found[1]
    return chatbots.targets_from(policy, webhooks, secrets)


@task(
    name="post-cards",
    retries=CARD_RETRIES,
    retry_delay_seconds=exponential_backoff(backoff_factor=10),
    retry_jitter_factor=0.3,
    cache_policy=NO_CACHE,
)
def post_cards(keys: list[str], policy_path: str, database_url: str | None = None) -> BotDelivery:
    """Post the stored cards ``keys`` (:func:`groupops.chatbots.post_cards`). While a
    failure is transient and retries remain it raises so that Prefect retries after a backoff;
    otherwise it returns the :class:`BotDelivery` with its failures (the flow then fails)."""
    settings = get_settings()
    targets = bot_targets(load_policy(policy_path), settings)
    engine = make_engine(database_url or settings.database_url)
    try:
        delivery = chatbots.post_cards(engine, keys, targets)
    finally:
        engine.dispose()
    log = get_run_logger()
    log.info("group bots: %s", delivery.describe())
    for error in delivery.failed.values():
        log.error("%s", error)
    if delivery.transient and retries_left():
        raise CardsNotPosted(delivery)
    return delivery


@task(name="pending-cards", cache_policy=NO_CACHE, **RETRY_TRANSIENT)
def pending_cards(
    kind: str | None = None, keys: list[str] | None = None, database_url: str | None = None
) -> list[str]:
    """Keys of the cards still to post, oldest first (optionally of ``kind`` / among ``keys``)."""
    engine = make_engine(database_url or get_settings().database_url)
    try:
        return chatbots.pending_cards(engine, kind=kind, keys=keys)
    finally:
        engine.dispose()
