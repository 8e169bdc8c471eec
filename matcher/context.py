"""What the words around a mark say: a mention of someone else's product, or a fake.

"Case compatible with iPhone" names Apple's mark to describe what the case fits: a mention, not
trademark use. "Replica Rolex" is the opposite: the signal words make a fake more certain. Both
only mean something next to a mark ("style" and "AAA" are innocent alone, and "compatible"
stands in 1% of ordinary titles), so this module answers questions about one mark occurrence.
The phrases are data (``matcher/data/context.toml``), several languages each.
"""

from __future__ import annotations

import bisect
import functools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import ahocorasick

from matcher.normalize import TOKEN, Normalized, is_cjk, key_table

STRONG_WINDOW = 3  # words between a strong mention phrase and the mark
WEAK_FILLERS = 2  # articles allowed between a weak phrase ("for") and the mark
AFTER_WINDOW = 2  # words (model numbers) between the mark and a phrase after it
SIGNAL_WINDOW = 8  # words between a strong counterfeit word and the mark
WEAK_SIGNAL_WINDOW = 2
_BREAK = re.compile(r"[;|]|\.\s|[!?]")  # a sentence or list break ends a phrase's reach


@dataclass(frozen=True)
class Phrase:
    """One context phrase as found in a text: key offsets, its words' token range, its source."""

    text: str
    language: str
    start: int
    end: int
    first: int  # index of the first token it covers
    last: int  # index one past the last token it covers
    cjk: bool


def _words(phrase: str) -> str:
    """A phrase as the words of its key joined by one space, the form of ``Context``'s stream."""
    return " ".join(TOKEN.findall(phrase.translate(key_table())))


def _automaton(phrases: dict[str, list[str]]) -> ahocorasick.Automaton:
    """One automaton over every language's phrases: word key -> (phrase, language)."""
    automaton = ahocorasick.Automaton()
    for language, items in phrases.items():
        for p in items:
            key = _words(p)
            if key and key not in automaton:
                automaton.add_word(key, (p, language, key))
    automaton.make_automaton()
    return automaton


@functools.cache
def _data() -> dict[str, Any]:
    raw = tomllib.loads((resources.files("matcher") / "data" / "context.toml").read_text("utf-8"))
    return {
        "strong": _automaton(raw["mention"]["before"]["strong"]),
        "weak": _automaton(raw["mention"]["before"]["weak"]),
        "after": _automaton(raw["mention"]["after"]),
        "fake": _automaton(raw["counterfeit"]["strong"]),
        "fake_weak": _automaton(raw["counterfeit"]["weak"]),
        "filler": frozenset(_words(w) for w in raw["filler"]["words"]),
    }


_RATIO = re.compile(r"(?<![^\W_])1\s*[:：比]\s*1(?![^\W_])")  # "1:1", "1 : 1", "1比1"


class Context:
    """The context phrases of one normalised text, found once and asked about many marks.

    Phrases are found by Aho-Corasick over the text's words joined by single spaces, and must
    start and end on word boundaries, except CJK phrases, which stand inside unsegmented text.
    """

    def __init__(self, n: Normalized) -> None:
        self.n = n
        self._found: dict[str, list[Phrase]] = {}
        stream, starts = [], []
        pos = 0
        for t in n.tokens:
            starts.append(pos)
            stream.append(t.text)
            pos += len(t.text) + 1
        self._stream = " ".join(stream)
        self._starts = starts

    def phrases(self, kind: str) -> list[Phrase]:
        if kind in self._found:
            return self._found[kind]
        toks, starts, stream = self.n.tokens, self._starts, self._stream
        found = []
        if toks:
            for end, (text, language, key) in _data()[kind].iter(stream):
                begin, end = end - len(key) + 1, end + 1
                first = bisect.bisect_right(starts, begin) - 1
                last = bisect.bisect_right(starts, end - 1)
                cjk_left, cjk_right = is_cjk(key[0]), is_cjk(key[-1])
                if begin != starts[first] and not cjk_left:
                    continue
                if end != starts[last - 1] + len(toks[last - 1].text) and not cjk_right:
                    continue
                kstart = toks[first].start + (begin - starts[first])
                kend = toks[last - 1].end - (starts[last - 1] + len(toks[last - 1].text) - end)
                found.append(Phrase(text, language, kstart, kend, first, last, cjk_left))
        if kind == "fake":
            for m in _RATIO.finditer(self.n.key):
                first = max(bisect.bisect_right([t.start for t in toks], m.start()) - 1, 0)
                last = bisect.bisect_left([t.start for t in toks], m.end())
                found.append(Phrase("1:1", "", m.start(), m.end(), first, last, False))
        self._found[kind] = found
        return found

    def _between(self, end: int, start: int) -> str:
        return self.n.key[end:start]

    def mention(self, first: int, last: int, start: int, end: int) -> Phrase | None:
        """The phrase that makes the mark at tokens [first, last) (key [start, end)) a mention."""
        fillers: frozenset[str] = _data()["filler"]
        for p in reversed(self.phrases("strong")):
            near = (p.cjk and start - p.end <= 4) or first - p.last <= STRONG_WINDOW
            if p.end <= start and near and not _BREAK.search(self._between(p.end, start)):
                return p
        for p in reversed(self.phrases("weak")):
            if p.end <= start and not _BREAK.search(self._between(p.end, start)):
                between = [t.text for t in self.n.tokens[p.last : first]]
                if len(between) <= WEAK_FILLERS and all(w in fillers for w in between):
                    return p
        for p in self.phrases("after"):
            near = (p.cjk and p.start - end <= 4) or p.first - last <= AFTER_WINDOW
            if p.start >= end and near and not _BREAK.search(self._between(end, p.start)):
                return p
        return None

    def counterfeit(self, first: int, last: int, start: int, end: int) -> list[Phrase]:
        """Counterfeit signal words near the mark at tokens [first, last) (key [start, end))."""
        near = []
        for kind, window in (("fake", SIGNAL_WINDOW), ("fake_weak", WEAK_SIGNAL_WINDOW)):
            for p in self.phrases(kind):
                if p.start < end and start < p.end:
                    continue  # the mark itself ("Clone Wars"), not a word beside it
                gap = max(0, p.first - last if p.start >= end else first - p.last)
                if gap <= window:
                    near.append(p)
        return near
