"""Copied product text: which owned copy a listing's text reproduces, sentence by sentence.

Candidates come from MinHash-LSH (datasketch) over the word sets of owned *sentences*: a
sentence-sized unit survives shuffling, embedding in a longer text and partial copying, which a
whole-text Jaccard does not (a copy pasted into a text three times longer has Jaccard <= 1/3).
Single words are the shingles: measured on 3,858 real descriptions, 3-word shingles found 27 %
of copies with 20 % of words edited, single words 99 %. Query words no owned text contains cannot
be copied text, so they are left out of the query's sketches (words a copier adds cost nothing).

Each candidate is then verified exactly: every owned sentence is aligned with the densest
stretch of the query sentence that holds most of its weight, and the owned text's
**containment** in the query is the weighted share of its words found in sentences copied with
at least ``min_sentence_similarity``. A word's weight is its inverse document frequency over the
owned catalogue, so boilerplate the owner repeats in every description ("Machine wash/dry.")
weighs almost nothing. **Coverage** is the share of the query's words inside copied sentences: a
listing made almost wholly of owned sentences copies that text even when the part it copies is
light (the generic half of a description).

The score is 0.5 exactly at ``min_containment`` (or at ``min_containment_covered`` with
``min_coverage``; and never above 0.5 under ``min_copied_words``), so ``score >= 0.5`` means
"copies this owned text"; ``detail`` holds the measured quantities, the copied sentences with
their offsets in the query as given, and the thresholds that applied.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

from matcher.normalize import CJK_RANGES, key_table
from matcher.textresult import TextMatch

SCHEME = "affine32"  # datasketch's default MinHash scheme; named so sketches are never mixed
MAX_SENTENCE_WORDS = 40  # longer owned sentences are compared in chunks of at most this
QUERY_WINDOW = 2 * MAX_SENTENCE_WORDS  # a longer query sentence is read in windows this long
MIN_LSH_WORDS = 3  # owned sentences with fewer distinct words are too common to nominate
MAX_POSTINGS = 64  # a sentence in more owned texts nominates the 64 where it weighs the most
TERMINAL = ".!?…。！？"


@dataclass(frozen=True)
class OwnedCopy:
    """One text of the brand owner's product copy; ``name`` is reported as the match's asset."""

    name: str
    text: str
    asset_id: int | None = None


@dataclass(frozen=True)
class CopyThresholds:
    """Decision parameters, measured on real product copy (see bench/text.py, copy section).

    ``min_containment``: weighted share of the owned text that must be found copied (a half
    copy of a text keeps about half its weight). A listing whose words are mostly (at least
    ``min_coverage`` of them) copied owned sentences is a copy from ``min_containment_covered``
    on: half of a text whose second half is generic bullets holds little weight, but a listing
    made of nothing else is still that text. ``min_sentence_similarity``: weighted share of
    an owned sentence's words its aligned query sentence must hold for the sentence to count as
    copied. ``min_copied_words``: a match copies at least this many words, so a one-line owned
    text is not found in every listing that shares a phrase; a match on coverage alone copies at
    least ``min_copied_words_covered`` (a few generic bullets are no copy). ``slope``: how fast the score
    moves around 0.5, per unit of containment.
    """

    min_containment: float = 0.35
    min_coverage: float = 0.6
    min_containment_covered: float = 0.15
    min_sentence_similarity: float = 0.5
    min_copied_words: int = 5
    min_copied_words_covered: int = 10
    slope: float = 10.0


@dataclass(frozen=True)
class _Tokens:
    """Normalised words of a text with their offsets in the original, and its sentences."""

    words: list[str]
    starts: list[int]
    ends: list[int]
    sentences: list[tuple[int, int, int]]  # (first word, end word, end offset of the sentence)
    truncated: bool


@dataclass(frozen=True)
class _Sentence:
    text: str
    weights: dict[str, float]
    weight: float
    length: int  # words, counting repeats


@dataclass(frozen=True)
class _Owned:
    copy: OwnedCopy
    sentences: tuple[_Sentence, ...]
    weight: float
    mass: dict[str, float]  # word -> its weight summed over the sentences that hold it


@cache
def _pattern() -> re.Pattern[str]:
    """Words (letters and digits, with their combining marks and invisible format characters,
    and inner apostrophes) and sentence boundaries (terminal punctuation before a space, line
    breaks, bullets, semicolons). Built once, on first use."""
    inner: list[str] = []
    start = None
    for cp in range(0x300, 0x20000):
        keep = unicodedata.category(chr(cp)) in ("Mn", "Mc", "Me", "Cf")
        if keep and start is None:
            start = cp
        elif not keep and start is not None:
            inner.append(f"{re.escape(chr(start))}-{re.escape(chr(cp - 1))}")
            start = None
    marks = "\u00ad" + "".join(inner)  # the soft hyphen too: invisible inside a word
    # A CJK character is a word of its own: Chinese and Japanese are written without spaces.
    letter = f"[^\\W_{CJK_RANGES}]"
    word = rf"[{CJK_RANGES}]|{letter}(?:{letter}|[{marks}]|['’](?={letter}))*"
    # Full stops end a sentence before a space; CJK ones (written without spaces) always.
    boundary = r"[.!?…]+(?=[\s\"'”’»)\]]|\Z)|[。！？；]+|[\n\r\v\f\u2028\u2029•▪●◦‣∙·;|]+"
    return re.compile(rf"(?P<w>{word})|(?P<b>{boundary})")


@lru_cache(maxsize=1 << 17)
def normalise(word: str) -> str:
    """The mark matcher's comparison key of a word (NFKC, case, accents, TR39 skeleton; see
    ``matcher.normalize``), letters and digits only: a copier who swaps in Cyrillic look-alikes
    or accents still copies. "It’s" -> "its", "ＬＵＭＡ" -> "luma", "Cаfé" -> "cafe".

    >>> normalise("Café"), normalise("Cafe\u0301"), normalise("ﬁt"), normalise("Cаfé")
    ('cafe', 'cafe', 'fit', 'cafe')
    """
    if word.isascii():
        return "".join(c for c in word.lower() if c.isalnum())
    return "".join(c for c in word.translate(key_table()) if c.isalnum())


def tokenise(text: str, max_words: int) -> _Tokens:
    """The words and sentences of ``text``; only the first ``max_words`` words are read."""
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    sentences: list[tuple[int, int, int]] = []
    first = 0
    truncated = False
    for m in _pattern().finditer(text):
        if m.lastgroup == "w":
            if len(words) >= max_words:
                truncated = True
                break
            w = normalise(m.group())
            if w:
                words.append(w)
                starts.append(m.start())
                ends.append(m.end())
        elif len(words) > first:
            end = m.end() if text[m.start()] in TERMINAL else ends[-1]
            sentences.append((first, len(words), end))
            first = len(words)
    if len(words) > first:
        sentences.append((first, len(words), ends[-1]))
    return _Tokens(words, starts, ends, sentences, truncated)


def _chunks(lo: int, hi: int, size: int) -> list[tuple[int, int]]:
    """[lo, hi) in consecutive chunks of at most ``size``, of nearly equal length."""
    n = max(1, math.ceil((hi - lo) / size))
    cuts = [lo + round(i * (hi - lo) / n) for i in range(n + 1)]
    return list(itertools.pairwise(cuts))


def _windows(lo: int, hi: int, size: int) -> list[tuple[int, int]]:
    """[lo, hi) itself if short, else windows of ``size`` overlapping by half: any run of at
    most ``size // 2`` words lies whole in one window."""
    if hi - lo <= size:
        return [(lo, hi)]
    step = size // 2
    return [(s, min(s + size, hi)) for s in range(lo, hi - step, step)]


def _densest(words: list[str], unit: tuple[int, int], s: _Sentence) -> tuple[float, int, int]:
    """The weight of ``s`` found in the densest stretch of ``unit`` at most about twice the
    sentence long, and that stretch's first and last word: a sentence's words scattered over
    a long query sentence are not a copy of it."""
    width = 2 * s.length + 2
    held = [i for i in range(*unit) if words[i] in s.weights]
    count: dict[str, int] = defaultdict(int)
    got = best = 0.0
    first = last = held[0]
    lo = 0
    for i in held:
        if count[words[i]] == 0:
            got += s.weights[words[i]]
        count[words[i]] += 1
        while i - held[lo] >= width:
            w = words[held[lo]]
            count[w] -= 1
            if count[w] == 0:
                got -= s.weights[w]
            lo += 1
        if got > best + 1e-12:
            best, first, last = got, held[lo], i
    return best, first, last


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-max(-60.0, min(60.0, x))))


class CopyIndex:
    """Owned product copy, indexed once; ``find`` says which of it a listing text copies.

    ``num_perm`` permutations and an LSH Jaccard ``lsh_threshold`` over sentence word sets
    nominate candidates; the ``max_candidates`` texts with the most nominated weight are
    verified. A query is read up to its first ``max_query_words`` words (a 10 MB text costs
    no more than a long listing); ``detail["truncated"]`` says when that cut applied.
    """

    def __init__(
        self,
        owned: Iterable[OwnedCopy],
        *,
        num_perm: int = 64,
        lsh_threshold: float = 0.4,
        thresholds: CopyThresholds = CopyThresholds(),
        max_candidates: int = 10,
        max_query_words: int = 4000,
        seed: int = 1,
    ) -> None:
        if not 0.0 < lsh_threshold <= 1.0:
            raise ValueError(f"lsh_threshold {lsh_threshold!r} is not in (0, 1]")
        if max_candidates < 1 or max_query_words < 1:
            raise ValueError(
                f"max_candidates {max_candidates!r} and max_query_words {max_query_words!r} "
                "must be at least 1"
            )
        self.num_perm = num_perm
        self.lsh_threshold = lsh_threshold
        self.thresholds = thresholds
        self.max_candidates = max_candidates
        self.max_query_words = max_query_words
        self.seed = seed
        self._lsh = MinHashLSH(threshold=lsh_threshold, num_perm=num_perm)
        self._owned: list[_Owned] = []
        self._row: dict[str, int] = {}  # word -> row of its permuted hashes in self._hashes
        self._hashes = np.zeros((0, num_perm), np.uint32)
        self._postings: list[list[tuple[int, float]]] = []  # LSH key -> (owned, weight share)
        self._build(list(owned))

    def __len__(self) -> int:
        return len(self._owned)

    def _build(self, owned: list[OwnedCopy]) -> None:
        parsed = []
        df: dict[str, int] = defaultdict(int)
        for copy in owned:
            toks = tokenise(copy.text, 1 << 62)
            if not toks.words:
                raise ValueError(f"owned copy {copy.name!r} has no words to match")
            parsed.append((copy, toks))
            for w in set(toks.words):
                df[w] += 1
        n = len(parsed)
        # Smoothed inverse document frequency: a word in every owned text weighs ~0.5/n, a
        # word in one text log(2(n+1)/3); with one owned text all words weigh the same.
        idf = {w: math.log((n + 1) / (d + 0.5)) for w, d in df.items()}
        vocab = sorted(df)
        self._row = {w: i for i, w in enumerate(vocab)}
        template = MinHash(num_perm=self.num_perm, seed=self.seed, scheme=SCHEME)
        # One datasketch MinHash per distinct word: the MinHash of any word set is then the
        # element-wise minimum of its words' rows, computed by numpy without re-hashing.
        self._hashes = np.array(
            [
                m.hashvalues
                for m in MinHash.generator(
                    ([w.encode()] for w in vocab),
                    num_perm=self.num_perm,
                    seed=self.seed,
                    permutations=template.permutations,
                    scheme=SCHEME,
                )
            ],
            np.uint32,
        ).reshape(len(vocab), self.num_perm)
        keys: dict[frozenset[str], int] = {}
        shares: list[dict[int, float]] = []
        for copy, toks in parsed:
            sentences = []
            units = []
            for lo, hi, end in toks.sentences:
                for a, b in _chunks(lo, hi, MAX_SENTENCE_WORDS):
                    weights = {w: idf[w] for w in toks.words[a:b]}
                    stop = end if b == hi else toks.ends[b - 1]
                    text = copy.text[toks.starts[a] : stop]
                    sentences.append(_Sentence(text, weights, sum(weights.values()), b - a))
                    units.append(frozenset(weights))
            total = sum(s.weight for s in sentences)
            doc = len(self._owned)
            mass: dict[str, float] = defaultdict(float)
            for sentence in sentences:
                for w, weight in sentence.weights.items():
                    mass[w] += weight
            self._owned.append(_Owned(copy, tuple(sentences), total, dict(mass)))
            nominating = [
                (u, s) for u, s in zip(units, sentences, strict=True) if len(u) >= MIN_LSH_WORDS
            ]
            if not nominating:  # only short lines: the whole text nominates itself
                nominating = [(frozenset().union(*units), None)]
            for unit, sentence in nominating:
                key = keys.setdefault(unit, len(keys))
                if key == len(shares):
                    shares.append({})
                share = (sentence.weight if sentence else total) / total
                shares[key][doc] = shares[key].get(doc, 0.0) + share
        with self._lsh.insertion_session() as session:
            for unit, key in keys.items():
                session.insert(key, self._minhash(unit))
        # A sentence shared by many owned texts nominates those where it weighs the most.
        self._postings = [sorted(s.items(), key=lambda kv: -kv[1])[:MAX_POSTINGS] for s in shares]

    def _minhash(self, words: Iterable[str]) -> LeanMinHash | None:
        rows = [self._row[w] for w in words if w in self._row]
        if not rows:
            return None
        values = self._hashes[rows].min(axis=0)
        return LeanMinHash(seed=self.seed, hashvalues=values, scheme=SCHEME)

    def find(self, text: str, *, min_score: float = 0.5) -> list[TextMatch]:
        """Owned texts that ``text`` copies, scoring at least ``min_score``, best first.

        Only the first ``max_query_words`` words of ``text`` are read; spans are offsets into
        ``text`` as given.
        """
        if not self._owned or not text or text.isspace():
            return []
        toks = tokenise(text, self.max_query_words)
        if not toks.words:
            return []
        votes: dict[int, float] = defaultdict(float)
        hit: set[int] = set()
        for lo, hi, _ in toks.sentences:
            for a, b in _windows(lo, hi, MAX_SENTENCE_WORDS):
                words = set(toks.words[a:b])
                if len(words) < 2:
                    continue
                sketch = self._minhash(words)
                if sketch is not None:
                    hit.update(self._lsh.query(sketch))
        for key in hit:
            for doc, share in self._postings[key]:
                votes[doc] += share
        if not votes:
            return []
        units = [w for lo, hi, _ in toks.sentences for w in _windows(lo, hi, QUERY_WINDOW)]
        where: dict[str, list[int]] = defaultdict(list)
        for u, (a, b) in enumerate(units):
            for w in set(toks.words[a:b]):
                where[w].append(u)
        found = []
        floor = min(self.thresholds.min_containment, self.thresholds.min_containment_covered)
        best = heapq.nlargest(self.max_candidates, votes.items(), key=lambda kv: (kv[1], -kv[0]))
        for doc, _ in best:
            owned = self._owned[doc]
            # Every word of the owned text that the query holds anywhere bounds its containment.
            bound = sum(owned.mass[w] for w in owned.mass.keys() & where.keys())
            if bound < floor * owned.weight:
                continue
            match = self._verify(owned, toks, units, where)
            if match is not None and match.score >= min_score:
                found.append(match)
        return sorted(found, key=lambda m: (-m.score, m.span))

    def _verify(
        self,
        owned: _Owned,
        toks: _Tokens,
        units: list[tuple[int, int]],
        where: dict[str, list[int]],
    ) -> TextMatch | None:
        t = self.thresholds
        copied_weight = 0.0
        copied_words = 0
        sentences: list[dict[str, Any]] = []
        covered: set[int] = set()
        floor = min(t.min_containment, t.min_containment_covered) * owned.weight
        remaining = owned.weight
        for s in owned.sentences:
            if copied_weight + remaining < floor:
                return None
            remaining -= s.weight
            present = [(w, weight) for w, weight in s.weights.items() if w in where]
            if sum(weight for _, weight in present) < t.min_sentence_similarity * s.weight:
                continue
            held: dict[int, float] = defaultdict(float)
            for w, weight in present:
                for u in where[w]:
                    held[u] += weight
            if not held or s.weight <= 0:
                continue
            u, _ = max(held.items(), key=lambda kv: (kv[1], -kv[0]))
            got, first, last = _densest(toks.words, units[u], s)
            similarity = got / s.weight
            if similarity < t.min_sentence_similarity:
                continue
            copied_weight += got
            copied_words += len(set(toks.words[first : last + 1]) & s.weights.keys())
            covered.update(range(first, last + 1))
            span = [toks.starts[first], toks.ends[last]]
            sentences.append({"owned": s.text, "span": span, "similarity": round(similarity, 4)})
        if not sentences:
            return None
        containment = copied_weight / owned.weight if owned.weight > 0 else 0.0
        coverage = len(covered) / len(toks.words)
        by_containment = t.slope * (containment - t.min_containment)
        by_coverage = t.slope * min(
            containment - t.min_containment_covered, coverage - t.min_coverage
        )
        if copied_words < t.min_copied_words_covered:
            by_coverage = min(by_coverage, -0.5)
        evidence = min(max(by_containment, by_coverage), copied_words - t.min_copied_words + 0.5)
        sentences.sort(key=lambda s: s["span"])
        detail: dict[str, Any] = {
            "containment": round(containment, 4),
            "copied_weight": round(copied_weight, 4),
            "owned_weight": round(owned.weight, 4),
            "copied_words": copied_words,
            "coverage": round(coverage, 4),
            "sentences_copied": len(sentences),
            "sentences_owned": len(owned.sentences),
            "sentences": sentences,
            "basis": "containment" if by_containment >= by_coverage else "coverage",
            "min_containment": t.min_containment,
            "min_coverage": t.min_coverage,
            "min_containment_covered": t.min_containment_covered,
            "min_sentence_similarity": t.min_sentence_similarity,
            "min_copied_words": t.min_copied_words,
            "min_copied_words_covered": t.min_copied_words_covered,
            "shingle": "word",
            "truncated": toks.truncated,
        }
        return TextMatch(
            asset=owned.copy.name,
            kind="copy",
            score=_sigmoid(evidence),
            span=(sentences[0]["span"][0], max(s["span"][1] for s in sentences)),
            detail=detail,
            asset_id=owned.copy.asset_id,
        )
