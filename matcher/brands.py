"""The bundled list of widely known brands: other people's marks a seller must not use as its own.

The list is data (``matcher/data/known-brands.toml``): one table per product category,
``[ambiguous]`` naming the brands that are also common words ("Apple", "Shell", "Ring"), which
only count written as the brand writes itself, never as a typo, and ``[aliases]``: the other
names a brand goes by (耐克 is Nike, "North Face" The North Face).
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
    aliases: tuple[str, ...] = ()


@functools.cache
def _load() -> tuple[tuple[KnownBrand, ...], frozenset[str]]:
    raw = tomllib.loads(
        (resources.files("matcher") / "data" / "known-brands.toml").read_text("utf-8")
    )
    ambiguous = frozenset(mark_identity(n) for n in raw.get("ambiguous", {}).get("names", ()))
    aliases = {mark_identity(k): tuple(v) for k, v in raw.get("aliases", {}).items()}
    tables = {k: v for k, v in raw.items() if k not in ("ambiguous", "aliases")}
    brands = tuple(
        KnownBrand(
            name,
            category,
            mark_identity(name) in ambiguous,
            aliases.get(mark_identity(name), ()),
        )
        for category, table in tables.items()
        for name in table.get("brands", ())
    )
    return brands, frozenset(tables)


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
