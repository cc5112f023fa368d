"""Which failures the pull task retries."""

from __future__ import annotations

import pytest
from prefect.states import Failed

from groupops.connectors.base import (
    Capability,
    ConnectorError,
    PlatformError,
    RateLimited,
    UnsupportedCapability,
)
from tasks.pull import is_transient


def _transport_error() -> ConnectorError:
    err = ConnectorError("GET /sync: ConnectTimeout")
    err.transient = True
    return err


@pytest.mark.parametrize(
    ("exc", "retried"),
    [
        (RateLimited(30), True),
        (_transport_error(), True),
        (PlatformError("HTTP 503", status=503), True),
        (PlatformError("no status"), True),
        (PlatformError("HTTP 401 M_UNKNOWN_TOKEN", status=401, code="M_UNKNOWN_TOKEN"), False),
        (PlatformError("code 232006", status=400, code="232006"), False),
        (UnsupportedCapability("slack", Capability.MUTE), False),
        (ValueError("bad config"), False),
    ],
)
def test_only_transient_failures_are_retried(exc: Exception, retried: bool) -> None:
    assert is_transient(None, None, Failed(data=exc)) is retried
