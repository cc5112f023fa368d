"""Detection (rulebook ch. 6): messages in, :class:`Detection` records out — pure functions.

Per message, the word lists and patterns of the policy's ``[moderation]`` section give at most
one *message-level* violation, of the most serious category it matches (:data:`PRECEDENCE`);
every rule it hit is named in ``matched``. Two behaviours span several messages:

* ``flood``: more than ``flood_messages`` messages from one member in one group within
  ``flood_window_seconds``. Every window that holds too many is found; overlapping windows make
  **one** violation whose evidence is all their messages.
* ``duplicate``: the same normalised text (at least ``duplicate_min_chars`` long) posted again
  by the same member in the same group within ``duplicate_window_minutes`` of the previous copy;
  one violation per chain of copies (evidence: all of them). Copies that are already a
  message-level violation (a reposted ad) are left to that.

System messages are never violations. ``at`` is the time of the last evidence message: the
moment the violation was complete.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, get_args

from groupops.moderation.text import (
    WordMatcher,
    domain_allowed,
    links,
    normalise,
    personal_data,
    snippet,
)
from groupops.policy import Moderation, ModerationCategory

if TYPE_CHECKING:  # pandas and numpy on use: listing the violations needs neither
    import numpy as np
    import pandas as pd

# The categories are the policy's (one list): `ModerationCategory` in groupops.policy.
CATEGORIES: Final[tuple[str, ...]] = get_args(ModerationCategory)
#: Message-level categories, most serious first: a message is one violation of the first.
PRECEDENCE: Final[tuple[str, ...]] = ("illegal", "confidential", "ad", "vulgar", "rumour")

#: The rule names a detection may carry.
RULES: Final[dict[str, str]] = {
    "illegal_words": "illegal",
    "confidential_markers": "confidential",
    "resident_id": "confidential",
    "bank_card": "confidential",
    "mobile": "confidential",
    "ad_words": "ad",
    "link_domain": "ad",
    "vulgar_words": "vulgar",
    "rumour_words": "rumour",
    "flood": "flood",
    "duplicate": "duplicate",
}
_WORD_LISTS: Final[dict[str, str]] = {
    "illegal_words": "illegal_words",
    "confidential_markers": "confidential_markers",
    "ad_words": "ad_words",
    "vulgar_words": "vulgar_words",
    "rumour_words": "rumour_words",
}


@dataclass(frozen=True)
class Detection:
    """One violation found in messages: its rule (the first that applied), the evidence and
    what matched (words as the policy spells them, ``link:host``, ``resident_id`` …)."""

    platform: str
    group_id: str
    member_id: str
    category: str
    rule: str
    message_ids: tuple[str, ...]
    at: datetime
    matched: tuple[str, ...] = ()
    snippet: str = ""
    evidence_key: str = field(default="")

    def __post_init__(self) -> None:
        if not self.evidence_key:
            object.__setattr__(self, "evidence_key", f"msg:{self.message_ids[0]}")


@dataclass(frozen=True)
class MessageHits:
    """What one text matched: ``{category: [(rule, matched), …]}``."""

    by_category: dict[str, list[tuple[str, str]]]

    @property
    def category(self) -> str | None:
        for category in PRECEDENCE:
            if self.by_category.get(category):
                return category
        return None

    def rule(self) -> str:
        category = self.category
        assert category is not None
        return self.by_category[category][0][0]

    def matched(self) -> tuple[str, ...]:
        out: dict[str, None] = {}
        for category in PRECEDENCE:
            for _rule, what in self.by_category.get(category, []):
                out.setdefault(what, None)
        return tuple(out)


class MessageRules:
    """The policy's message-level rules, compiled once (one Aho–Corasick automaton)."""

    def __init__(self, policy: Moderation) -> None:
        self.policy = policy
        self.matcher = WordMatcher(
            {name: getattr(policy, attr) for name, attr in _WORD_LISTS.items()}
        )
        self._checked: dict[str, MessageHits] = {}

    def check(self, text: str) -> MessageHits:
        """What ``text`` matched (the same text is checked once: the answer is a pure function
        of the text and these rules)."""
        known = self._checked.get(text)
        if known is None:
            if len(self._checked) >= _CHECKED_LIMIT:
                self._checked.clear()
            known = self._checked[text] = self._check(text)
        return known

    def _check(self, text: str) -> MessageHits:
        hits: dict[str, list[tuple[str, str]]] = {}
        for hit in self.matcher.find(normalise(text)):
            hits.setdefault(RULES[hit.list_name], []).append((hit.list_name, hit.word))
        for host in links(text):
            if not domain_allowed(host, self.policy.link_allowlist):
                hits.setdefault("ad", []).append(("link_domain", f"link:{host}"))
        for found in personal_data(text, self.policy.personal_data):
            hits.setdefault("confidential", []).append((found.kind, found.kind))
        return MessageHits(hits)


#: The rules of each policy seen in this process, with the texts they already checked (a
#: catch-up runs detection once per working day over the same ladder window).
_RULES: dict[str, MessageRules] = {}
_CHECKED_LIMIT = 200_000  # texts remembered per policy; beyond it the memo starts over


_NORMALISED: dict[str, str] = {}


def _normalised(text: str) -> str:
    """:func:`normalise` of ``text``, remembered (a pure function of the text; the catch-up
    folds the same window's texts once per run otherwise)."""
    known = _NORMALISED.get(text)
    if known is None:
        if len(_NORMALISED) >= _CHECKED_LIMIT:
            _NORMALISED.clear()
        known = _NORMALISED[text] = normalise(text)
    return known


def message_rules(policy: Moderation) -> MessageRules:
    """The compiled rules of ``policy`` (compiled once per process per policy content)."""
    key = policy.model_dump_json()
    rules = _RULES.get(key)
    if rules is None:
        rules = _RULES[key] = MessageRules(policy)
    return rules


MESSAGE_COLUMNS: Final[tuple[str, ...]] = (
    "platform",
    "group_id",
    "message_id",
    "sender_id",
    "sent_at",
    "kind",
    "text",
)


def detect(messages: pd.DataFrame, policy: Moderation) -> list[Detection]:
    """Every violation in ``messages`` (a frame with :data:`MESSAGE_COLUMNS`; ``sent_at``
    timezone-aware), ordered by (``at``, group, member, category)."""
    import pandas as pd

    if messages.empty:
        return []
    frame = messages.loc[messages["kind"] != "system", list(MESSAGE_COLUMNS)].copy()
    frame["sent_at"] = pd.to_datetime(frame["sent_at"], utc=True)
    frame["text"] = frame["text"].fillna("").astype(str)
    frame = frame.sort_values(["platform", "group_id", "sent_at", "message_id"]).reset_index(
        drop=True
    )
    found = _message_level(frame, message_rules(policy))
    flagged = {(d.platform, d.group_id, d.message_ids[0]) for d in found}
    found += _floods(frame, policy)
    found += _duplicates(frame, policy, flagged)
    return sorted(found, key=lambda d: (d.at, d.platform, d.group_id, d.member_id, d.category))


def _message_level(frame: pd.DataFrame, rules: MessageRules) -> list[Detection]:
    import pandas as pd

    out: list[Detection] = []
    texts = frame["text"].tolist()
    for i, text in enumerate(texts):
        if not text:
            continue
        hits = rules.check(text)
        category = hits.category
        if category is None:
            continue
        row = frame.iloc[i]
        out.append(
            Detection(
                platform=str(row["platform"]),
                group_id=str(row["group_id"]),
                member_id=str(row["sender_id"]),
                category=category,
                rule=hits.rule(),
                message_ids=(str(row["message_id"]),),
                at=pd.Timestamp(row["sent_at"]).to_pydatetime(),
                matched=hits.matched(),
                snippet=snippet(text),
            )
        )
    return out


def flood_runs(
    times_s: Sequence[float] | np.ndarray[Any, Any], limit: int, window_s: float
) -> list[tuple[int, int]]:
    """Index ranges ``[start, end]`` (inclusive) of floods in sorted times (seconds): every
    window of length ``window_s`` holding more than ``limit`` messages, overlapping ones merged."""
    import numpy as np

    t = np.asarray(times_s, dtype="float64")
    runs: list[tuple[int, int]] = []
    j = 0
    for i in range(len(t)):
        j = max(j, i)
        while j + 1 < len(t) and t[j + 1] - t[i] <= window_s:
            j += 1
        if j - i + 1 > limit:
            if runs and i <= runs[-1][1]:
                runs[-1] = (runs[-1][0], max(runs[-1][1], j))
            else:
                runs.append((i, j))
    return runs


def _floods(frame: pd.DataFrame, policy: Moderation) -> list[Detection]:
    import pandas as pd

    out: list[Detection] = []
    keys = ["platform", "group_id", "sender_id"]
    # Only members with more messages than the limit can flood: the others' groups are never
    # iterated (a sub-frame per member was most of the work).
    sizes = frame.groupby(keys, sort=False)["message_id"].transform("size")
    for (platform, group_id, member_id), part in frame[sizes > policy.flood_messages].groupby(
        keys, sort=True
    ):
        epoch = pd.Timestamp(0, tz="UTC")
        times = (part["sent_at"] - epoch).dt.total_seconds().to_numpy()  # any resolution
        for start, end in flood_runs(times, policy.flood_messages, policy.flood_window_seconds):
            run = part.iloc[start : end + 1]
            ids = tuple(str(m) for m in run["message_id"])
            out.append(
                Detection(
                    platform=str(platform),
                    group_id=str(group_id),
                    member_id=str(member_id),
                    category="flood",
                    rule="flood",
                    message_ids=ids,
                    at=pd.Timestamp(run["sent_at"].iloc[-1]).to_pydatetime(),
                    matched=(f"{len(ids)} messages",),
                    snippet=snippet(" / ".join(t for t in run["text"].head(5) if t)),
                )
            )
    return out


def _duplicates(
    frame: pd.DataFrame, policy: Moderation, flagged: Iterable[tuple[str, str, str]]
) -> list[Detection]:
    import pandas as pd

    skip = set(flagged)
    texts = frame.loc[frame["kind"].isin(["text", "link"])].copy()
    texts["norm"] = texts["text"].map(_normalised)
    texts = texts[texts["norm"].str.len() >= policy.duplicate_min_chars]
    window = pd.Timedelta(minutes=policy.duplicate_window_minutes)
    by = ["platform", "group_id", "sender_id", "norm"]
    # Only a text the same member wrote twice can be a duplicate: the unique ones (nearly
    # all) are never iterated as groups of one.
    texts = texts[texts.duplicated(by, keep=False)]
    out: list[Detection] = []
    for (platform, group_id, member_id, _norm), part in texts.groupby(by, sort=True):
        times = part["sent_at"].tolist()
        message_ids = [str(m) for m in part["message_id"].tolist()]
        chain: list[int] = [0]
        chains: list[list[int]] = []
        for k in range(1, len(part)):
            if times[k] - times[chain[-1]] <= window:
                chain.append(k)
            else:
                chains.append(chain)
                chain = [k]
        chains.append(chain)
        for chain in chains:
            if len(chain) < 2:
                continue
            ids = tuple(message_ids[i] for i in chain)
            if all((str(platform), str(group_id), m) in skip for m in ids[1:]):
                continue
            out.append(
                Detection(
                    platform=str(platform),
                    group_id=str(group_id),
                    member_id=str(member_id),
                    category="duplicate",
                    rule="duplicate",
                    message_ids=ids,
                    at=pd.Timestamp(times[chain[-1]]).to_pydatetime(),
                    matched=(f"{len(ids)} copies",),
                    snippet=snippet(str(part["text"].iat[chain[0]])),
                )
            )
    return out
