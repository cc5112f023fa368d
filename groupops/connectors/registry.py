"""Build a connector from a configured source, its credentials resolved by reference."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime

from pydantic import SecretStr

from groupops.connectors.base import Capability, Connector, Pull, Tuning, Watermark
from groupops.connectors.config import (
    BlockLoader,
    FeishuSource,
    MatrixSource,
    SlackSource,
    SourceConfig,
    resolve_secret,
)
from groupops.connectors.feishu import FeishuConnector
from groupops.connectors.matrix import MatrixConnector
from groupops.connectors.slack import SlackConnector

CONNECTORS: dict[str, type[Connector]] = {
    "matrix": MatrixConnector,
    "feishu": FeishuConnector,
    "slack": SlackConnector,
}


def capabilities_of(kind: str) -> Capability:
    return CONNECTORS[kind].capabilities


def resolve_secrets(
    source: SourceConfig,
    *,
    block_loader: BlockLoader | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, SecretStr]:
    """Every credential ``source`` refers to, by its key in the sources file."""
    return {
        key: resolve_secret(ref, block_loader=block_loader, environ=environ)
        for key, ref in source.secret_refs().items()
    }


def build_connector(
    source: SourceConfig,
    secrets: Mapping[str, SecretStr],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Connector:
    tuning = _tuning(source, sleep)
    if isinstance(source, MatrixSource):
        return MatrixConnector(source.base_url, secrets["access_token"], **tuning)
    if isinstance(source, FeishuSource):
        return FeishuConnector(source.base_url, source.app_id, secrets["app_secret"], **tuning)
    if isinstance(source, SlackSource):
        return SlackConnector(source.base_url, secrets["token"], **tuning)
    raise TypeError(f"no connector for {type(source).__name__}")


def _tuning(source: SourceConfig, sleep: Callable[[float], None]) -> Tuning:
    """Paging, limits and timeouts: the same keys for every platform."""
    return Tuning(
        page_size=source.page_size,
        max_messages=source.max_messages,
        history_since=source.history_since,
        max_inline_wait_s=source.max_inline_wait_s,
        timeout_s=source.timeout_s,
        sleep=sleep,
    )


def open_connector(
    source: SourceConfig,
    *,
    block_loader: BlockLoader | None = None,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Connector:
    """A ready connector for ``source`` (credentials from the environment or Secret blocks)."""
    secrets = resolve_secrets(source, block_loader=block_loader, environ=environ)
    return build_connector(source, secrets, sleep=sleep)


def pull_group(
    source: SourceConfig,
    group_id: str,
    watermark: Watermark | None,
    *,
    now: datetime,
    block_loader: BlockLoader | None = None,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Pull:
    """The new records of one group of ``source`` since ``watermark`` (a connector is opened
    for the pull and closed after it)."""
    with open_connector(
        source, block_loader=block_loader, environ=environ, sleep=sleep
    ) as connector:
        return connector.pull(group_id, watermark, now=now)
