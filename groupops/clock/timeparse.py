"""Instants from input text: ISO 8601 (with or without offset), epoch seconds or milliseconds.
A naive time is read in the given zone; the result is always aware."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

# Epoch values above this are milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
EPOCH_MS_THRESHOLD = 100_000_000_000


def parse_instant(value: str | int | float, tz: ZoneInfo) -> datetime:
    """One instant. Raises ``ValueError`` with a readable message when it is not one."""
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    text = value.strip()
    if not text:
        raise ValueError("empty time")
    try:
        return _from_epoch(float(text))
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 time or epoch seconds/milliseconds: {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


def _from_epoch(number: float) -> datetime:
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"not a time: {number!r}")
    seconds = number / 1000 if abs(number) >= EPOCH_MS_THRESHOLD else number
    return datetime.fromtimestamp(seconds, tz=UTC)
