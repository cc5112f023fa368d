"""Live API connectors (Matrix, Feishu / Lark, Slack): incremental pulls into the canonical
model, and the write capabilities later flows use. See docs/connectors.md.

:func:`open_connector` (the registry, which imports every platform's client library: httpx,
slack_sdk) loads on first use, so a module that only names the connectors' types (a command
listing moderation to-dos) does not pay for the clients."""

from typing import TYPE_CHECKING, Any

from groupops.connectors.base import (
    ALL_CAPABILITIES,
    Capability,
    Connector,
    ConnectorError,
    GroupInfo,
    MemberInfo,
    PlatformError,
    Pull,
    RateLimited,
    UnsupportedCapability,
    Watermark,
)
from groupops.connectors.config import SourceConfig, SourcesError, load_sources

if TYPE_CHECKING:
    from groupops.connectors.registry import open_connector


def __getattr__(name: str) -> Any:
    if name == "open_connector":
        from groupops.connectors.registry import open_connector

        return open_connector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ALL_CAPABILITIES",
    "Capability",
    "Connector",
    "ConnectorError",
    "GroupInfo",
    "MemberInfo",
    "PlatformError",
    "Pull",
    "RateLimited",
    "SourceConfig",
    "SourcesError",
    "UnsupportedCapability",
    "Watermark",
    "load_sources",
    "open_connector",
]
