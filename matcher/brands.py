"""The bundled list of widely known brands: other people's marks a seller must not use as its own.

The list is data (``matcher/data/known-brands.toml``): one table per product category, and
``[ambiguous]`` naming the brands that are also common words ("Apple", "Shell", "Ring"), which
only count written as the brand writes itself, never as a typo.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from matcher.textfile import mark_identity


@dataclass(frozen=True)
class KnownBrand:
    name: str
    category: str
    ambiguous: bool = False


@functools.cache
def _load() -> tuple[tuple[KnownBrand, ...], frozenset[str]]:
    raw = tomllib.loads(
        (resources.files("matcher") / "data" / "known-brands.toml").read_text("utf-8")
    )
    ambiguous = frozenset(mark_identity(n) for n in raw.get("ambiguous", {}).get("names", ()))
    brands = tuple(
        KnownBrand(name, category, mark_identity(name) in ambiguous)
        for category, table in raw.items()
        if category != "ambiguous"
        for name in table.get("brands", ())
    )
    return brands, frozenset(c for c in raw if c != "ambiguous")


def categories() -> frozenset[str]:
    """The category names a config may leave out (``selfcheck.ignore_categories``)."""
    return _load()[1]


def known_brands(
    *, ignore: Iterable[str] = (), ignore_categories: Iterable[str] = ()
) -> list[KnownBrand]:
    """The bundled brands, less those the user trims (by name, case aside, or by category)."""
    dropped = {mark_identity(n) for n in ignore}
    skipped = set(ignore_categories)
    return [
        b for b in _load()[0] if b.category not in skipped and mark_identity(b.name) not in dropped
    ]
