"""Group bots (Feishu custom bots, WeCom group robots): digests and reminders as cards, stored
and posted like emails (docs/digests.md "Group bots")."""

from groupops.chatbots.payloads import (
    WECOM_MARKDOWN_MAX_BYTES,
    feishu_payload,
    feishu_sign,
    truncate_lines,
    wecom_payload,
)
from groupops.chatbots.routing import bots_for, targets_from
from groupops.chatbots.store import (
    BotDelivery,
    Card,
    CardsNotPosted,
    enqueue_post,
    load_posts,
    pending_cards,
    post_cards,
)
from groupops.chatbots.webhook import BotPostError, BotTarget, post

__all__ = [
    "WECOM_MARKDOWN_MAX_BYTES",
    "BotDelivery",
    "BotPostError",
    "BotTarget",
    "Card",
    "CardsNotPosted",
    "bots_for",
    "enqueue_post",
    "feishu_payload",
    "feishu_sign",
    "load_posts",
    "pending_cards",
    "post",
    "post_cards",
    "targets_from",
    "truncate_lines",
    "wecom_payload",
]
