"""Who answered a mention: the one rule for reply requests, used by the activity statistics
(rulebook ch. 2: mentions answered, reply times) and by the deadlines (ch. 4: work messages are
answered promptly).

* A **reply request** is a message that @mentions another member: one request per (message,
  mentioned member other than the sender). A message is *not* a reply request when it is

  - addressed to everyone (``mention_all``: @所有人 / @all / @room): nobody in particular is
    asked, even if it also names people;
  - a **task** (its text holds a ``tasks.markers`` word): its mentions assign the task, which is
    followed up as a task (acknowledgement and completion, :mod:`groupops.deadlines`);
  - a **meeting notice or minutes** (a ``meetings.notice_markers`` / ``minutes_markers`` word):
    its mentions invite or assign action items (:mod:`groupops.meetings`), they ask no reply;
  - a ``system`` message.

* It is **answered** by the mentioned member's first reply to it (``reply_to`` = the request)
  or, with ``replies.reply_mode = "any_message"``, by their first message in the same group
  after it, whichever comes first. ``system`` messages answer nothing. Only the messages the
  caller passes can answer: the caller bounds them (messages up to ``as_of`` for deadlines,
  before the period's end for statistics).

The helpers :func:`first_reply`, :func:`next_in_group` and :func:`earliest` are the same "the
member's first answer to a message" for any kind of answer (a task's acknowledgement and its
completion report use them with their own candidate messages).

Frames are ``groupops.db.queries.load_messages`` frames (``sent_at`` aware UTC). A frame without
``text`` has no task; one without ``mention_all`` addresses nobody as everyone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from groupops.activity.markers import marker_regex as marker_regex  # the one rule, re-exported
from groupops.policy import Policy

GROUP_KEYS = ["platform", "group_id"]
#: One reply request: which message asked whom, when.
REQUEST_COLUMNS = ["platform", "group_id", "message_id", "requester_id", "target_id",
                   "requested_at"]  # fmt: skip
#: A request with its answer: ``answered_at`` (NaT) and ``answer_id`` (None) when unanswered.
ANSWERED_COLUMNS = [*REQUEST_COLUMNS, "answered_at", "answer_id"]
#: What :func:`first_reply`, :func:`next_in_group` and :func:`earliest` return per item.
ANSWER_COLUMNS = ["at", "id", "text"]


def contains_marker(text: pd.Series, words: Sequence[str]) -> pd.Series:
    """Whether each text holds one of ``words`` (see :func:`marker_regex`)."""
    if not words:
        return pd.Series(False, index=text.index, dtype=bool)
    return text_matches(text.fillna("").astype(str), marker_regex(words))


def text_matches(text: pd.Series, regex: str) -> pd.Series:
    """``text.str.contains(regex, regex=True)`` for a column of texts (``str`` or object
    dtype; a missing text matches nothing), asked once per distinct text: pandas runs a
    pattern with lookarounds (a :func:`marker_regex` of ASCII words) through Python's ``re``
    one value at a time, and chats repeat texts (short replies, media without text: 150k
    messages, ~0.2 s of CPU). pandas itself tests the distinct texts, so each gets the
    answer it got before: ``tests/test_text_matches.py``."""
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    found = pd.Series(uniques).str.contains(regex, regex=True).to_numpy(dtype=bool)
    hits = np.append(found, False)  # code -1: a missing text
    return pd.Series(hits[codes], index=text.index, dtype=bool, name=text.name)


def is_task(messages: pd.DataFrame, policy: Policy) -> pd.Series:
    """Whether each message is a task (its text holds a ``tasks.markers`` word)."""
    if "text" not in messages:
        return pd.Series(False, index=messages.index, dtype=bool)
    return contains_marker(messages["text"], policy.tasks.markers)


def is_meeting_message(messages: pd.DataFrame, policy: Policy) -> pd.Series:
    """Whether each message is a meeting notice or minutes (rulebook ch. 5)."""
    if "text" not in messages:
        return pd.Series(False, index=messages.index, dtype=bool)
    words = [*policy.meetings.notice_markers, *policy.meetings.minutes_markers]
    return contains_marker(messages["text"], words)


def _not_system(messages: pd.DataFrame) -> pd.Series:
    if "kind" not in messages:
        return pd.Series(True, index=messages.index, dtype=bool)
    return messages["kind"] != "system"


def mentioned(messages: pd.DataFrame) -> pd.DataFrame:
    """One row per (message, member it mentions other than its sender): the message's
    columns with ``target_id`` in place of ``mentions``."""
    if messages.empty:
        return messages.drop(columns="mentions").assign(target_id=pd.Series(dtype=object))
    out = messages.explode("mentions").rename(columns={"mentions": "target_id"})
    out = out[out["target_id"].notna() & (out["target_id"] != out["sender_id"])]
    out = out.astype({"target_id": str})
    return out.drop_duplicates([*GROUP_KEYS, "message_id", "target_id"])


def _has_mentions(mentions: pd.Series) -> pd.Series:
    """Whether each value is a non-empty list: the values ``Series.map`` hands a function, in
    one comprehension instead of a call per message (1M messages: ~0.1 s against ~0.2 s)."""
    values = mentions.to_numpy(dtype=object)
    return pd.Series(
        [isinstance(m, list) and len(m) > 0 for m in values], index=mentions.index, dtype=bool
    )


def reply_requests(messages: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Every reply request in ``messages`` (:data:`REQUEST_COLUMNS`), oldest first."""
    has_mentions = _has_mentions(messages["mentions"])
    to_all = (
        messages["mention_all"].fillna(False).astype(bool)
        if "mention_all" in messages
        else pd.Series(False, index=messages.index, dtype=bool)
    )
    asks = messages[has_mentions & ~to_all & _not_system(messages)]
    asks = asks[~is_task(asks, policy) & ~is_meeting_message(asks, policy)]
    out = mentioned(asks[[*GROUP_KEYS, "message_id", "sender_id", "sent_at", "mentions"]])
    out = out.rename(columns={"sender_id": "requester_id", "sent_at": "requested_at"})
    out["requested_at"] = pd.to_datetime(out["requested_at"], utc=True)
    out = out.sort_values(["requested_at", "message_id"], kind="stable")
    return out[REQUEST_COLUMNS].reset_index(drop=True)


def answer_requests(requests: pd.DataFrame, messages: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """``requests`` (:data:`REQUEST_COLUMNS`) with each one's first answer among ``messages``
    (:data:`ANSWERED_COLUMNS`, same order and index)."""
    pool = messages[_not_system(messages)]
    answer = first_reply(requests, pool)
    if policy.replies.reply_mode == "any_message":
        answer = earliest(answer, next_in_group(requests, pool))
    out = requests.copy()
    out["answered_at"] = utc_values(answer["at"])
    out["answer_id"] = answer["id"].to_numpy()
    return out[ANSWERED_COLUMNS]


def utc_values(at: pd.Series) -> pd.api.extensions.ExtensionArray | pd.DatetimeIndex:
    """``pd.to_datetime(at.to_numpy(), utc=True)`` (the instants in UTC, positionally) without
    boxing each aware value as a ``Timestamp`` (80k answers: ~0.15 s). Only a column of aware
    instants with a value is converted in place: its unit is kept, as ``to_datetime`` keeps the
    values' common unit; an empty or all-missing column (``to_datetime`` makes it seconds) and
    any other dtype take ``to_datetime``."""
    if isinstance(at.dtype, pd.DatetimeTZDtype) and at.notna().any():
        values: pd.api.extensions.ExtensionArray = at.dt.tz_convert("UTC").array
        return values
    return pd.to_datetime(at.to_numpy(), utc=True)


def answered_requests(messages: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Every reply request in ``messages`` with its answer among the same messages."""
    return answer_requests(reply_requests(messages, policy), messages, policy)


# -- the member's first answer to a message -------------------------------------------------


def _item_key(member: str) -> list[str]:
    return [*GROUP_KEYS, "message_id", member]


def _candidates(messages: pd.DataFrame) -> pd.DataFrame:
    cols = [*GROUP_KEYS, "reply_to", "sender_id", "sent_at", "message_id"]
    out = messages[cols].copy()
    out["text"] = messages.get("text")
    return out


def first_reply(
    items: pd.DataFrame,
    messages: pd.DataFrame,
    mask: pd.Series | None = None,
    *,
    member: str = "target_id",
) -> pd.DataFrame:
    """For each item (platform, group_id, message_id, ``member``), that member's first reply
    to the message among ``messages`` (those where ``mask``, when given): :data:`ANSWER_COLUMNS`
    aligned with ``items`` (NaT / None where there is none)."""
    replying = messages["reply_to"].notna()
    pool = _candidates(messages[replying if mask is None else replying & mask])
    pool = pool.sort_values(["sent_at", "message_id"], kind="stable")
    pool = pool.drop_duplicates([*GROUP_KEYS, "reply_to", "sender_id"], keep="first")
    pool = pool.rename(
        columns={"reply_to": "message_id", "sender_id": member, "sent_at": "at",
                 "message_id": "id"}
    )  # fmt: skip
    key = _item_key(member)
    found = items[key].merge(pool, on=key, how="left")
    found.index = items.index
    found["at"] = pd.to_datetime(found["at"], utc=True)
    return found[ANSWER_COLUMNS]


def next_in_group(
    items: pd.DataFrame,
    candidates: pd.DataFrame,
    *,
    member: str = "target_id",
    after: str = "requested_at",
) -> pd.DataFrame:
    """For each item, ``member``'s first candidate message in the item's group strictly after
    the item's ``after`` instant: :data:`ANSWER_COLUMNS` aligned with ``items``."""
    if items.empty:
        return pd.DataFrame(
            {"at": pd.Series(dtype="datetime64[ns, UTC]"), "id": pd.Series(dtype=object),
             "text": pd.Series(dtype=object)},
            index=items.index,
        )  # fmt: skip
    left = items[[*GROUP_KEYS, member, after]].rename(columns={after: "t"})
    left = left.assign(_row=range(len(left)))
    left["t"] = pd.to_datetime(left["t"], utc=True)
    left = left.sort_values("t", kind="stable")
    right = _candidates(candidates).drop(columns="reply_to")
    right = right.rename(columns={"sender_id": member, "message_id": "id", "sent_at": "t"})
    right["t"] = pd.to_datetime(right["t"], utc=True)
    right = right.sort_values("t", kind="stable")
    right["at"] = right["t"]
    left[member] = left[member].astype(str)
    right[member] = right[member].astype(str)
    merged = pd.merge_asof(
        left, right, on="t", by=[*GROUP_KEYS, member], direction="forward",
        allow_exact_matches=False,
    )  # fmt: skip
    merged = merged.sort_values("_row")
    merged.index = items.index
    return merged[ANSWER_COLUMNS]


def earliest(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Row by row the earlier of two aligned answers (:data:`ANSWER_COLUMNS`)."""
    take_b = b["at"].notna() & (a["at"].isna() | (b["at"] < a["at"]))
    out = a[ANSWER_COLUMNS].copy()
    if all(a[c].dtype == b[c].dtype for c in ANSWER_COLUMNS):
        # Column by column: the same values and dtypes as the rows' assignment below, without
        # boxing every value of the mixed rows as a Python object (80k requests: ~0.25 s).
        for c in ANSWER_COLUMNS:
            out[c] = b[c].where(take_b, out[c])
    else:
        out.loc[take_b, ANSWER_COLUMNS] = b.loc[take_b, ANSWER_COLUMNS].to_numpy()
    out["at"] = pd.to_datetime(out["at"], utc=True)
    return out
