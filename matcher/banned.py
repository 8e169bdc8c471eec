"""Counterfeit wording that gets a listing removed whatever brand it names: "replica", "1:1",
"dupe", "inspired by", "高仿".

Two lists (``matcher/data/banned-terms.toml``): terms that are bad anywhere, and words that are
innocent alone but name a fake next to a brand ("AAA batteries" is fine, "AAA Gucci" is not;
"Nike style"). Platforms add their own terms. Phrases are found as whole words after the
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
from matcher.phrases import PhraseSet

NEAR_WORDS = 2  # words between a near-brand term and the brand


@dataclass(frozen=True)
class Term:
    """A banned phrase: its language, the platform that bans it ("" for all) and why."""

    text: str
    language: str = ""
    platform: str = ""
    near_brand: bool = False
    reason: str = ""


@dataclass(frozen=True)
class TermHit:
    term: Term
    span: tuple[int, int]  # offsets in the text as given
    shown: str
    brand: str = ""  # the brand a near-brand term stands beside


@functools.cache
def bundled() -> dict[str, Any]:
    return tomllib.loads(
        (resources.files("matcher") / "data" / "banned-terms.toml").read_text("utf-8")
    )


def terms_of(data: dict[str, Any], extra: Iterable[str] = ()) -> list[Term]:
    """Every term of a banned-terms table, plus the user's ``extra`` terms (anywhere, all platforms)."""
    out = [Term(t, language) for language, items in data.get("terms", {}).items() for t in items]
    out += [
        Term(t, language, near_brand=True)
        for language, items in data.get("near_brand", {}).items()
        for t in items
    ]
    for platform, table in data.get("platforms", {}).items():
        out += [Term(t, "", platform, reason=table.get("reason", "")) for t in table["terms"]]
    out += [Term(t, "", reason="listed in selfcheck.banned_terms of config.toml") for t in extra]
    return out


class BannedTerms:
    """Finds banned wording in listing texts; built once per check run."""

    def __init__(self, terms: Sequence[Term]) -> None:
        self.terms = list(terms)
        self._set = PhraseSet((t.text, t) for t in self.terms)

    @classmethod
    def default(cls, extra: Iterable[str] = ()) -> BannedTerms:
        return cls(terms_of(bundled(), extra))

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
        taken: set[tuple[int, int]] = set()
        for hit in sorted(self._set.find(n), key=lambda h: (h.start, -(h.end - h.start))):
            start, end = n.original_span(hit.start, hit.end)
            if any(a < end and start < b for a, b in taken):
                continue  # "replica" inside "top quality replica" already reported
            for term in hit.payloads:
                if term.platform and term.platform != platform:
                    continue
                brand = ""
                if term.near_brand:
                    brand = _beside(text, (start, end), brands)
                    if not brand:
                        continue
                found.append(TermHit(term, (start, end), text[start:end], brand))
                taken.add((start, end))
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
