"""HTTP plumbing shared by the httpx-based connectors: rate limits and typed errors."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # the client library loads where a connector is opened
    import httpx

from groupops.connectors.base import ConnectorError, PlatformError, RateLimited

DEFAULT_RETRY_AFTER_S = 1.0
T = TypeVar("T")


def retry_after_seconds(
    headers: Mapping[str, str], body: Any = None, *, now: datetime | None = None
) -> float:
    """Seconds to wait, from ``Retry-After`` (seconds or an HTTP date), Feishu's
    ``x-ogw-ratelimit-reset`` or Matrix's ``retry_after_ms``; 1 s when none says."""
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get("retry-after") or lowered.get("x-ogw-ratelimit-reset")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                ref = now or datetime.now(UTC)
                return max(0.0, (when - ref).total_seconds())
    if isinstance(body, dict) and isinstance(body.get("retry_after_ms"), int | float):
        return max(0.0, float(body["retry_after_ms"]) / 1000)
    return DEFAULT_RETRY_AFTER_S


class RateLimitedCall(Exception):
    """Raised by a response checker to ask :func:`call_with_rate_limit` to wait or give up."""

    def __init__(self, retry_after: float, detail: str) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.detail = detail


def call_with_rate_limit(
    fn: Callable[[], T],
    *,
    max_inline_wait_s: float,
    sleep: Callable[[float], None] = time.sleep,
    max_waits: int = 3,
) -> T:
    """Run ``fn``; when it signals a rate limit, sleep the asked time if it is short enough
    (at most ``max_waits`` times), otherwise raise :class:`RateLimited` for the task to retry."""
    waits = 0
    while True:
        try:
            return fn()
        except RateLimitedCall as limited:
            if limited.retry_after > max_inline_wait_s or waits >= max_waits:
                raise RateLimited(limited.retry_after, limited.detail) from None
            waits += 1
            sleep(limited.retry_after)


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """One request; transport failures become a transient :class:`ConnectorError`, and a 429
    becomes :class:`RateLimitedCall`."""
    import httpx  # loaded with the client already: a dict lookup

    try:
        resp = client.request(method, url, params=params, json=json, headers=headers)
    except httpx.TransportError as exc:
        err = ConnectorError(f"{method} {url}: {type(exc).__name__}: {exc}")
        err.transient = True
        raise err from exc
    if resp.status_code == 429:
        body = _json_or_none(resp)
        raise RateLimitedCall(retry_after_seconds(resp.headers, body), f"{method} {url}: HTTP 429")
    return resp


def _json_or_none(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def json_body(resp: httpx.Response, what: str) -> dict[str, Any]:
    body = _json_or_none(resp)
    if not isinstance(body, dict):
        raise PlatformError(
            f"{what}: HTTP {resp.status_code}, not a JSON object", status=resp.status_code
        )
    return body
