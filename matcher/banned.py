"""Counterfeit wording that gets a listing removed whatever brand it names: "replica", "1:1",
"dupe", "inspired by", "高仿".

Lists (``matcher/data/banned-terms.toml``): terms that are bad anywhere; words that are
innocent alone but name a fake next to a brand or beside "original" ("AAA batteries" is fine,
"AAA Gucci" is not; "Nike style"), some of which still warn alone ("inspired by"); innocent
phrases that hold a term ("1:1 scale", "replica jersey"). Platforms add their own terms. Phrases are found as whole words after the
normalisation marks get, so "R E P L I C A" is not hidden by its spacing and "Réplica" is found
by "replica".
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from matcher.normalize import TOKEN, normalize
from matcher.phrases import PhraseSet, words

NEAR_WORDS = 2  # words between a near-brand term and the brand


@dataclass(frozen=True)
class Term:
    """A banned phrase: its language, the platform that bans it ("" for all) and why."""

    text: str
    language: str = ""
    platform: str = ""
    near_brand: bool = False
    reason: str = ""
    alone: bool = False  # a near-brand term that warns when it stands beside no brand
    copy: bool = False  # a near-brand term that also blocks beside an "original" word


@dataclass(frozen=True)
class TermHit:
    term: Term
    span: tuple[int, int]  # offsets in the text as given
    shown: str
    brand: str = ""  # the brand (or "original"-word) a near-brand term stands beside
    severity: str = "block"  # block, or warn for a suspect word alone


@functools.cache
def bundled() -> dict[str, Any]:
    return tomllib.loads(
        (resources.files("matcher") / "data" / "banned-terms.toml").read_text("utf-8")
    )


def terms_of(data: dict[str, Any], extra: Iterable[str] = ()) -> list[Term]:
    """Every term of a banned-terms table, plus the user's ``extra`` terms (anywhere, all platforms)."""
    out = [Term(t, language) for language, items in data.get("terms", {}).items() for t in items]
    alone = {words(t) for items in data.get("suspect_alone", {}).values() for t in items}
    copy = {words(t) for items in data.get("copy_words", {}).values() for t in items}
    out += [
        Term(t, language, near_brand=True, alone=words(t) in alone, copy=words(t) in copy)
        for language, items in data.get("near_brand", {}).items()
        for t in items
    ]
    for platform, table in data.get("platforms", {}).items():
        out += [Term(t, "", platform, reason=table.get("reason", "")) for t in table["terms"]]
    out += [Term(t, "", reason="listed in selfcheck.banned_terms of config.toml") for t in extra]
    return out


class BannedTerms:
    """Finds banned wording in listing texts; built once per check run."""

    def __init__(
        self, terms: Sequence[Term], *, originals: Iterable[str] = (), benign: Iterable[str] = ()
    ) -> None:
        self.terms = list(terms)
        self._set = PhraseSet((t.text, t) for t in self.terms)
        self._originals = PhraseSet((t, t) for t in originals)
        self._benign = PhraseSet((t, t) for t in benign)

    @classmethod
    def default(cls, extra: Iterable[str] = ()) -> BannedTerms:
        data = bundled()
        return cls(
            terms_of(data, extra),
            originals=[t for items in data.get("near_original", {}).values() for t in items],
            benign=[t for items in data.get("benign", {}).values() for t in items],
        )

    def find(
        self,
        text: str,
        *,
        platform: str = "",
        brands: Sequence[tuple[tuple[int, int], str]] = (),
    ) -> list[TermHit]:
        """Banned terms of ``text`` on ``platform``; ``brands`` are (span, name) of the brand
        names found in it, which near-brand terms need beside them."""
        n = normalize(text)
        found: list[TermHit] = []
        taken = [(h.start, h.end) for h in self._benign.find(n)]  # "1:1 scale" is no fake
        originals: list[tuple[tuple[int, int], str]] | None = None
        for hit in sorted(self._set.find(n), key=lambda h: (h.start, -(h.end - h.start))):
            if any(a <= hit.start and hit.end <= b for a, b in taken):
                continue
            start, end = n.original_span(hit.start, hit.end)
            for term in hit.payloads:
                if term.platform and term.platform != platform:
                    continue
                beside, severity = "", "block"
                if term.near_brand:
                    beside = _beside(text, (start, end), brands)
                    if not beside and (term.alone or term.copy):
                        if originals is None:
                            originals = [
                                (n.original_span(h.start, h.end), h.payloads[0])
                                for h in self._originals.find(n)
                            ]
                        beside = _beside(text, (start, end), originals)
                    if not beside and not term.alone:
                        continue
                    severity = "block" if beside else "warn"
                found.append(TermHit(term, (start, end), text[start:end], beside, severity))
                taken.append((hit.start, hit.end))  # "replica" inside "top quality replica"
                break
        return found


def _beside(text: str, span: tuple[int, int], brands: Sequence[tuple[tuple[int, int], str]]) -> str:
    """The brand within ``NEAR_WORDS`` words of ``span``, if any (the term is not the brand)."""
    start, end = span
    for (a, b), name in brands:
        if a < end and start < b:
            continue
        gap = text[end:a] if a >= end else text[b:start]
        if len(TOKEN.findall(gap)) <= NEAR_WORDS and not any(ch in gap for ch in ".;!?|\n"):
            return name
    return ""
