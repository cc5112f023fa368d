"""Cards for group bots, stored before they are posted: the ``chatbot_posts`` table, the same
rule as the email outbox (:mod:`groupops.mail.outbox`).

* :func:`enqueue_post` stores one card under a key (the email's key + ``@`` + the bot's name):
  a key that exists stores nothing unless ``force`` (which makes it ``pending`` again).
* :func:`post_cards` posts each sendable card once (``pending``, ``failed``, or ``sending``
  left by a crashed run :data:`~groupops.mail.outbox.STALE_SENDING` ago), marks it ``sending``
  before the request and ``sent`` after the platform accepted it. A ``sent`` card is never
  posted again. A card whose bot has no webhook configured waits (``pending``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from groupops.chatbots.webhook import BotPostError, BotTarget, post
from groupops.db.models import ChatbotPost
from groupops.mail.outbox import STALE_SENDING

if TYPE_CHECKING:
    import httpx

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


@dataclass(frozen=True)
class Card:
    """What a bot shows: a title, a markdown body, the pointer line ending a truncated card,
    and the Feishu header colour (``red`` when something needs the reader)."""

    title: str
    body: str
    pointer: str
    tone: str = "blue"


def post_key(source_key: str, bot: str) -> str:
    """The card's key: the email's key and the bot (shortened when too long)."""
    import hashlib

    key = f"{source_key}@{bot}"
    if len(key) <= 191:
        return key
    return f"{source_key[:100]}:{hashlib.sha256(key.encode()).hexdigest()[:40]}@{bot}"


def _table() -> sa.Table:
    table = ChatbotPost.__table__
    assert isinstance(table, sa.Table)
    return table


def enqueue_post(
    engine: sa.Engine,
    card: Card,
    *,
    source_key: str,
    kind: str,
    bot: str,
    channel: str,
    now: datetime,
    force: bool = False,
) -> tuple[str, bool]:
    """Store ``card`` for ``bot``; returns its key and whether it was stored now."""
    key = post_key(source_key, bot)
    table = _table()
    values = {"kind": kind, "bot": bot, "channel": channel, "title": card.title,
              "body": card.body, "pointer": card.pointer, "tone": card.tone,
              "status": PENDING, "attempts": 0, "last_error": None, "updated_at": now,
              "sent_at": None}  # fmt: skip
    with engine.begin() as conn:
        found = conn.execute(sa.select(table.c.id).where(table.c.key == key)).first()
        if found is not None:
            if not force:
                return key, False
            conn.execute(table.update().where(table.c.id == found[0]).values(**values))
            return key, True
        try:
            with conn.begin_nested():
                conn.execute(table.insert().values(key=key, created_at=now, **values))
        except sa.exc.IntegrityError:  # a concurrent run stored it first
            return key, False
    return key, True


@dataclass(frozen=True)
class BotDelivery:
    """The state of the cards a delivery was given, after it."""

    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # key → the error
    transient: list[str] = field(default_factory=list)  # failed keys worth retrying soon
    waiting: dict[str, str] = field(default_factory=dict)  # key → bot without a webhook

    @property
    def ok(self) -> bool:
        return not self.failed

    def describe(self) -> str:
        parts = [f"{len(self.sent)} card(s) posted", f"{len(self.failed)} failed"]
        if self.waiting:
            bots = ", ".join(sorted(set(self.waiting.values())))
            parts.append(f"{len(self.waiting)} waiting (no webhook configured for {bots})")
        return ", ".join(parts)


class CardsNotPosted(RuntimeError):
    """Some cards could not be posted; they stay stored and the next run tries them again."""

    def __init__(self, delivery: BotDelivery) -> None:
        self.delivery = delivery
        failures = "; ".join(delivery.failed.values())
        super().__init__(
            f"{len(delivery.failed)} card(s) not posted (kept for the next run): {failures}"
        )

    @staticmethod
    def raise_for(delivery: BotDelivery) -> None:
        """Raise when any card of ``delivery`` could not be posted."""
        if delivery.failed:
            raise CardsNotPosted(delivery)


def _sendable(now: datetime) -> sa.ColumnElement[bool]:
    table = _table()
    stale = sa.and_(table.c.status == SENDING, table.c.updated_at < now - STALE_SENDING)
    return sa.or_(table.c.status.in_((PENDING, FAILED)), stale)


def pending_cards(
    engine: sa.Engine,
    *,
    kind: str | None = None,
    keys: Sequence[str] | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Keys of the cards still to post, oldest first (optionally of ``kind`` / among ``keys``)."""
    table = _table()
    stmt = sa.select(table.c.key).where(_sendable(now or datetime.now(UTC)))
    if kind is not None:
        stmt = stmt.where(table.c.kind == kind)
    if keys is not None:
        stmt = stmt.where(table.c.key.in_(list(keys)))
    with engine.connect() as conn:
        return [str(k) for k in conn.execute(stmt.order_by(table.c.id)).scalars()]


def post_cards(
    engine: sa.Engine,
    keys: Sequence[str],
    targets: Mapping[str, BotTarget],
    *,
    client: httpx.Client | None = None,
    now: Callable[[], datetime] | None = None,
) -> BotDelivery:
    """Post each sendable card among ``keys`` once to its bot's target (see the module doc)."""
    import httpx

    clock = now or (lambda: datetime.now(UTC))
    table = _table()
    own_client = client is None
    http = client or httpx.Client(timeout=httpx.Timeout(15.0))
    sent: list[str] = []
    failed: dict[str, str] = {}
    transient: list[str] = []
    waiting: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(table).where(table.c.key.in_(list(keys))).order_by(table.c.id)
            ).all()
        for row in rows:
            if row.status == SENT:
                sent.append(row.key)
                continue
            target = targets.get(row.bot)
            if target is None:
                waiting[row.key] = row.bot
                continue
            stamp = clock()
            with engine.begin() as conn:
                claimed = conn.execute(
                    table.update()
                    .where(table.c.id == row.id, _sendable(stamp))
                    .values(status=SENDING, updated_at=stamp)
                ).rowcount
            if not claimed:  # another run is posting it right now
                continue
            try:
                post(http, target, row.title, row.body, pointer=row.pointer, tone=row.tone,
                     now=stamp)  # fmt: skip
            except BotPostError as exc:
                failed[row.key] = str(exc)
                if exc.transient:
                    transient.append(row.key)
                _record(engine, row.id, FAILED, str(exc)[:2000], clock())
                continue
            _record(engine, row.id, SENT, None, clock())
            sent.append(row.key)
    finally:
        if own_client:
            http.close()
    return BotDelivery(sent=sent, failed=failed, transient=transient, waiting=waiting)


def _record(engine: sa.Engine, row_id: int, status: str, error: str | None, now: datetime) -> None:
    table = _table()
    values: dict[str, object] = {"status": status, "attempts": table.c.attempts + 1,
                                 "last_error": error, "updated_at": now}  # fmt: skip
    if status == SENT:
        values["sent_at"] = now
    with engine.begin() as conn:
        conn.execute(table.update().where(table.c.id == row_id).values(**values))


def load_posts(engine: sa.Engine) -> list[dict[str, object]]:
    """Every stored card (for reports and tests), oldest first."""
    table = _table()
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table).order_by(table.c.id)).mappings().all()
    return [dict(r) for r in rows]
