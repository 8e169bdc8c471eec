"""Word-mark detection: the owner's marks in a text, however disguised, and how they were.

Three ways in, each recorded in the match (``detail["how"]``):

- **exact** — Aho-Corasick over the text's comparison key (``matcher.normalize``: NFKC, TR39
  skeleton, accents, invisible characters, leetspeak, look-alike letter pairs), with the words
  concatenated so that a mark spread over words ("N i k e", "Sam-sung", "Go Pro") is found too.
  A match starts and ends on word boundaries, except beside CJK characters (unsegmented text:
  小米 inside 小米手机) and where a mark is glued to one end of a longer word that is not
  itself a common word: from five letters on ("Rolexwatch"), shorter marks only at a seam of
  digits or capitals ("Nike2024", "NikeAir"). Marks of one or two characters ("3M", "X") count
  only written exactly as registered.
- **typo** — optimal-string-alignment distance (a substitution, insertion, deletion or adjacent
  transposition is one edit) between each word, and each window of a multi-word mark's length,
  and every Latin-script mark, within a budget that grows with the mark's length (0 edits up to
  3 letters, 1 up to 7, 2 from 8; ``MarkSpec.max_edits`` overrides). A word common in the text's
  languages (wordfreq, Zipf >= ``common_zipf``) is never a typo of a mark: "rose" is not "Bose",
  "logo" is not "Lego" — but "Lego" itself still is; two edits within three letters of one end
  are another word of the same stem ("gigabit" is not "Gigabyte").
- **phonetic** — the same Metaphone code (jellyfish) for marks of six letters or more, one edit
  past the typo budget (two where the lengths agree), at most one letter longer or shorter, not
  a common word: "Fillips", "Adeedas". Shorter codes collide with too many words.

Then the words around it decide the kind (``matcher.context``): after "compatible with" or
"for" the mark is a ``mention`` — unless counterfeit words stand beside it ("Nike compatible
sneakers 1:1"); counterfeit words, a seller name that imitates the mark, a price far below the
owner's list price, a disguise or mixed scripts raise ``severity``.
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
from rapidfuzz.distance import OSA, Levenshtein

from matcher.context import Context
from matcher.normalize import (
    SEPARATORS,
    Normalized,
    fold,
    is_cjk,
    is_invisible,
    key_table,
    normalize,
    scripts,
    soft_fold,
    spread_runs,
    unleet,
)
from matcher.prices import price_signal
from matcher.textresult import TextMatch

MAX_CHARS = 100_000  # marks are looked for in the first 100,000 characters of a text
MAX_GLUE = 3  # words of a multi-word mark glued into one unit for typo matching
_SEPARATORS = re.compile(f"[{SEPARATORS}]+")
_DIGITS = re.compile(r"\d")
_JOIN_GAP = re.compile(f"[{SEPARATORS}]{{0,3}}")
CACHE_LIMIT = 400_000  # units remembered between texts before the cache starts afresh

ACCENTED_LANGUAGES = ("es", "de", "fr", "pt", "it", "nl", "pl", "tr", "ro", "sv")
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
    phonetic_min_letters: int = 6
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
    cjk: bool = False  # begins or ends with a CJK character: matched inside unsegmented text


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
def _frequent(language: str, zipf: float) -> tuple[str, ...]:
    """Words of ``language`` at or above ``zipf`` (wordfreq), as wordfreq spells them."""
    import wordfreq

    try:
        freqs = wordfreq.get_frequency_dict(language)
    except (LookupError, ValueError):
        return ()
    floor = 10 ** (zipf - 9)
    return tuple(w for w, f in freqs.items() if f >= floor)


@functools.cache
def common_words(language: str, zipf: float) -> frozenset[str]:
    """Words of ``language`` at or above ``zipf``, as comparison keys ("böse" is "bose")."""
    table = key_table()
    return frozenset(w.translate(table) for w in _frequent(language, zipf))


@functools.cache
def common_words_as_written(language: str, zipf: float) -> frozenset[str]:
    """Words of ``language`` at or above ``zipf``, case folded but with their accents: "böse"."""
    return frozenset(unicodedata.normalize("NFC", w) for w in _frequent(language, zipf))


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
                key = "".join(n.folded)
                soft = "".join(n.soft)
                if not key or key in seen:
                    continue
                seen.add(key)
                # Latin by the letters as registered: "Москва" folds to ASCII but is Cyrillic.
                latin = (
                    key.isascii() and any(c.isalpha() for c in key) and scripts(text) <= {"LATIN"}
                )
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
                    key = "".join(n.words)
                self._spellings.append(
                    _Spelling(
                        i,
                        text,
                        key,
                        soft,
                        len(n.words),
                        latin,
                        budget if latin else 0,
                        phonetic,
                        digits,
                        is_cjk(key[0]) or is_cjk(key[-1]),
                    )
                )
        self._by_key: dict[str, list[_Spelling]] = {}
        for s in self._spellings:
            self._by_key.setdefault(s.key, []).append(s)
        self._automata = {}
        for digits in (False, True):
            spellings = [s for s in self._spellings if s.digits == digits]
            if not spellings:
                continue
            automaton = ahocorasick.Automaton()
            for s in spellings:
                automaton.add_word(s.key, (s, len(s.key)))
                # Look-alike pairs fold inside a word ("arnazon" is "amazon"), so a mark with
                # "rn" or "vv" spread over words ("Satu rn") is looked for unfolded too.
                plain = s.key if digits else _unfolded(s.text)
                if plain != s.key and plain not in automaton:
                    automaton.add_word(plain, (s, len(plain)))
            automaton.make_automaton()
            self._automata[digits] = automaton
        fuzzy = [s for s in self._spellings if s.latin and s.budget > 0 and not s.digits]
        self._fuzzy = fuzzy
        self._fuzzy_keys = [s.soft for s in fuzzy]
        self._fuzzy_budget = np.array([s.budget for s in fuzzy], dtype=np.int32)
        self._fuzzy_length = np.array([len(s.soft) for s in fuzzy], dtype=np.int32)
        self._fuzzy_block = (self._fuzzy_budget == 1) & (self._fuzzy_length >= 5)
        self._max_budget = int(self._fuzzy_budget.max()) if fuzzy else 0
        self._glue = sorted({min(s.words, MAX_GLUE) for s in fuzzy if s.words > 1})
        # A typo of a multi-word mark keeps one of its words as written ("Hewlet Packard"):
        # only windows holding such a word are glued and compared.
        # Very common words ("digital", "black": Zipf 4 and more) would glue half of all
        # titles: left out, so "Western Digitl" is missed but "Hewlet Packard" is not.
        very_common = (
            set().union(*(common_words(lang, 4.0) for lang in self.options.languages))
            if self._glue
            else set()
        )  # loaded only where there are multi-word marks
        self._glue_words = frozenset(
            w
            for s in fuzzy
            if s.words > 1
            for w in normalize(s.text).soft
            if len(w) > 2 and w not in very_common
        )
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
        extra = [self._extra_units(n) for n in normed]
        units: set[str] = set()
        for n in normed:
            units.update(n.soft)
        units.update(u for us in extra for _, _, u in us)
        self._fill(units)
        return [
            self._analyse(n, us, language=language).matches
            for n, us in zip(normed, extra, strict=True)
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
        result = self._analyse_text(text[:MAX_CHARS], language)
        if seller:
            self._seller_signals(result, seller, language)
        if price is not None:
            self._price_signals(result, price, list_price)
        if seller or price is not None:
            for m in result.matches:
                m.detail["severity"] = _severity(m)
        return result

    def _analyse_text(self, text: str, language: str | None) -> TextAnalysis:
        n = normalize(text)
        extra = self._extra_units(n)
        self._fill({*n.soft, *(u for _, _, u in extra)})
        return self._analyse(n, extra, language=language)

    # -- units and the typo cache ----------------------------------------------------------------

    def _extra_units(self, n: Normalized) -> list[tuple[int, int, str]]:
        """(first token, last token + 1, soft-folded text) of every spread-out run of letters,
        and of every window of as many words as a multi-word mark has ("Hewlet Packard").

        Single words are typo candidates of their own. A mark split over words without a typo
        ("Sam sung", "ni-ke") is found exactly, by the automaton over the joined tokens.
        """
        units = []
        soft = n.soft
        if self._glue and not self._glue_words.isdisjoint(soft):
            key, starts, ends = n.key, n.starts, n.ends
            hot = [i for i, w in enumerate(soft) if w in self._glue_words]
            for size in self._glue:
                firsts = {f for h in hot for f in range(h - size + 1, h + 1) if f >= 0}
                for i in sorted(firsts):
                    window = range(i, i + size)
                    if i + size > len(soft) or not all(_typo_word(soft[k]) for k in window):
                        continue
                    gaps = (key[ends[k - 1] : starts[k]] for k in window[1:])
                    if all(g == " " or _JOIN_GAP.fullmatch(g) for g in gaps):
                        units.append((i, i + size, "".join(soft[k] for k in window)))
        for a, b in spread_runs(n):
            units.append((a, b, soft_fold("".join(n.words[a:b]))))  # "N-1-K-E" is "n1ke"
        return units

    def _fill(self, units: Iterable[str]) -> None:
        """Typo and phonetic hits of every unit not yet cached, in one distance-matrix pass.

        Only words of three or more ASCII letters are candidates (after leetspeak and the
        skeleton): model numbers ("gx301") and words of other scripts are never typos of a mark.
        """
        cache = self._cache
        missing = [u for u in units if u not in cache]
        if not missing:
            return
        if len(cache) + len(missing) > CACHE_LIMIT:
            cache.clear()
        cache.update(dict.fromkeys(missing, ()))
        missing = [u for u in missing if _typo_word(u)]
        hits: dict[str, list[tuple[_Spelling, int, str]]] = {}
        by_length: dict[int, list[str]] = {}
        for u in missing:
            by_length.setdefault(len(u), []).append(u)
        for length, part in by_length.items():
            # A mark farther in length than its budget cannot be within it: compare the rest.
            longer = length - self._fuzzy_length
            near = np.abs(longer) <= self._fuzzy_budget
            # ...but for a mark of one edit, a plural "es" slipped in is one slip ("Fossesil").
            block = self._fuzzy_block & (longer == 2)
            cols = np.flatnonzero(near | block)
            if not len(cols):
                continue
            keys = [self._fuzzy_keys[c] for c in cols]
            budget = self._fuzzy_budget[cols]
            blocks = block[cols]
            for chunk in range(0, len(part), 20_000):
                rows_in = part[chunk : chunk + 20_000]
                dist = process.cdist(
                    rows_in, keys, scorer=OSA.distance,
                    score_cutoff=max(self._max_budget, 2), dtype=np.int32, workers=1,
                )  # fmt: skip
                within = (dist <= budget[None, :]) | ((dist == 2) & blocks[None, :])
                rows, found = np.nonzero(within & (dist > 0))
                for r, c in zip(rows.tolist(), found.tolist(), strict=True):
                    spelling, edits, unit = self._fuzzy[int(cols[c])], int(dist[r, c]), rows_in[r]
                    if edits > spelling.budget and not _block_inserted(spelling.soft, unit):
                        continue
                    if edits < 2 or edits > spelling.budget or not _same_stem(spelling.soft, unit):
                        hits.setdefault(unit, []).append((spelling, edits, "typo"))
        if self._phonetic:
            for u in missing:
                if len(u) < 4 or not u.isalpha():
                    continue
                for s in self._phonetic.get(jellyfish.metaphone(u), ()):
                    # Past the typo budget but sounding alike: one more edit, or two where the
                    # lengths agree ("Fillips"); a much shorter word is an abbreviation ("dect").
                    longer = abs(len(u) - len(s.soft))
                    reach = s.budget + (2 if longer == 0 else 1)
                    d = OSA.distance(u, s.soft, score_cutoff=reach)
                    if s.budget < d <= reach and longer <= 1:
                        hits.setdefault(u, []).append((s, d, "phonetic"))
        for u, h in hits.items():
            cache[u] = tuple(h)

    # -- one text --------------------------------------------------------------------------------

    def _common(self, word: str, language: str | None) -> bool:
        langs = (language,) if language else self.options.languages
        return any(word in common_words(lang, self.options.common_zipf) for lang in langs)

    def _common_as_written(self, shown: str, language: str | None) -> bool:
        """``shown`` (accents and all) is a common word of a language that writes accents:
        "böse" is German, not a disguised Bose. Checked in the listing languages the issue
        names besides the configured ones, since an accent is a disguise only where no
        language spells the word that way (loaded on first need)."""
        word = unicodedata.normalize("NFC", shown.casefold())
        langs = {language} if language else set(self.options.languages)
        langs |= set(ACCENTED_LANGUAGES)
        zipf = self.options.common_zipf
        return any(word in common_words_as_written(lang, zipf) for lang in sorted(langs))

    def _exact(self, n: Normalized, language: str | None) -> list[_Candidate]:
        found: list[_Candidate] = []
        for digits, automaton in self._automata.items():
            parts = n.words if digits else n.folded
            compact = "".join(parts)
            hits = list(automaton.iter(compact))
            if not hits:
                continue
            ends = list(itertools.accumulate(map(len, parts)))
            starts = [0, *ends[:-1]]
            first_at = dict(zip(starts, range(len(starts)), strict=True))
            last_at = dict(zip(ends, range(1, len(ends) + 1), strict=True))
            for end, (s, length) in hits:
                start, end = end - length + 1, end + 1
                first, last = first_at.get(start), last_at.get(end)
                how, inner = "exact", None
                if first is None or last is None:
                    left, right = first is not None, last is not None
                    if not (left or right or s.cjk):
                        continue  # inside a word at both ends: "hp" in "shpx"
                    first = bisect.bisect_right(starts, start) - 1
                    last = bisect.bisect_left(ends, end) + 1
                    if (left or is_cjk(s.key[0])) and (right or is_cjk(s.key[-1])):
                        inner = self._inner(
                            n, first, last, start - starts[first], ends[last - 1] - end
                        )
                    elif not self._glued(
                        n, s, first, last, left, right, start - starts[first], language
                    ):
                        continue
                    else:
                        how = "embedded"
                if last - first > 1 and not self._joinable(n, first, last, s.words):
                    continue
                if len(s.key) <= 2 and not self._as_written(n, s, first, last, inner):
                    continue
                found.append(_Candidate(s, first, last, 0, how, 0.0, inner))
        for a, b in spread_runs(n):  # letters spread out, leetspeak among them: "N.1.K.E"
            joined = "".join(n.words[a:b])
            found.extend(
                _Candidate(s, a, b, 0, "exact", 0.0) for s in self._by_key.get(fold(joined), ())
            )
        return found

    @staticmethod
    def _inner(n: Normalized, first: int, last: int, skip: int, short: int) -> tuple[int, int]:
        """Key offsets of a match inside CJK words: ``skip`` characters into the first word,
        ``short`` before the end of the last one (word starts where a fold changed lengths)."""
        a, b = first, last - 1
        return (
            n.starts[a] + skip if n.folded[a] == n.words[a] else n.starts[a],
            n.ends[b] - short if n.folded[b] == n.words[b] else n.ends[b],
        )

    def _glued(
        self,
        n: Normalized,
        s: _Spelling,
        first: int,
        last: int,
        left: bool,
        right: bool,
        offset: int,
        language: str | None,
    ) -> bool:
        """A Latin mark glued to one end of a longer word that is not itself a common word:
        from five letters on ("Rolexwatch"); shorter marks only where digits or a capital
        letter mark the seam ("Nike2024", "NikeAir"), since "nike" ends many words."""
        if not s.latin or last - first != 1 or not (left or right):
            return False
        word, folded = n.words[first], n.folded[first]
        if self._common(unleet(word), language):
            return False
        if len(s.key) >= 5:
            return True
        if len(s.key) < 3 or len(folded) != len(word):
            return False
        rest = word[len(s.key) :] if left else word[:offset]
        if rest.isdigit():
            return True
        if not n.identity:
            return False
        seam = n.starts[first] + (len(s.key) if left else offset)
        before, after = n.original[seam - 1], n.original[seam]
        camel = before.islower() and after.isupper()  # "NikeAir"
        capitals = left and before.isupper() and after.isupper()  # "NIKEAir"
        return camel or (capitals and n.original[seam + 1 : seam + 2].islower())

    @staticmethod
    def _as_written(
        n: Normalized, s: _Spelling, first: int, last: int, inner: tuple[int, int] | None
    ) -> bool:
        """Marks of one or two characters ("3M", "LG", "X") are common as units, sizes and
        letters; they count only written exactly as registered, case included, or drawn in
        letters of other alphabets or widths as one word ("ＨＰ", Cyrillic "НР")."""
        kstart, kend = inner or (n.starts[first], n.ends[last - 1])
        start, end = n.original_span(kstart, kend)
        shown = n.original[start:end]
        if shown == s.text:
            return True
        visible = "".join(ch for ch in shown if not is_invisible(ch))
        return not visible.isascii() and visible.isalnum()

    def _joinable(self, n: Normalized, first: int, last: int, words: int) -> bool:
        """Tokens [first, last) can be one spread-out or split mark of ``words`` words."""
        for k in range(first + 1, last):
            gap = n.key[n.ends[k - 1] : n.starts[k]]
            if not _JOIN_GAP.fullmatch(gap):
                return False
        singles = all(len(w) == 1 for w in n.words[first:last])
        return singles or last - first <= words + MAX_GLUE - 1

    def _analyse(
        self, n: Normalized, units: list[tuple[int, int, str]], *, language: str | None
    ) -> TextAnalysis:
        """Candidates from the automaton and the typo cache, the best per word kept, explained."""
        cands = self._exact(n, language)
        cache = self._cache
        typos = [(i, i + 1, hits) for i, w in enumerate(n.soft) if (hits := cache.get(w))]
        typos += [(a, b, hits) for a, b, u in units if (hits := cache.get(u))]
        for first, last, hits in typos:
            words = n.words[first:last]
            raw = "".join(unleet(w) for w in words)
            soft = "".join(n.soft[first:last])
            if self._common(raw, language) or self._common(soft, language):
                continue  # "rose" is no typo of "Bose"
            if last - first > 1 and all(self._common(w, language) for w in words):
                continue
            alpha = all(w.isalpha() for w in words)  # a sound-alike is spelled in letters
            leet = raw != "".join(words)
            bare = _DIGITS.sub("", "".join(words))  # "sony3", "ik4ea": the mark, digits added
            cands.extend(
                _Candidate(s, first, last, edits, how, 0.0)
                for s, edits, how in hits
                if (alpha or how != "phonetic")
                # leetspeak and a typo at once only in marks of five letters or more ("3dg" is
                # a model number, not "Edge"; "R9lex" is "Rolex"), or digits slipped in
                and (not leet or len(s.soft) >= 5 or bare == s.soft)
            )
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
            made = self._match(n, ctx, c, previous, language)  # type: ignore[arg-type]
            if made is None:
                continue
            match, kind = made
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
        language: str | None,
    ) -> tuple[TextMatch, str] | None:
        """The match of candidate ``c``, or None when its "disguise" is a word of the language."""
        kstart, kend = c.inner or (n.starts[c.first], n.ends[c.last - 1])
        start, end = n.original_span(kstart, kend)
        end = _grapheme_end(n.original, end)
        shown = n.original[start:end]
        disguise = _disguises(shown, c, n)
        if "accents" in disguise and self._common_as_written(shown, language):
            return None
        score = c.score
        if c.how == "exact" and disguise:
            split = {"spaced", "split", "glued"} & set(disguise)
            score = SCORES["split"] if split and len(disguise) == 1 else SCORES["normalised"]
        cue = ctx.mention(c.first, c.last, kstart, kend)
        kind = "mention" if cue else "trademark"
        chained = None
        if not cue and previous and previous[1] == "mention":
            gap = n.key[n.ends[previous[0].last - 1] : kstart]
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
        fakes = ctx.counterfeit(c.first, c.last, kstart, kend)
        signals = [
            {"signal": "counterfeit_words", "phrase": p.text, "language": p.language} for p in fakes
        ]
        if kind == "mention" and any(p in ctx.phrases("fake") for p in fakes):
            # "Nike compatible sneakers 1:1": a fake's own words overrule the mention phrase.
            kind = "trademark"
            detail["mention_overruled"] = detail.pop("mention")
        detail["signals"] = signals
        if mark.list_price:
            detail["list_price"] = mark.list_price
        match = TextMatch(mark.text, kind, score, (start, end), detail, mark.asset_id)  # type: ignore[arg-type]
        return match, kind

    # -- signals beyond the text -----------------------------------------------------------------

    def _seller_signals(self, result: TextAnalysis, seller: str, language: str | None) -> None:
        n = normalize(seller[:1000])
        found = {
            m.asset: (m.detail["disguise"], m.score)
            for m in self._analyse_text(seller[:1000], language).matches
        }
        # A shop name glues the mark to a word of its own: "LumaOfficial", "luma_store".
        for word in n.folded:
            for s in self._spellings:
                mark = self.marks[s.mark].text
                glued = word.startswith(s.key) or word.endswith(s.key)
                if glued and mark not in found and 3 <= len(s.key) < len(word):
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


def _block_inserted(mark: str, word: str) -> bool:
    """``word`` is ``mark`` with a plural "es" slipped in after an s, x or z inside it
    ("Fossesil", "Toseshiba"): one slip, though two letters (dnstwist's plural fuzzer).

    >>> _block_inserted("fossil", "fossesil"), _block_inserted("rolex", "rolodex")
    (True, False)
    """
    ops = Levenshtein.editops(mark, word)
    if len(ops) != 2 or not all(op.tag == "insert" for op in ops):
        return False
    at = ops[0].dest_pos
    return (
        ops[1].dest_pos == at + 1
        and word[at : at + 2] == "es"
        and 0 < ops[0].src_pos < len(mark)
        and word[at - 1] in "sxz"
    )


def _same_stem(mark: str, word: str) -> bool:
    """Two or more edits all within three letters of one end make another word of the same stem
    ("gigabit" is not "Gigabyte", "inkjet" not "OCinkjet"), not a typo of the mark.

    >>> _same_stem("gigabyte", "gigabit"), _same_stem("logitech", "lgoitehc")
    (True, False)
    """
    ops = Levenshtein.editops(mark, word)
    if len(ops) > OSA.distance(mark, word):
        return False  # a transposition is among the edits: a typo
    where = [op.src_pos for op in ops]
    return max(where) < 3 or min(where) >= len(mark) - 3


def _grapheme_end(text: str, end: int) -> int:
    """Past the combining marks and invisible characters that belong to the last letter shown
    ("Luma\u0301" shows "Lumá"): evidence quotes whole characters."""
    while (
        end < len(text)
        and not text[end].isascii()
        and unicodedata.category(text[end]) in ("Mn", "Me", "Cf")
    ):
        end += 1
    return end


def _unfolded(text: str) -> str:
    """A spelling's key with leetspeak and "l" -> "i" folded per letter but no look-alike pairs
    joined, as the automaton sees a mark whose letters stand in separate words."""
    return "".join(fold(ch) for ch in "".join(normalize(text).words))


def _typo_word(u: str) -> bool:
    """A word that may be a typo of a mark: three or more ASCII letters, with at most one digit
    in three characters ("hu2awei" is a disguise, "gx301" a model number)."""
    if len(u) < 3 or not u.isascii():
        return False
    if u.isalpha():
        return True
    digits = sum(c.isdigit() for c in u)
    return u.isalnum() and len(u) >= 3 * digits


def _severity(m: TextMatch) -> str:
    """low for a mention; high with counterfeit words, impersonation, a low price or a disguise."""
    signals = {s["signal"] for s in m.detail.get("signals", []) if s.get("signal") != "price"}
    if m.kind == "mention":
        # A genuine accessory names the brand plainly; a disguised mention hides something.
        flagged = "counterfeit_words" in signals or bool(m.detail.get("disguise"))
        return "medium" if flagged else "low"
    disguised = bool(m.detail.get("disguise"))
    return "high" if signals or disguised else "medium"


def _disguises(shown: str, c: _Candidate, n: Normalized) -> list[str]:
    """How the text's spelling differs from the mark's, in the words of a reviewer."""
    out: list[str] = []
    mark = c.spelling.text
    if c.how == "exact" and shown.casefold() == mark.casefold():
        return out  # written as registered, case aside: the common case
    if not shown.isascii():
        out += _unicode_disguises(shown, c)
    words, soft = n.words[c.first : c.last], n.soft[c.first : c.last]
    if not c.spelling.digits and any(
        f != w and not w.isalpha() for w, f in zip(words, soft, strict=True)
    ):
        out.append("leet")
    count = c.last - c.first
    if count > 2 and all(len(w) == 1 for w in words):
        out.append("spaced")
        if any(w.isdigit() for w in words) and "leet" not in out:
            out.append("leet")  # "N.1.K.E"
    elif count > c.spelling.words:
        out.append("split")
    elif count < c.spelling.words:
        out.append("glued")
    if c.how == "typo":
        out.append(f"typo_{c.edits}_edit" + ("s" if c.edits > 1 else ""))
    elif c.how in ("phonetic", "embedded"):
        out.append(c.how)
    elif not out and shown.casefold() != mark.casefold():
        visible = "".join(ch for ch in shown if unicodedata.category(ch) != "Cf")
        plain = _SEPARATORS.sub(" ", visible).casefold().strip()
        if plain != _SEPARATORS.sub(" ", mark).casefold().strip():
            out.append("lookalike_letters")
    return out


def _unicode_disguises(shown: str, c: _Candidate) -> list[str]:
    """Disguises that only non-ASCII text can carry: invisible, compatibility, foreign letters."""
    out: list[str] = []
    mark = c.spelling.text
    if any(is_invisible(ch) for ch in shown):
        out.append("invisible_characters")
    visible = "".join(ch for ch in shown if not is_invisible(ch))
    if unicodedata.normalize("NFKC", visible) != unicodedata.normalize("NFC", visible):
        out.append("compatibility_letters")  # fullwidth, mathematical, enclosed, ligatures
    found, registered = scripts(visible), scripts(mark)
    if found - registered:
        out.append("mixed_script" if found & registered else "confusable")
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
