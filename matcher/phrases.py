"""Whole-word phrase search over normalised text, for lists of phrases that are data.

Context words beside marks (``matcher.context``), banned counterfeit wording and platform rules
(``matcher.banned``, ``matcher.listingrules``) are all lists of phrases in several languages,
compared after the normalisation marks get (case, accents, width, look-alike letters). One
Aho-Corasick automaton finds every phrase of a list in one pass: Latin phrases as whole words,
CJK phrases anywhere (CJK text runs its words together), and "1:1" (written "1 : 1", "1比1")
by a pattern of its own, since the colon is no part of a word.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

import ahocorasick

from matcher.normalize import TOKEN, Normalized, is_cjk, key_table

RATIO = re.compile(r"(?<![^\W_])1\s*[:：比]\s*1(?![^\W_])")  # "1:1", "1 : 1", "1比1"


class Hit(NamedTuple):
    """One phrase found: key offsets, the token range it covers, what it was registered with."""

    start: int
    end: int
    first: int  # index of the first token it covers
    last: int  # index one past the last token it covers
    cjk: bool
    payloads: tuple[Any, ...]


def words(phrase: str) -> str:
    """A phrase as the words of its key joined by one space, the form the search runs over."""
    return " ".join(TOKEN.findall(phrase.translate(key_table())))


class PhraseSet:
    """Phrases, each with a payload (several payloads may share a phrase), found in one pass."""

    def __init__(self, entries: Iterable[tuple[str, Any]]) -> None:
        grouped: dict[str, list[Any]] = {}
        self._ratio: list[Any] = []
        for phrase, payload in entries:
            if RATIO.fullmatch(phrase.strip()):
                self._ratio.append(payload)
                continue
            key = words(phrase)
            if key:
                grouped.setdefault(key, []).append(payload)
        self._automaton: ahocorasick.Automaton | None = None
        if grouped:
            automaton = ahocorasick.Automaton()
            for key, payloads in grouped.items():
                pattern = key if is_cjk(key[0]) or is_cjk(key[-1]) else f" {key} "
                automaton.add_word(pattern, (pattern, tuple(payloads)))
            automaton.make_automaton()
            self._automaton = automaton

    def find(self, n: Normalized) -> list[Hit]:
        """Every phrase in the normalised text ``n``, in the order they end."""
        found: list[Hit] = []
        if self._automaton is not None and n.words:
            stream = f" {' '.join(n.words)} "
            hits = list(self._automaton.iter(stream))
            if hits:
                starts = list(itertools.accumulate((len(w) + 1 for w in n.words[:-1]), initial=1))
                for end, (key, payloads) in hits:
                    begin, end = end - len(key) + 1, end + 1
                    if key[0] == " ":
                        begin, end = begin + 1, end - 1
                    first = bisect.bisect_right(starts, begin) - 1
                    last = bisect.bisect_right(starts, end - 1)
                    kstart = n.starts[first] + (begin - starts[first])
                    kend = n.ends[last - 1] - (starts[last - 1] + len(n.words[last - 1]) - end)
                    found.append(Hit(kstart, kend, first, last, key[0] != " ", payloads))
        if self._ratio and any(c in n.key for c in ":：比"):
            for m in RATIO.finditer(n.key):
                first = max(bisect.bisect_right(n.starts, m.start()) - 1, 0)
                last = bisect.bisect_left(n.starts, m.end())
                found.append(Hit(m.start(), m.end(), first, last, False, tuple(self._ratio)))
        return found
