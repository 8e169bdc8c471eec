"""Word-mark detection: the owner's marks in a text, however disguised, and how they were.

Three ways in, each recorded in the match (``detail["how"]``):

- **exact** — Aho-Corasick over the text's comparison key (``matcher.normalize``: NFKC, TR39
  skeleton, accents, zero-width characters, leetspeak, look-alike letter pairs), with the tokens
  concatenated so that a mark spread over tokens ("N i k e", "Sam-sung", "Go Pro") is found too.
  A match must start and end on token boundaries, except beside CJK characters (unsegmented text:
  小米 inside 小米手机) and, for marks of five letters or more, glued to one end of a longer
  word that is not itself a common word ("nikeshoes").
- **typo** — optimal-string-alignment distance (a substitution, insertion, deletion or adjacent
  transposition is one edit) between each token, or two or three adjacent tokens glued, and
  every Latin-script mark, within a budget that grows with the mark's length (0 edits up to 3
  letters, 1 up to 7, 2 from 8; ``MarkSpec.max_edits`` overrides). A token that is a common word
  of the text's languages (wordfreq, Zipf >= ``common_zipf``) is never a typo of a mark: "rose"
  is not "Bose", "logo" is not "Lego" — but "Lego" itself still is.
- **phonetic** — the same Metaphone code (jellyfish) for marks of five letters or more, within 3
  edits, not a common word: "Roleks", "Fillips". Shorter codes collide with too many words.

Then the words around it decide the kind (``matcher.context``): after "compatible with" or
"for" the mark is a ``mention``; counterfeit signal words, a seller name that imitates the mark,
a price far below the owner's list price, a disguise or mixed scripts raise ``severity``.
Scores are calibrated so that 0.5 decides; all measured in ``bench/text.py``.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ahocorasick
import jellyfish
import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from matcher.context import Context
from matcher.normalize import (
    LEET_SYMBOLS,
    Normalized,
    is_cjk,
    key_table,
    normalize,
    scripts,
    spread_runs,
    unleet,
)
from matcher.prices import price_signal
from matcher.textresult import TextMatch

MAX_CHARS = 100_000  # marks are looked for in the first 100,000 characters of a text
MAX_GLUE = 3  # words of a multi-word mark glued into one unit for typo matching
_GLUE_GAP = re.compile(r"\s*[-.'_/]?\s*")
CACHE_LIMIT = 400_000  # units remembered between texts before the cache starts afresh

SCORES = {"exact": 0.99, "normalised": 0.95, "split": 0.9, "embedded": 0.75, "phonetic": 0.6}


def edit_budget(letters: int) -> int:
    """Edits a typo of a mark this long may have: 0 up to 3 letters, 1 up to 7, 2 from 8.

    >>> [edit_budget(n) for n in (3, 4, 7, 8)]
    [0, 1, 1, 2]
    """
    return 0 if letters <= 3 else 1 if letters <= 7 else 2


def typo_score(edits: int, letters: int) -> float:
    """0.9 for a typo of one edit in ten letters, falling with the share of letters changed."""
    return max(0.55, 0.9 - 0.8 * edits / max(letters, 1))


@dataclass(frozen=True)
class MarkSpec:
    """A word mark to look for: its text, its spellings in other scripts, its typo budget."""

    text: str
    aliases: tuple[str, ...] = ()
    max_edits: int | None = None
    asset_id: int | None = None
    list_price: str | None = None  # the owner's lowest list price, e.g. "52 USD"


@dataclass(frozen=True)
class MarkOptions:
    """Tunables with the defaults measured in bench/text.py."""

    languages: tuple[str, ...] = ("en",)
    common_zipf: float = 3.0
    phonetic_min_letters: int = 5
    low_price_ratio: float = 0.5


@dataclass(frozen=True)
class _Spelling:
    mark: int
    text: str
    key: str
    soft: str  # the key without l -> i, for typo distances
    words: int
    latin: bool
    budget: int
    phonetic: str | None
    digits: bool


@dataclass
class TextAnalysis:
    """All a text says about the owner's marks: the matches, and signals that stand alone."""

    matches: list[TextMatch]
    signals: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Candidate:
    spelling: _Spelling
    first: int
    last: int
    edits: int
    how: str
    score: float
    inner: tuple[int, int] | None = None  # key offsets of a match inside a CJK token


@functools.cache
def common_words(language: str, zipf: float) -> frozenset[str]:
    """Words of ``language`` at or above ``zipf`` (wordfreq), as comparison keys."""
    import wordfreq

    try:
        freqs = wordfreq.get_frequency_dict(language)
    except (LookupError, ValueError):
        return frozenset()
    floor = 10 ** (zipf - 9)
    table = key_table()
    return frozenset(w.translate(table) for w, f in freqs.items() if f >= floor)


class MarkMatcher:
    """Finds the given marks in texts. Build once per set of marks; ``find`` is thread-unsafe
    only in its cache (one matcher per process)."""

    def __init__(self, marks: Sequence[MarkSpec], *, options: MarkOptions | None = None) -> None:
        self.marks = list(marks)
        self.options = options or MarkOptions()
        self._spellings: list[_Spelling] = []
        seen: set[str] = set()
        for i, m in enumerate(self.marks):
            for text in (m.text, *m.aliases):
                n = normalize(text)
                key = "".join(t.folded for t in n.tokens)
                soft = "".join(t.soft for t in n.tokens)
                if not key or key in seen:
                    continue
                seen.add(key)
                latin = key.isascii() and any(c.isalpha() for c in key)
                letters = sum(c.isalnum() for c in key)
                budget = edit_budget(letters) if m.max_edits is None else m.max_edits
                code = jellyfish.metaphone(soft) if latin else ""
                phonetic = (
                    code
                    if latin and letters >= self.options.phonetic_min_letters and len(code) >= 3
                    else None
                )
                digits = any(c.isdigit() for c in text)
                if digits:  # "3M": compared as typed, digits and all
                    key = "".join(t.text for t in n.tokens)
                self._spellings.append(
                    _Spelling(
                        i,
                        text,
                        key,
                        soft,
                        len(n.tokens),
                        latin,
                        budget if latin else 0,
                        phonetic,
                        digits,
                    )
                )
        self._automata = {}
        for digits in (False, True):
            spellings = [s for s in self._spellings if s.digits == digits]
            if not spellings:
                continue
            automaton = ahocorasick.Automaton()
            for s in spellings:
                automaton.add_word(s.key, s)
            automaton.make_automaton()
            self._automata[digits] = automaton
        fuzzy = [s for s in self._spellings if s.latin and s.budget > 0 and not s.digits]
        self._fuzzy = fuzzy
        self._fuzzy_keys = [s.soft for s in fuzzy]
        self._fuzzy_budget = np.array([s.budget for s in fuzzy], dtype=np.int32)
        self._fuzzy_length = np.array([len(s.soft) for s in fuzzy], dtype=np.int32)
        self._max_budget = int(self._fuzzy_budget.max()) if fuzzy else 0
        self._glue = sorted({min(s.words, MAX_GLUE) for s in fuzzy if s.words > 1})
        self._phonetic: dict[str, list[_Spelling]] = {}
        for s in self._spellings:
            if s.phonetic:
                self._phonetic.setdefault(s.phonetic, []).append(s)
        self._cache: dict[str, tuple[tuple[_Spelling, int, str], ...]] = {}

    # -- public ---------------------------------------------------------------------------------

    def find(self, text: str, **kwargs: Any) -> list[TextMatch]:
        """The marks in ``text``, best first (keywords as for ``analyse``)."""
        return self.analyse(text, **kwargs).matches

    def find_many(
        self, texts: Sequence[str], *, language: str | None = None
    ) -> list[list[TextMatch]]:
        """``find`` for many texts, with the typo search of all their words done in one pass."""
        normed = [normalize(t[:MAX_CHARS]) for t in texts]
        units = [self._units(n) for n in normed]
        self._fill([u for us in units for _, _, u in us])
        return [
            self._analyse(n, us, language=language).matches
            for n, us in zip(normed, units, strict=True)
        ]

    def analyse(
        self,
        text: str,
        *,
        language: str | None = None,
        seller: str | None = None,
        price: str | float | None = None,
        list_price: str | None = None,
    ) -> TextAnalysis:
        """Matches and stand-alone signals of one text.

        ``seller`` is the seller's display name (a name that imitates a mark is impersonation);
        ``price`` the listing's price as shown ("$12.99"); ``list_price`` the owner's list price
        to compare it with (default: the mark's ``MarkSpec.list_price``).
        """
        n = normalize(text[:MAX_CHARS])
        units = self._units(n)
        self._fill([u for _, _, u in units])
        result = self._analyse(n, units, language=language)
        if seller:
            self._seller_signals(result, seller, language)
        if price is not None:
            self._price_signals(result, price, list_price)
        if seller or price is not None:
            for m in result.matches:
                m.detail["severity"] = _severity(m)
        return result

    # -- units and the typo cache ----------------------------------------------------------------

    def _units(self, n: Normalized) -> list[tuple[int, int, str]]:
        """(first token, last token + 1, soft-folded text) of every word and spread-out run,
        and of every window of as many words as a multi-word mark has ("Hewlet Packard").

        A mark split over words without a typo ("Sam sung", "ni-ke") is found exactly, by the
        automaton over the joined tokens; only words with letters are typo candidates, so model
        numbers ("gx301") are not.
        """
        toks = n.tokens
        units = []
        for i, t in enumerate(toks):
            unit = t.soft
            if len(unit) >= 3 and unit.isascii() and unit.isalpha():
                units.append((i, i + 1, unit))
        if self._glue:
            key = n.key
            for i in range(len(toks)):
                for size in self._glue:
                    window = toks[i : i + size]
                    if len(window) < size or not all(
                        t.soft.isascii() and t.soft.isalpha() for t in window
                    ):
                        break
                    gaps = (key[a.end : b.start] for a, b in itertools.pairwise(window))
                    if not all(g == " " or _GLUE_GAP.fullmatch(g) for g in gaps):
                        break
                    units.append((i, i + size, "".join(t.soft for t in window)))
        for a, b in spread_runs(n):
            units.append((a, b, "".join(t.soft for t in toks[a:b])))
        return units

    def _fill(self, units: Iterable[str]) -> None:
        """Typo and phonetic hits of every unit not yet cached, in one distance-matrix pass."""
        missing = list({u for u in units if u not in self._cache})
        if not missing:
            return
        if len(self._cache) + len(missing) > CACHE_LIMIT:
            self._cache.clear()
        hits: dict[str, list[tuple[_Spelling, int, str]]] = {}
        by_length: dict[int, list[str]] = {}
        for u in missing:
            by_length.setdefault(len(u), []).append(u)
        for length, part in by_length.items():
            # A mark farther in length than its budget cannot be within it: compare the rest.
            cols = np.flatnonzero(np.abs(self._fuzzy_length - length) <= self._fuzzy_budget)
            if not len(cols):
                continue
            keys = [self._fuzzy_keys[c] for c in cols]
            budget = self._fuzzy_budget[cols]
            for chunk in range(0, len(part), 20_000):
                units = part[chunk : chunk + 20_000]
                dist = process.cdist(
                    units, keys, scorer=OSA.distance,
                    score_cutoff=self._max_budget, dtype=np.int32, workers=1,
                )  # fmt: skip
                rows, found = np.nonzero((dist <= budget[None, :]) & (dist > 0))
                for r, c in zip(rows.tolist(), found.tolist(), strict=True):
                    spelling = self._fuzzy[int(cols[c])]
                    hits.setdefault(units[r], []).append((spelling, int(dist[r, c]), "typo"))
        if self._phonetic:
            for u in missing:
                if len(u) < 4 or not u.isascii():
                    continue
                for s in self._phonetic.get(jellyfish.metaphone(u), ()):
                    d = OSA.distance(u, s.soft, score_cutoff=3)
                    if s.budget < d <= 3:
                        hits.setdefault(u, []).append((s, d, "phonetic"))
        self._cache.update(dict.fromkeys(missing, ()))
        for u, h in hits.items():
            self._cache[u] = tuple(h)

    # -- one text --------------------------------------------------------------------------------

    def _common(self, word: str, language: str | None) -> bool:
        langs = (language,) if language else self.options.languages
        return any(word in common_words(lang, self.options.common_zipf) for lang in langs)

    def _exact(self, n: Normalized, language: str | None) -> list[_Candidate]:
        toks = n.tokens
        found: list[_Candidate] = []
        for digits, automaton in self._automata.items():
            parts = [t.text if digits else t.folded for t in toks]
            starts, pos = [], 0
            for p in parts:
                starts.append(pos)
                pos += len(p)
            compact = "".join(parts)
            for end, s in automaton.iter(compact):
                start, end = end - len(s.key) + 1, end + 1
                first = bisect.bisect_right(starts, start) - 1
                last = bisect.bisect_right(starts, end - 1)
                left = start == starts[first]
                right = end == starts[last - 1] + len(parts[last - 1])
                how = "exact"
                if not (left or is_cjk(s.key[0])) or not (right or is_cjk(s.key[-1])):
                    if not s.latin or len(s.key) < 5 or last - first != 1 or not (left or right):
                        continue
                    if self._common(unleet(toks[first].text), language):
                        continue
                    how = "embedded"
                if last - first > 1 and not self._joinable(n, first, last, s.words):
                    continue
                inner = None
                if not (left and right) and how == "exact":  # inside unsegmented CJK text
                    a, b = toks[first], toks[last - 1]
                    inner = (
                        a.start + (start - starts[first]) if a.folded == a.text else a.start,
                        b.end - (starts[last - 1] + len(parts[last - 1]) - end)
                        if b.folded == b.text
                        else b.end,
                    )
                found.append(_Candidate(s, first, last, 0, how, 0.0, inner))
        return found

    def _joinable(self, n: Normalized, first: int, last: int, words: int) -> bool:
        """Tokens [first, last) can be one spread-out or split mark of ``words`` words."""
        toks = n.tokens
        for k in range(first + 1, last):
            gap = n.key[toks[k - 1].end : toks[k].start]
            if len(gap) > 3 or not re.fullmatch(r"[\s.\-_*·•/+~']*", gap):
                return False
        singles = all(len(t.text) == 1 for t in toks[first:last])
        return singles or last - first <= words + MAX_GLUE - 1

    def _analyse(
        self, n: Normalized, units: list[tuple[int, int, str]], *, language: str | None
    ) -> TextAnalysis:
        toks = n.tokens
        cands = self._exact(n, language)
        for first, last, unit in units:
            for s, edits, how in self._cache.get(unit, ()):
                raw = "".join(unleet(t.text) for t in toks[first:last])
                if self._common(raw, language) or self._common(unit, language):
                    continue
                if last - first > 1 and all(
                    self._common(t.text, language) for t in toks[first:last]
                ):
                    continue
                cands.append(_Candidate(s, first, last, edits, how, 0.0))
        for c in cands:
            c.score = self._score(c)
        chosen: list[_Candidate] = []
        taken: set[int] = set()
        for c in sorted(cands, key=lambda c: (-c.score, -(c.last - c.first), c.first)):
            span = set(range(c.first, c.last))
            if span & taken:
                continue
            taken |= span
            chosen.append(c)
        chosen.sort(key=lambda c: c.first)
        matches: list[TextMatch] = []
        previous: tuple[_Candidate, str] | None = None
        ctx = Context(n) if chosen else None
        for c in chosen:
            match, kind = self._match(n, ctx, c, previous)  # type: ignore[arg-type]
            match.detail["severity"] = _severity(match)
            matches.append(match)
            previous = (c, kind)
        signals = [
            {
                "signal": "mixed_script",
                "token": n.original[a:b],
                "scripts": sorted(sc),
                "span": [a, b],
            }
            for a, b, sc in _mixed_script_tokens(n)
        ]
        matches.sort(key=lambda m: (-m.score, m.span[0]))
        return TextAnalysis(matches, signals)

    def _score(self, c: _Candidate) -> float:
        if c.how == "typo":
            return typo_score(c.edits, len(c.spelling.key))
        if c.how in ("phonetic", "embedded"):
            return SCORES[c.how]
        return SCORES["exact"]  # lowered in _match when the spelling was disguised

    def _match(
        self,
        n: Normalized,
        ctx: Context,
        c: _Candidate,
        previous: tuple[_Candidate, str] | None,
    ) -> tuple[TextMatch, str]:
        toks = n.tokens
        kstart, kend = c.inner or (toks[c.first].start, toks[c.last - 1].end)
        start, end = n.original_span(kstart, kend)
        shown = n.original[start:end]
        disguise = _disguises(shown, c, toks[c.first : c.last])
        score = c.score
        if c.how == "exact" and disguise:
            split = {"spaced", "split", "glued"} & set(disguise)
            score = SCORES["split"] if split and len(disguise) == 1 else SCORES["normalised"]
        cue = ctx.mention(c.first, c.last, kstart, kend)
        kind = "mention" if cue else "trademark"
        chained = None
        if not cue and previous and previous[1] == "mention":
            gap = n.key[toks[previous[0].last - 1].end : kstart]
            if c.first - previous[0].last <= 3 and re.search(
                r"[,/&+]|\b(and|or|y|und|et|e|o)\b", gap
            ):
                kind, chained = "mention", previous[0].spelling.text
        mark = self.marks[c.spelling.mark]
        detail: dict[str, Any] = {
            "how": c.how,
            "disguise": disguise,
            "matched": shown,
            "spelling": c.spelling.text,
        }
        if c.how in ("typo", "phonetic"):
            detail["edits"] = c.edits
            detail["max_edits"] = c.spelling.budget
        if cue:
            detail["mention"] = {"phrase": cue.text, "language": cue.language}
        elif chained:
            detail["mention"] = {"phrase": f"listed with {chained}", "language": ""}
        signals = [
            {"signal": "counterfeit_words", "phrase": p.text, "language": p.language}
            for p in ctx.counterfeit(c.first, c.last, kstart, kend)
        ]
        if "mixed_script" in disguise:
            signals.append({"signal": "mixed_script", "token": shown})
        detail["signals"] = signals
        if mark.list_price:
            detail["list_price"] = mark.list_price
        match = TextMatch(mark.text, kind, score, (start, end), detail, mark.asset_id)  # type: ignore[arg-type]
        return match, kind

    # -- signals beyond the text -----------------------------------------------------------------

    def _seller_signals(self, result: TextAnalysis, seller: str, language: str | None) -> None:
        n = normalize(seller[:1000])
        units = self._units(n)
        self._fill([u for _, _, u in units])
        found = {
            m.asset: (m.detail["disguise"], m.score)
            for m in self._analyse(n, units, language=language).matches
        }
        # A shop name glues the mark to a word of its own: "LumaOfficial", "luma_store".
        for t in n.tokens:
            for s in self._spellings:
                mark = self.marks[s.mark].text
                glued = t.folded.startswith(s.key) or t.folded.endswith(s.key)
                if glued and mark not in found and 3 <= len(s.key) < len(t.folded):
                    found[mark] = (["embedded"], SCORES["embedded"])
        for mark, (disguise, score) in found.items():
            signal = {
                "signal": "impersonation",
                "seller": seller,
                "mark": mark,
                "disguise": disguise,
                "score": round(score, 4),
            }
            result.signals.append(signal)
            for match in result.matches:
                if match.asset == mark:
                    match.detail["signals"].append(signal)

    def _price_signals(
        self, result: TextAnalysis, price: str | float, list_price: str | None
    ) -> None:
        for match in result.matches:
            reference = list_price or match.detail.get("list_price")
            if not reference:
                continue
            signal = price_signal(price, reference, ratio=self.options.low_price_ratio)
            if signal:
                match.detail["signals"].append(signal)


def _severity(m: TextMatch) -> str:
    """low for a mention; high with counterfeit words, impersonation, a low price or a disguise."""
    signals = {s["signal"] for s in m.detail.get("signals", []) if s.get("signal") != "price"}
    if m.kind == "mention":
        return "medium" if "counterfeit_words" in signals else "low"
    disguised = bool(m.detail.get("disguise"))
    return "high" if signals or disguised else "medium"


def _disguises(shown: str, c: _Candidate, toks: list[Any]) -> list[str]:
    """How the text's spelling differs from the mark's, in the words of a reviewer."""
    out: list[str] = []
    mark = c.spelling.text
    if not shown.isascii():
        out += _unicode_disguises(shown, c)
    if not c.spelling.digits and any(
        t.folded != t.text and any(ch.isdigit() or ch in LEET_SYMBOLS for ch in t.text)
        for t in toks
    ):
        out.append("leet")
    words = c.spelling.words
    count = c.last - c.first
    if count > 2 and all(len(t.text) == 1 for t in toks):
        out.append("spaced")
    elif count > words:
        out.append("split")
    elif count < words:
        out.append("glued")
    if c.how == "typo":
        out.append(f"typo_{c.edits}_edit" + ("s" if c.edits > 1 else ""))
    elif c.how in ("phonetic", "embedded"):
        out.append(c.how)
    elif not out:
        visible = "".join(ch for ch in shown if unicodedata.category(ch) != "Cf")
        plain = re.sub(r"[\s\-_.]+", " ", visible).casefold().strip()
        if plain != re.sub(r"[\s\-_.]+", " ", mark).casefold().strip():
            out.append("lookalike_letters")
    return out


def _unicode_disguises(shown: str, c: _Candidate) -> list[str]:
    """Disguises that only non-ASCII text can carry: invisible, compatibility, foreign letters."""
    out: list[str] = []
    mark = c.spelling.text
    if any(unicodedata.category(ch) == "Cf" for ch in shown):
        out.append("invisible_characters")
    visible = "".join(ch for ch in shown if unicodedata.category(ch) != "Cf")
    if unicodedata.normalize("NFKC", visible) != unicodedata.normalize("NFC", visible):
        out.append("compatibility_letters")  # fullwidth, mathematical, enclosed, ligatures
    found = scripts(visible)
    if c.spelling.latin and found - {"LATIN"}:
        out.append("mixed_script" if "LATIN" in found else "confusable")
    letters = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", visible))
    if any(unicodedata.category(ch) == "Mn" for ch in letters) and not any(
        unicodedata.category(ch) == "Mn" for ch in unicodedata.normalize("NFD", mark)
    ):
        out.append("accents")
    return out


def _mixed_script_tokens(n: Normalized) -> Iterable[tuple[int, int, set[str]]]:
    """Words of the original text that mix scripts ("Аpple" with a Cyrillic А): a signal alone."""
    if n.original.isascii():
        return
    for m in re.finditer(r"[^\W\d_]+", n.original):
        if m.group().isascii():
            continue
        found = scripts(m.group())
        if len(found) > 1 and found & {"LATIN", "CYRILLIC", "GREEK"} == found:
            yield m.start(), m.end(), found
