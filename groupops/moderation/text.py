"""Chinese-aware text matching for moderation: normalisation, word lists, links, personal data.

* :func:`normalise` folds full/half width (NFKC), case (``casefold``) and spacing: separators
  next to a CJK character are dropped (``加 微 信``, ``加.微.信`` → ``加微信``), other runs of
  whitespace become one space, zero-width characters go. Word lists are normalised the same way.
* :class:`WordMatcher` matches every word list at once with an Aho–Corasick automaton
  (pyahocorasick); a pattern made of ASCII letters/digits only matches as a whole word (``ass``
  does not match ``class``), a CJK pattern matches anywhere.
* :func:`links` finds URLs and bare domains; :func:`domain_allowed` checks a host against the
  policy's allowlist (a listed domain covers its subdomains).
* :func:`personal_data` finds mainland resident ID numbers with a valid check digit, birth date
  and region (``stdnum.cn.ric``), bank card numbers passing Luhn (``stdnum.luhn``) and mainland
  mobile numbers (``phonenumbers``); :func:`mask` hides them in snippets.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import ahocorasick
from stdnum import luhn
from stdnum.cn import ric

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# Separators a spammer puts between characters to dodge a word list.
_SEPARATORS = r"[\s._\-·•*|~/\\+=#^`'\"]"
_CJK = r"[\u2e80-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]"
_SEP_AFTER_CJK = re.compile(rf"(?<={_CJK}){_SEPARATORS}+")
_SEP_BEFORE_CJK = re.compile(rf"{_SEPARATORS}+(?={_CJK})")
_SPACES = re.compile(r"\s+")
_WORDISH = re.compile(r"^[a-z0-9 ]+$")


def normalise(text: str) -> str:
    """Width, case and spacing folded (see the module doc)."""
    folded = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH).casefold()
    folded = _SEP_AFTER_CJK.sub("", folded)
    folded = _SEP_BEFORE_CJK.sub("", folded)
    return _SPACES.sub(" ", folded).strip()


@dataclass(frozen=True, slots=True)
class WordHit:
    """One word-list match: the list it belongs to and the word as the policy spells it."""

    list_name: str
    word: str


class WordMatcher:
    """Every word of several named lists in one Aho–Corasick automaton."""

    def __init__(self, lists: Mapping[str, Iterable[str]]) -> None:
        self._automaton = ahocorasick.Automaton()
        entries: dict[str, list[tuple[str, str, bool]]] = {}
        for list_name, words in lists.items():
            for word in words:
                key = normalise(word)
                if key:
                    whole_word = bool(_WORDISH.match(key))
                    entries.setdefault(key, []).append((list_name, word, whole_word))
        for key, values in entries.items():
            self._automaton.add_word(key, (key, values))
        self._empty = not entries
        if not self._empty:
            self._automaton.make_automaton()

    def find(self, normalised: str) -> list[WordHit]:
        """The hits in an already :func:`normalise`-d text, each (list, word) once, in order."""
        if self._empty or not normalised:
            return []
        seen: dict[tuple[str, str], None] = {}
        for end, (key, values) in self._automaton.iter(normalised):
            start = end - len(key) + 1
            for list_name, word, whole_word in values:
                if whole_word and not _at_word_boundary(normalised, start, end):
                    continue
                seen.setdefault((list_name, word), None)
        return [WordHit(name, word) for name, word in seen]


def _at_word_boundary(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end + 1] if end + 1 < len(text) else " "
    return not (_is_ascii_alnum(before) or _is_ascii_alnum(after))


def _is_ascii_alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


# -- links ------------------------------------------------------------------------------------

_TLDS = "com|cn|net|org|top|xyz|vip|cc|io|me|info|link|club|shop|site|online|tv|co|biz|ltd|app|ly|gl|to|bet"
_URL = re.compile(r"(?i)\b(?:https?://|www\.)([^\s/?#:，。！？、；）)》<>\"']+)")
_BARE_DOMAIN = re.compile(
    rf"(?i)(?<![@\w.-])((?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+(?:{_TLDS}))(?![\w-])"
)


def links(text: str) -> list[str]:
    """Hosts of the URLs (``https://…``, ``www.…``) and bare domains (``abc.top``) in ``text``,
    lower-cased, in order, each once. E-mail addresses are not links."""
    folded = unicodedata.normalize("NFKC", text)
    hosts: dict[str, None] = {}
    for match in _URL.finditer(folded):
        host = match.group(1).lower().rstrip(".")
        if match.group(0).lower().startswith("www."):
            host = f"www.{host}"
        hosts.setdefault(host, None)
    stripped = _URL.sub(" ", folded)
    for match in _BARE_DOMAIN.finditer(stripped):
        hosts.setdefault(match.group(1).lower(), None)
    return list(hosts)


def domain_allowed(host: str, allowlist: Sequence[str]) -> bool:
    """``host`` is a listed domain or one of its subdomains (``docs.example.com`` under
    ``example.com``)."""
    host = host.lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    for domain in allowlist:
        d = domain.lower().strip().lstrip("*.").rstrip(".")
        if d and (host == d or host.endswith("." + d)):
            return True
    return False


# -- personal data ----------------------------------------------------------------------------

PersonalKind = Literal["resident_id", "bank_card", "mobile"]
PERSONAL_KINDS: tuple[PersonalKind, ...] = ("resident_id", "bank_card", "mobile")

_RIC = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx])(?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![\d-])(\d(?:[ -]?\d){15,18})(?![\d-])")
_MOBILE = re.compile(r"(?<![\d+])((?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d){8})(?!\d)")


@dataclass(frozen=True, slots=True)
class PersonalHit:
    kind: PersonalKind
    start: int
    end: int
    value: str  # as written


def _looks_like_id(digits: str) -> bool:
    """18 digits whose birth-date part is a date: an ID number, even with a wrong check
    digit — so never taken for a bank card."""
    if len(digits) != 18:
        return False
    year, month, day = int(digits[6:10]), int(digits[10:12]), int(digits[12:14])
    return 1900 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31


def personal_data(text: str, kinds: Iterable[PersonalKind] = PERSONAL_KINDS) -> list[PersonalHit]:
    """Valid resident IDs, bank cards and mobile numbers in ``text`` (width-folded), in order.

    An 18-digit number with a wrong check digit is not personal data; a 16–19 digit number is a
    card only when it passes Luhn and starts like a payment card (3–6); an 11-digit number is a
    mobile only when ``phonenumbers`` says it is a valid mainland mobile number."""
    wanted = set(kinds)
    folded = unicodedata.normalize("NFKC", text)
    hits: list[PersonalHit] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    id_shaped: list[tuple[int, int]] = []
    for m in _RIC.finditer(folded):
        value = m.group(1)
        id_shaped.append(m.span(1))
        if "resident_id" in wanted and ric.is_valid(value):
            hits.append(PersonalHit("resident_id", m.start(1), m.end(1), value))
            taken.append(m.span(1))
    for m in _CARD.finditer(folded):
        value = m.group(1)
        digits = re.sub(r"\D", "", value)
        if (
            "bank_card" in wanted
            and free(*m.span(1))
            and not (_looks_like_id(digits) or m.span(1) in id_shaped)
            and digits[0] in "3456"
            and luhn.is_valid(digits)
        ):
            hits.append(PersonalHit("bank_card", m.start(1), m.end(1), value))
            taken.append(m.span(1))
    if "mobile" in wanted:
        for m in _MOBILE.finditer(folded):
            if not free(*m.span(1)):
                continue
            import phonenumbers  # on the first mobile-shaped number: most texts hold none

            try:
                number = phonenumbers.parse(m.group(1), "CN")
            except phonenumbers.NumberParseException:
                continue
            mobile_types = (
                phonenumbers.PhoneNumberType.MOBILE,
                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
            )
            if (
                number.country_code == 86
                and phonenumbers.is_valid_number(number)
                and phonenumbers.number_type(number) in mobile_types
            ):
                hits.append(PersonalHit("mobile", m.start(1), m.end(1), m.group(1)))
                taken.append(m.span(1))
    return sorted(hits, key=lambda h: h.start)


def _masked(hit: PersonalHit) -> str:
    digits = re.sub(r"[^\dXx]", "", hit.value)
    if hit.kind == "resident_id":
        return digits[:6] + "*" * 8 + digits[-4:]
    if hit.kind == "bank_card":
        return "*" * (len(digits) - 4) + digits[-4:]
    return digits[:-8] + "****" + digits[-4:]


def mask(text: str) -> str:
    """``text`` (width-folded) with every personal-data hit masked: 110105********002X,
    ************1234, 138****5678."""
    folded = unicodedata.normalize("NFKC", text)
    out, last = [], 0
    for hit in personal_data(folded):
        out.append(folded[last : hit.start])
        out.append(_masked(hit))
        last = hit.end
    out.append(folded[last:])
    return "".join(out)


def snippet(text: str, limit: int = 60) -> str:
    """A short, single-line, masked snippet of ``text``."""
    one_line = " ".join(mask(text).split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"
