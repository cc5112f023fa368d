"""What is planted in the demo data, as tables: one module per chapter of the rulebook
(``deadlines``, ``notices``, ``meetings``, ``moderation``, ``membership``), planted by the
module of the same name in :mod:`groupops.demo.plants`. Pure data; times are local
``"MM-DD HH:MM[:SS]"`` in 2026 (Asia/Shanghai).

The shapes several chapters use are here: deadline expressions are built from a day part and a
time part (see :class:`When`), so the generator can write them in Chinese and know the exact
instant they mean; :class:`Plain` is a one-off message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DayKind = Literal["today", "tomorrow", "this_week", "week", "next_week", "md", "iso"]
TimeKind = Literal["end", "eod", "am", "pm", "noon", "hm"]


@dataclass(frozen=True, slots=True)
class When:
    """A deadline expression. ``day``: today/tomorrow; ``this_week``/``week``/``next_week`` with
    ``day_arg`` the weekday (1 = Monday); ``md``/``iso`` with ``day_arg`` = (month, day).
    ``time``: ``end``/``eod`` = 18:00, ``am``/``pm`` with the hour on the clock face, ``noon`` =
    12:00, ``hm`` = (hour, minute). ``cutoff`` writes 截止… instead of …前."""

    day: DayKind
    day_arg: int | tuple[int, int] = 0
    time: TimeKind = "end"
    time_arg: int | tuple[int, int] = 0
    cutoff: bool = False


@dataclass(frozen=True, slots=True)
class Plain:
    """A one-off planted message."""

    group_id: str
    at: str  # "MM-DD HH:MM:SS" or "MM-DD HH:MM"
    sender: str
    text: str
    kind: str = "text"
    pinned: bool = False
    mention_all: bool = False
