"""What the words around a mark say: a mention of someone else's product, or a fake.

"Case compatible with iPhone" names Apple's mark to describe what the case fits: a mention, not
trademark use. "Replica Rolex" is the opposite: the signal words make a fake more certain. Both
only mean something next to a mark ("style" and "AAA" are innocent alone, and "compatible"
stands in 1% of ordinary titles), so this module answers questions about one mark occurrence.
The phrases are data (``matcher/data/context.toml``), several languages each.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections import defaultdict
from importlib import resources
from typing import NamedTuple

from matcher.normalize import Normalized
from matcher.phrases import PhraseSet, words

STRONG_WINDOW = 3  # words between a strong mention phrase and the mark
WEAK_FILLERS = 2  # articles allowed between a weak phrase ("for") and the mark
AFTER_WINDOW = 2  # words (model numbers) between the mark and a phrase after it
SIGNAL_WINDOW = 8  # words between a strong counterfeit word and the mark
WEAK_SIGNAL_WINDOW = 2
_BREAK = re.compile(r"[;|]|\.\s|[!?]")  # a sentence or list break ends a phrase's reach


class Phrase(NamedTuple):
    """One context phrase as found in a text: key offsets, its words' token range, its source."""

    text: str
    language: str
    start: int
    end: int
    first: int  # index of the first token it covers
    last: int  # index one past the last token it covers
    cjk: bool


KINDS = ("strong", "weak", "after", "fake", "fake_weak")


@functools.cache
def _data() -> tuple[PhraseSet, frozenset[str]]:
    """One phrase set over every kind's phrases in every language, each phrase carrying
    (kind, phrase, language), so one pass over a text finds them all; and the filler words."""
    raw = tomllib.loads((resources.files("matcher") / "data" / "context.toml").read_text("utf-8"))
    tables = dict(
        zip(
            KINDS,
            (
                raw["mention"]["before"]["strong"],
                raw["mention"]["before"]["weak"],
                raw["mention"]["after"],
                raw["counterfeit"]["strong"],
                raw["counterfeit"]["weak"],
            ),
            strict=True,
        )
    )
    entries: list[tuple[str, tuple[str, str, str]]] = [("1:1", ("fake", "1:1", ""))]
    seen: set[tuple[str, str]] = set()
    for kind, phrases in tables.items():
        for language, items in phrases.items():
            for p in items:
                key = words(p)
                if key and (kind, key) not in seen:
                    seen.add((kind, key))
                    entries.append((p, (kind, p, language)))
    return PhraseSet(entries), frozenset(words(w) for w in raw["filler"]["words"])


class Context:
    """The context phrases of one normalised text, found once and asked about many marks.

    Phrases are found by ``matcher.phrases``: whole words, except CJK phrases, which stand
    inside unsegmented text.
    """

    def __init__(self, n: Normalized) -> None:
        self.n = n
        self._found: dict[str, list[Phrase]] = {}
        self._searched = False
        self._any = False  # any phrase at all: most titles have none

    def phrases(self, kind: str) -> list[Phrase]:
        """The phrases of ``kind`` (one of ``KINDS``) in the text, in order."""
        if self._searched is False:
            self._find()
        return self._found.get(kind, [])

    def _find(self) -> None:
        found: dict[str, list[Phrase]] = defaultdict(list)
        self._found = found
        for hit in _data()[0].find(self.n):
            for kind, text, language in hit.payloads:
                found[kind].append(
                    Phrase(text, language, hit.start, hit.end, hit.first, hit.last, hit.cjk)
                )
        self._any = bool(found)
        self._searched = True

    def _between(self, end: int, start: int) -> str:
        return self.n.key[end:start]

    def mention(self, first: int, last: int, start: int, end: int) -> Phrase | None:
        """The phrase that makes the mark at tokens [first, last) (key [start, end)) a mention."""
        if self._searched is False:
            self._find()
        if not self._any:
            return None
        fillers = _data()[1]
        before = [
            p
            for p in self.phrases("strong")
            if p.end <= start
            and ((p.cjk and start - p.end <= 4) or first - p.last <= STRONG_WINDOW)
            and not _BREAK.search(self._between(p.end, start))
        ]
        before += [
            p
            for p in self.phrases("weak")
            if p.end <= start
            and len(self.n.words[p.last : first]) <= WEAK_FILLERS
            and all(w in fillers for w in self.n.words[p.last : first])
            and not _BREAK.search(self._between(p.end, start))
        ]
        if before:  # the nearest, and of phrases ending there the longest ("适用于", not "用于")
            return max(before, key=lambda p: (p.end, p.end - p.start))
        after = [
            p
            for p in self.phrases("after")
            if p.start >= end
            and ((p.cjk and p.start - end <= 4) or p.first - last <= AFTER_WINDOW)
            and not _BREAK.search(self._between(end, p.start))
        ]
        return min(after, key=lambda p: (p.start, p.start - p.end)) if after else None

    def counterfeit(self, first: int, last: int, start: int, end: int) -> list[Phrase]:
        """Counterfeit signal words near the mark at tokens [first, last) (key [start, end))."""
        if self._searched is False:
            self._find()
        near: list[Phrase] = []
        if not self._any:
            return near
        for kind, window in (("fake", SIGNAL_WINDOW), ("fake_weak", WEAK_SIGNAL_WINDOW)):
            for p in self.phrases(kind):
                if p.start < end and start < p.end:
                    continue  # the mark itself ("Clone Wars"), not a word beside it
                gap = max(0, p.first - last if p.start >= end else first - p.last)
                if gap <= window:
                    near.append(p)
        return near
