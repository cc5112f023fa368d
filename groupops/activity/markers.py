"""Marker words in message texts (tasks, meeting notices and minutes): one regex rule for
the frame and row engines, without pandas."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence


def marker_regex(words: Sequence[str]) -> str:
    """A case-insensitive alternation of ``words``; ASCII words only match as whole words
    (``ok`` does not match ``book``)."""
    alts = []
    for word in sorted(set(words), key=len, reverse=True):
        pat = re.escape(word)
        if re.match(r"\w", word, re.ASCII):
            pat = r"(?<![A-Za-z0-9])" + pat
        if re.search(r"\w$", word, re.ASCII):
            pat = pat + r"(?![A-Za-z0-9])"
        alts.append(pat)
    return "(?i:" + "|".join(alts) + ")"


def marker_search(words: Sequence[str]) -> Callable[[str], bool]:
    """Whether a text holds one of ``words`` (:func:`marker_regex`; never, without words): the
    row engines' test for one message, as ``answers.contains_marker`` is the frames'."""
    if not words:
        return lambda _text: False
    search = re.compile(marker_regex(words)).search
    return lambda text: search(text) is not None
