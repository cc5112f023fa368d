"""A link to a message (or, where the platform links no further, its chat) for people to click
in a report: each platform's documented form, built from the ids groupops stores.

* Matrix: ``https://matrix.to/#/<room id>/<event id>?via=<server>`` (the room's server).
* Slack: the permalink ``https://<workspace>.slack.com/archives/<channel>/p<ts without the dot>``
  (needs the workspace's subdomain: the Slack source's ``workspace`` in ``data/sources.toml``,
  ``Links.slack_workspaces``, else ``Links.slack_workspace`` from the environment).
* Feishu / Lark: the AppLink that opens the chat,
  ``https://applink.feishu.cn/client/chat/open?openChatId=<oc_…>`` (AppLink opens chats, not
  single messages).
* Telegram: ``https://t.me/<username>/<message id>`` for a **public** group (its username in
  ``Links.telegram_public``: ``[telegram_public_groups]`` in ``data/sources.toml``, else the
  environment); private groups get no link.

Other platforms (WeCom, WhatsApp, WeChat exports) give no link: ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

_SLACK_TS = re.compile(r"^\d+\.\d+$")
_SLACK_SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Links:
    """What links need beyond the ids: the Slack workspace's subdomain (``acme`` for
    ``acme.slack.com``; per channel in ``slack_workspaces``, else ``slack_workspace``) and the
    public usernames of Telegram groups (group id → username).
    :func:`groupops.connectors.config.load_links` reads them from the sources file."""

    slack_workspace: str | None = None
    telegram_public: Mapping[str, str] = field(default_factory=dict)
    slack_workspaces: Mapping[str, str] = field(default_factory=dict)  # channel id → subdomain


def message_link(
    platform: str, group_id: str, message_id: str | None, links: Links | None = None
) -> str | None:
    """The link to ``message_id`` in ``group_id`` on ``platform``, or ``None`` when the
    platform gives none for it."""
    links = links or Links()
    if platform == "matrix" and group_id.startswith("!"):
        room = quote(group_id, safe="!:")
        server = group_id.split(":", 1)[1] if ":" in group_id else None
        via = f"?via={quote(server, safe='')}" if server else ""
        if message_id and message_id.startswith("$"):
            return f"https://matrix.to/#/{room}/{quote(message_id, safe='$')}{via}"
        return f"https://matrix.to/#/{room}{via}"
    if platform in ("feishu", "lark") and group_id.startswith("oc_"):
        return f"https://applink.feishu.cn/client/chat/open?openChatId={quote(group_id)}"
    if platform == "slack":
        workspace = links.slack_workspaces.get(group_id) or links.slack_workspace
        if not workspace or not _SLACK_SUBDOMAIN.match(workspace):
            return None
        if message_id and _SLACK_TS.match(message_id):
            ts = message_id.replace(".", "")
            return f"https://{workspace}.slack.com/archives/{quote(group_id)}/p{ts}"
        return f"https://{workspace}.slack.com/archives/{quote(group_id)}"
    if platform == "telegram":
        username = links.telegram_public.get(group_id)
        if not username:
            return None
        if message_id and message_id.isdigit():
            return f"https://t.me/{quote(username)}/{message_id}"
        return f"https://t.me/{quote(username)}"
    return None
