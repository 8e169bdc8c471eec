"""Text between the store and the matcher: the registered marks and copy, matched against texts.

The matchers are pure (``matcher.marks``, ``matcher.copytext``); this module builds them from
what the workspace holds — word marks with their aliases and the typo budgets of config.toml,
copy texts with the products they describe and those products' list prices — and turns their
results into the JSON of ``listingguard match text``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from listingguard import store
from listingguard.config import Config
from matcher.copytext import CopyIndex, OwnedCopy
from matcher.marks import MAX_CHARS, MarkMatcher, MarkOptions, MarkSpec
from matcher.prices import price_signal
from matcher.textfile import mark_identity
from matcher.textresult import TextMatch


@dataclass
class OwnedText:
    """The owner's marks and copy, ready to match; built once per command."""

    marks: MarkMatcher
    copy: CopyIndex
    assets: dict[int, dict[str, Any]]
    low_price_ratio: float
    authorised_sellers: frozenset[str] = frozenset()  # case-folded names from [[authorised]]

    def match(
        self,
        text: str,
        *,
        seller: str | None = None,
        price: str | None = None,
        min_score: float = 0.5,
        language: str | None = None,
    ) -> dict[str, Any]:
        """The JSON object of one text: ``{"text", "matches": [...], "signals": [...]}``."""
        clipped = text[:MAX_CHARS]
        if seller and seller.strip().casefold() in self.authorised_sellers:
            seller = None  # the owner's own shops and licensees carry the mark by right
        analysis = self.marks.analyse(clipped, seller=seller, price=price, language=language)
        found: list[TextMatch] = [m for m in analysis.matches if m.score >= min_score]
        for m in self.copy.find(clipped, min_score=min_score):
            found.append(self._with_product(m, price))
        found.sort(key=lambda m: (-m.score, m.span[0]))
        out: dict[str, Any] = {
            "text": text,
            "matches": [self._as_json(m) for m in found],
            "signals": analysis.signals,
        }
        if len(text) > MAX_CHARS:
            out["truncated"] = MAX_CHARS  # characters matched
        return out

    def _with_product(self, m: TextMatch, price: str | None) -> TextMatch:
        """A copy match names the product its text describes, and compares the listing's price."""
        asset = self.assets.get(m.asset_id or -1)
        if not asset or not asset.get("product_sku"):
            return m
        detail = dict(m.detail)
        detail["product"] = {"sku": asset["product_sku"], "name": asset["product_name"]}
        reference = _price_text(asset.get("list_price"), asset.get("currency"))
        if reference:
            detail["list_price"] = reference
            if price is not None:
                signal = price_signal(price, reference, ratio=self.low_price_ratio)
                if signal:
                    detail.setdefault("signals", []).append(signal)
        return TextMatch(m.asset, m.kind, m.score, m.span, detail, m.asset_id)

    def _as_json(self, m: TextMatch) -> dict[str, Any]:
        out = m.as_dict()
        asset = self.assets.get(m.asset_id or -1)
        if asset:
            out["rights"] = asset["rights"]
        return out


def _price_text(amount: float | None, currency: str | None) -> str | None:
    return f"{amount:g} {currency or ''}".strip() if amount is not None else None


def _lowest_list_price(db: Database, default_currency: str) -> str | None:
    """The catalogue's lowest list price in its main currency: what a mark-only match is held to.

    A listing that names the mark but no particular product is compared with the cheapest
    product, so the signal never fires for a price that some genuine product has.
    """
    rows = list(
        db.query(
            "SELECT currency, MIN(list_price) AS low, COUNT(*) AS n FROM products "
            "WHERE list_price IS NOT NULL GROUP BY currency ORDER BY n DESC"
        )
    )
    if not rows:
        return None
    row = next((r for r in rows if r["currency"] == default_currency), rows[0])
    return _price_text(row["low"], row["currency"] or default_currency)


def mark_specs(db: Database, config: Config, rows: Iterable[dict[str, Any]]) -> list[MarkSpec]:
    """The registered word marks ``rows``, with their aliases and the typo budget config.toml
    gives them."""
    budgets = {mark_identity(m.text): m.max_edits for m in config.marks}
    list_price = _lowest_list_price(db, config.catalogue.default_currency)
    return [
        MarkSpec(
            text=row["text"],
            aliases=tuple(row["aliases"] or ()),
            max_edits=budgets.get(mark_identity(row["text"])),
            asset_id=row["id"],
            list_price=list_price if row["rights"] == "owned" else None,
        )
        for row in rows
    ]


def owned_copies(rows: Iterable[dict[str, Any]]) -> Iterator[OwnedCopy]:
    for row in rows:
        if row["text"]:
            yield OwnedCopy(name=row["name"], text=row["text"], asset_id=row["id"])


def owned_text(db: Database, config: Config) -> OwnedText:
    """Build the matchers over what the workspace holds now."""
    text = config.matching.text
    options = MarkOptions(
        languages=text.languages,
        common_zipf=text.common_word_zipf,
        low_price_ratio=config.matching.low_price_ratio,
    )
    marks = store.list_assets(db, kind="mark")
    copies = store.list_assets(db, kind="copy")
    prices = {
        r["id"]: r
        for r in db.query(
            "SELECT id, list_price, currency FROM products WHERE list_price IS NOT NULL"
        )
    }
    assets: dict[int, dict[str, Any]] = {}
    for row in [*marks, *copies]:
        product = prices.get(row["product_id"]) if row.get("product_id") else None
        assets[row["id"]] = {
            "rights": row["rights"],
            "product_sku": row.get("product_sku"),
            "product_name": row.get("product_name"),
            "list_price": product["list_price"] if product else None,
            "currency": product["currency"] if product else None,
        }
    return OwnedText(
        marks=MarkMatcher(mark_specs(db, config, marks), options=options),
        copy=CopyIndex(owned_copies(copies)),
        assets=assets,
        low_price_ratio=config.matching.low_price_ratio,
        authorised_sellers=frozenset(
            name.strip().casefold() for a in config.authorised for name in (a.name, *a.seller_names)
        ),
    )
