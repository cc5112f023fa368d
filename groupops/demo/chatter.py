"""The filler conversation around the plants: short conversations on each group's topics,
@questions that the mentioned member answers, media messages, and a top-up so that every active
member writes a little in each of their groups.

Chatter is random (the seed's own stream, ``Builder.rng``) but constrained so that the planted
facts stay the only ones: it never holds a marker word (see :mod:`groupops.demo.phrases`), never
replies to a plant, every @mention in it is answered, and it is written only where and when
``Builder.chatter_presence`` lets a member write (the founding plants' facts).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from random import Random
from typing import Final

from groupops.demo import company, phrases
from groupops.demo.builder import Builder, Role
from groupops.demo.period import AS_OF, CLOCK, POLICY, SINCE, TZ, UNTIL
from groupops.demo.texts import display

CHATTER: Final = Role("chatter")

# Conversation shape: how many follow-ups a conversation has (weights for 0, 1, 2 …).
FOLLOWUP_WEIGHTS: Final = (14, 24, 24, 16, 10, 6, 4, 2)
P_MENTION: Final = 0.14  # a conversation opens with an @question
P_ANSWER_REPLY: Final = 0.75  # the answer to an @question is sent as a reply to it
P_REPLY: Final = 0.35  # a follow-up is sent as a reply to the opener
P_MEDIA: Final = 0.07  # a chatter message is an image/file/link/voice/video
ANSWER_DELAYS: Final = ((1, 20), (20, 150), (240, 1200))  # minutes
ANSWER_DELAY_WEIGHTS: Final = (62, 30, 8)
P_EVENING: Final = 0.08  # a working-day conversation happens in the evening
WEEKEND_SHARE: Final = 0.15  # conversations on a day off, relative to a working day
MIN_MESSAGES: Final = 4  # every active member writes at least this many in each group …
MIN_RECENT: Final = 2  # … and this many in the last 14 days before as_of


def fill(template: str, rng: Random) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: phrases.SLOTS[m.group(1)](rng), template)


def _weighted(rng: Random, items: Sequence[str], weights: Sequence[float]) -> str | None:
    if not items or sum(weights) <= 0:
        return None
    return rng.choices(items, weights=weights)[0]


def pick_member(
    b: Builder, group: company.GroupSpec, at: datetime, exclude: Iterable[str] = ()
) -> str | None:
    excluded = set(exclude)
    may = b.chatter_presence.can_post
    pool = [m for m in group.members if m not in excluded and may(m, group.group_id, at)]
    return _weighted(b.rng, pool, [company.PEOPLE_BY_ID[m].activity for m in pool])


def conversation_start(rng: Random, day: date) -> datetime:
    """A plausible time for a conversation to begin on ``day``."""
    if not CLOCK.is_working_day(day):
        minute = rng.randint(10 * 60, 22 * 60)
    elif rng.random() < P_EVENING:
        minute = rng.randint(18 * 60 + 5, 22 * 60 + 30)
    else:
        spans = [(s.hour * 60 + s.minute, e.hour * 60 + e.minute - 5) for s, e in CLOCK.periods]
        lo, hi = rng.choices(spans, weights=[hi - lo for lo, hi in spans])[0]
        minute = rng.randint(lo, hi)
    return datetime.combine(day, time(minute // 60, minute % 60, rng.randint(0, 59)), TZ)


def chatter_text(rng: Random, templates: Sequence[str]) -> tuple[str, str]:
    """(kind, text): mostly text from ``templates``, sometimes an image/file/link/voice."""
    if rng.random() < P_MEDIA:
        kind, template = rng.choice(phrases.MEDIA)
        return kind, fill(template, rng)
    return "text", fill(rng.choice(templates), rng)


def answer_delay(rng: Random) -> timedelta:
    """How long a mentioned member takes to answer: mostly minutes, sometimes hours, now and
    then the next day (answered, but late)."""
    low, high = rng.choices(ANSWER_DELAYS, weights=ANSWER_DELAY_WEIGHTS)[0]
    return timedelta(minutes=rng.uniform(low, high))


def chat_conversation(b: Builder, group: company.GroupSpec, start: datetime) -> None:
    rng, gid = b.rng, group.group_id
    names, weights = zip(*group.topics, strict=True)
    topic = phrases.TOPICS[rng.choices(names, weights=weights)[0]]
    opener_by = pick_member(b, group, start)
    if opener_by is None:
        return
    conversation = b.new_conversation()
    last_at, last_by = start, opener_by
    target = pick_member(b, group, start, exclude=[opener_by]) if rng.random() < P_MENTION else None
    answer_at = start + answer_delay(rng)
    if (
        target is not None
        and answer_at < AS_OF
        and b.chatter_presence.can_post(target, gid, answer_at)
    ):
        question, answers = rng.choice(topic.asks)
        text = f"@{display(target)} {fill(question, rng)}"
        opener = b.add(
            gid, opener_by, start, text, CHATTER, mentions=(target,), conversation=conversation
        )
        answer = fill(rng.choice(answers), rng)
        reply = opener.seq if rng.random() < P_ANSWER_REPLY else None
        b.add(gid, target, answer_at, answer, CHATTER, reply_to=reply, conversation=conversation)
    else:
        kind, text = chatter_text(rng, topic.starters)
        opener = b.add(gid, opener_by, start, text, CHATTER, kind=kind, conversation=conversation)
    count = rng.choices(range(len(FOLLOWUP_WEIGHTS)), weights=FOLLOWUP_WEIGHTS)[0]
    # distinct follow-ups within one conversation
    followups = rng.sample(topic.followups + phrases.GENERIC_FOLLOWUPS, count)
    for template in followups:
        at = last_at + timedelta(seconds=rng.randint(20, 360))
        sender = pick_member(b, group, at, exclude=[last_by])
        if sender is None:
            break
        kind, text = chatter_text(rng, (template,))
        reply = opener.seq if rng.random() < P_REPLY else None
        b.add(gid, sender, at, text, CHATTER, kind=kind, reply_to=reply, conversation=conversation)
        last_at, last_by = at, sender


def chat(b: Builder) -> None:
    """Conversations in every group on every day of the period, more on working days."""
    days = [SINCE.date() + timedelta(days=i) for i in range((UNTIL - SINCE).days)]
    for group in company.GROUPS:
        for day in days:
            mean = group.daily_conversations * (1 if CLOCK.is_working_day(day) else WEEKEND_SHARE)
            count = max(0, round(b.rng.gauss(mean, mean / 4)))
            for start in sorted(conversation_start(b.rng, day) for _ in range(count)):
                chat_conversation(b, group, start)


def top_up_quiet_members(b: Builder) -> None:
    """Give every active member a few messages in each group, some in the last 14 days.

    Counts the messages of the shared id sequence only (chatter and founding plants), so that a
    chapter's new plants change nothing here."""
    inactive = {p.member_id for p in company.PEOPLE if p.active_until}
    presence = b.chatter_presence
    recent_from = AS_OF - timedelta(days=POLICY.activity.inactive_days)
    counts: Counter[tuple[str, str]] = Counter()
    recent: Counter[tuple[str, str]] = Counter()
    for msg in b.messages:
        if msg.series is None:
            counts[(msg.sender_id, msg.group_id)] += 1
            recent[(msg.sender_id, msg.group_id)] += recent_from <= msg.at < AS_OF
    workdays = CLOCK.working_days(SINCE.date(), SINCE.date() + timedelta(days=27))
    for group in company.GROUPS:
        topic = phrases.TOPICS[group.topics[0][0]]
        for member in group.members:
            key = (member, group.group_id)
            if (
                member in inactive
                or key not in presence.joined
                or presence.gone.get(key, UNTIL) < AS_OF
            ):
                continue
            for window_from, need in (
                (recent_from, MIN_RECENT - recent[key]),
                (SINCE, MIN_MESSAGES - counts[key]),
            ):
                days = [d for d in workdays if datetime.combine(d, time(9), TZ) >= window_from]
                tries = 0
                while need > 0 and tries < 200:
                    tries += 1
                    at = conversation_start(b.rng, b.rng.choice(days))
                    if at < AS_OF and presence.can_post(member, group.group_id, at):
                        text = fill(b.rng.choice(topic.starters), b.rng)
                        conversation = b.new_conversation()
                        b.add(group.group_id, member, at, text, CHATTER, conversation=conversation)
                        counts[key] += 1
                        need -= 1


#: Openings that make a repeated chatter line a different text (no marker word of any policy
#: list: the check refuses one that has).
VARIANTS: Final = ("对了，", "另外，", "补充一下，", "再提一句，", "顺便说下，", "我再说下，",
                   "刚想到，", "说回来，")  # fmt: skip


def vary_repeats(b: Builder) -> None:
    """Chatter never repeats itself as a cleanup ``duplicate`` would see it: a chatter line whose
    normalised text (at least ``notices.duplicate_min_chars`` long) was already posted in the same
    group within ``notices.duplicate_window_days`` gets an opening (``对了，`` …) that makes it a
    new text. Deterministic (no random draw), in time order, among the chatter alone and before
    contradicted chatter is dropped: the chatter comes from the founding facts only, so a new
    plant changes no chatter line. The archive's planted duplicates stay the only ones
    (docs/archive.md)."""
    from groupops.archive.rules import normalise

    window = timedelta(days=POLICY.notices.duplicate_window_days)
    least = POLICY.notices.duplicate_min_chars
    posted: dict[tuple[str, str], datetime] = {}  # (group, normalised text) → last posted

    def recent(group_id: str, norm: str, at: datetime) -> bool:
        last = posted.get((group_id, norm))
        return last is not None and at - last <= window

    for msg in sorted(b.messages, key=lambda m: (m.at, m.seq)):
        norm = normalise(msg.text)
        if (
            msg.conversation is not None
            and len(norm) >= least
            and recent(msg.group_id, norm, msg.at)
        ):
            options = [v + msg.text for v in VARIANTS]
            options += [a + b_ + msg.text for a in VARIANTS for b_ in VARIANTS if a != b_]
            for text in options:
                if not recent(msg.group_id, normalise(text), msg.at):
                    msg.text, norm = text, normalise(text)
                    break
        if norm:
            posted[(msg.group_id, norm)] = msg.at
