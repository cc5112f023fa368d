"""Live API connectors (Matrix, Feishu / Lark, Slack): incremental pulls into the canonical
model, and the write capabilities later flows use. See docs/connectors.md."""

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
from groupops.connectors.registry import open_connector

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
