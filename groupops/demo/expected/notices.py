"""What the archive rules (rulebook ch. 3(四)) must find: every notice, those older than
``notices.retention_days`` and the reposts (``notices``), the important messages
(``important``), every @所有人 message of the bundle (``mention_all``), and what ``groupops
cleanup`` at ``as_of`` must list (``cleanup``: candidates with their reason, exempt ones with
why), computed from the scenario's facts (stated ends, reposts, revisions) and the policy's
numbers. The off-topic messages (moderation's ``ad``/``vulgar`` violations) and moderation's
planted duplicate are in ``violations.decided``: the cleanup lists them too."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from groupops.demo.builder import Builder, Msg
from groupops.demo.chapter import Chapter
from groupops.demo.period import AS_OF, POLICY, local
from groupops.demo.plants import notices
from groupops.demo.plants.notices import Planted
from groupops.demo.scenario.notices import NOTICES, STALE_NOTICES

#: A message gets the first reason that applies (groupops.archive.rules.REASONS).
PRECEDENCE = ("off_topic", "duplicate", "superseded", "expired")


def cleanup(planted: Planted) -> dict[str, Any]:
    """What ``groupops cleanup --as-of AS_OF`` must list of this chapter's plants."""
    rules = POLICY.notices
    cutoff = AS_OF - timedelta(days=rules.retention_days)
    window = timedelta(days=rules.duplicate_window_days)
    young = AS_OF - timedelta(hours=rules.min_age_hours)
    verdict: dict[str, tuple[Msg, str]] = {}

    def put(msg: Msg, reason: str) -> None:
        now = verdict.get(msg.message_id)
        if now is None or PRECEDENCE.index(reason) < PRECEDENCE.index(now[1]):
            verdict[msg.message_id] = (msg, reason)

    def stale_by_age(msg: Msg, ends: str | None) -> None:
        if (local(ends) < AS_OF) if ends else (msg.at < cutoff):
            put(msg, "expired")

    for n, (original, repost) in zip(NOTICES, planted.notices, strict=True):
        stale_by_age(original, n.ends)
        if repost is not None:
            stale_by_age(repost, n.ends)
            same = n.repost_text is None or bool(n.repost_same)
            if same and repost.at - original.at <= window:
                put(repost, "duplicate")
    for s, msg in zip(STALE_NOTICES, planted.stale, strict=True):
        stale_by_age(msg, s.ends)
    for first, _revision in planted.revisions:
        put(first, "superseded")
    for first, again in planted.repeats:
        if again.at - first.at <= window:
            put(again, "duplicate")
    for msg in planted.important:
        if msg.pinned:  # a pinned message is a notice (an announcement)
            stale_by_age(msg, None)

    candidates, exempt = [], []
    for msg, reason in sorted(verdict.values(), key=lambda v: (v[0].at, v[0].message_id)):
        why = "pinned" if msg.pinned else "newer" if msg.at > young else None
        entry = {"group_id": msg.group_id, "message_id": msg.message_id, "reason": reason}
        if why:
            exempt.append({**entry, "why": why})
        else:
            candidates.append(entry)
    return {"candidates": candidates, "exempt": exempt}


def record(planted: Planted, b: Builder) -> dict[str, Any]:
    expiry = AS_OF - timedelta(days=POLICY.notices.retention_days)
    new = [
        *planted.stale,
        *(m for pair in planted.revisions for m in pair),
        *(m for pair in planted.repeats for m in pair if m.role == notices.NOTICE),
    ]
    every = sorted(
        [*(n for pair in planted.notices for n in pair if n is not None), *new],
        key=lambda n: (n.at, n.message_id),
    )
    return {
        "notices": {
            "all": [n.message_id for n in every],
            "expired": [n.message_id for n in every if n.at < expiry],
            "duplicates": [
                {"original": o.message_id, "duplicate": r.message_id, "exact": o.text == r.text}
                for o, r in planted.notices
                if r is not None
            ],
        },
        "important": sorted(m.message_id for m in planted.important),
        "mention_all": sorted(m.message_id for m in b.messages if m.mention_all),
        "cleanup": cleanup(planted),
    }


CHAPTER: Final = Chapter(
    name="notices", plant=notices.plant, record=record, markers=notices.MARKERS
)
