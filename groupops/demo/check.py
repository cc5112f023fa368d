"""The plan's invariants, checked before anything is written: the demo is only useful if the
planted facts are the only ones, so a bundle that breaks one is refused with the reasons."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from groupops.demo.builder import SYSTEM_SENDER, Builder, Msg
from groupops.demo.chapter import Chapter
from groupops.demo.period import POLICY
from groupops.demo.texts import display
from groupops.policy import Policy


def marker_families(
    chapters: Sequence[Chapter[Any]], policy: Policy = POLICY
) -> dict[str, tuple[str, ...]]:
    """Every marker word of the policy, by family, from the chapters that own them."""
    families: dict[str, tuple[str, ...]] = {}
    for chapter in chapters:
        for family, words in chapter.markers.items():
            if family in families:
                raise ValueError(f"chapter {chapter.name!r}: marker family {family!r} is taken")
            families[family] = tuple(words(policy))
    return families


def markers_in(text: str, families: dict[str, tuple[str, ...]]) -> set[str]:
    """The families with a word in ``text`` (case-insensitive)."""
    low = text.lower()
    return {fam for fam, words in families.items() if any(w.lower() in low for w in words)}


def message_problems(
    msg: Msg, b: Builder, by_seq: dict[int, Msg], families: dict[str, tuple[str, ...]]
) -> list[str]:
    """Markers its role does not allow or lacks, posting outside the member's presence,
    replies out of order or to what may not be replied to, @mentions not written."""
    problems = []
    found, role = markers_in(msg.text, families), msg.role
    if found - role.allowed or (role.required and role.required not in found):
        problems.append(f"{role.name} {msg.at} {msg.text!r}: markers {sorted(found)}")
    if msg.sender_id != SYSTEM_SENDER and not b.presence.can_post(
        msg.sender_id, msg.group_id, msg.at
    ):
        problems.append(f"{msg.sender_id} may not post in {msg.group_id} at {msg.at}")
    if msg.reply_to is not None:
        parent = by_seq.get(msg.reply_to)
        if parent is None:
            problems.append(f"reply {msg.text!r} to a message that was dropped")
        else:
            if parent.at >= msg.at or parent.group_id != msg.group_id:
                problems.append(f"reply {msg.text!r} before its parent")
            if parent.role.replies is not None and role.name not in parent.role.replies:
                problems.append(f"{msg.text!r} replies to a {parent.role.name}")
    problems += [
        f"{m} not @-named in {msg.text!r}"
        for m in msg.mentions
        if f"@{display(m)}" not in msg.text or m == msg.sender_id
    ]
    return problems


def unplanned_floods(b: Builder) -> list[str]:
    """Bursts of more than the policy's flood threshold that no chapter planned."""
    window = timedelta(seconds=POLICY.moderation.flood_window_seconds)
    n = POLICY.moderation.flood_messages
    per_sender: defaultdict[tuple[str, str], list[datetime]] = defaultdict(list)
    for msg in b.messages:
        per_sender[(msg.sender_id, msg.group_id)].append(msg.at)
    problems = []
    for key, times in per_sender.items():
        times.sort()
        burst = any(times[i + n - 1] - times[i] <= window for i in range(len(times) - n + 1))
        if burst and key not in b.floods:
            problems.append(f"unplanned flood by {key[0]} in {key[1]}")
    return problems


def check(b: Builder, chapters: Sequence[Chapter[Any]]) -> None:
    """Refuse to write a bundle that breaks the plan's invariants."""
    families = marker_families(chapters)
    by_seq = {m.seq: m for m in b.messages}
    problems = [p for msg in b.messages for p in message_problems(msg, b, by_seq, families)]
    problems += unplanned_floods(b)
    if problems:
        raise AssertionError("demo data breaks its plan:\n" + "\n".join(problems[:20]))
