"""The WooCommerce Store API: ``GET /wp-json/wc/store/v1/products?search=...``, a list of products.

Public on every WooCommerce shop (no key), so a WordPress shop is read from its catalogue. Prices
are strings in the currency's minor unit ("1105" with ``currency_minor_unit`` 2 is 11.05), which
is why they are not read with a price parser.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from w3lib.html import replace_entities

from crawler.extract import ExtractError
from crawler.extract.common import absolute_url, clean, unique_urls
from crawler.extract.shopify import html_text
from crawler.items import Listing


def parse_products(data: Any, base_url: str) -> list[Listing]:
    """The listings of a Store API product list. A malformed product is skipped; a body that is
    not a list (an error object, an HTML page) raises ``ExtractError``."""
    if not isinstance(data, list):
        shown = f"an object with code {data.get('code')!r}" if isinstance(data, Mapping) else None
        raise ExtractError(
            "not a WooCommerce Store API product list: expected a JSON list, got "
            + (shown or type(data).__name__)
        )
    base = base_url if base_url.endswith("/") else base_url + "/"
    listings = []
    for product in data:
        listing = _listing(product, base)
        if listing is not None:
            listings.append(listing)
    return listings


def _listing(product: Any, base: str) -> Listing | None:
    """One product as a listing, or None when it lacks an id or a permalink."""
    if not isinstance(product, Mapping):
        return None
    product_id = product.get("id")
    url = absolute_url(product.get("permalink"), base)
    if isinstance(product_id, bool) or not isinstance(product_id, int | str) or not url:
        return None
    prices = product.get("prices") if isinstance(product.get("prices"), Mapping) else {}
    currency = clean(prices.get("currency_code"))
    images = product.get("images") if isinstance(product.get("images"), list) else []
    return Listing(
        listing_id=str(product_id),
        url=url,
        canonical_url=url,
        # Names are sent with entities (``&#8211;``); they are text, never markup, once decoded.
        title=clean(replace_entities(product["name"]))
        if isinstance(product.get("name"), str)
        else None,
        description=html_text(product.get("description"))
        or html_text(product.get("short_description")),
        brand=_brand(product.get("brands")),
        price=_minor_units(prices.get("price"), prices.get("currency_minor_unit")),
        currency=currency.upper() if currency else None,
        image_urls=unique_urls((i.get("src") for i in images if isinstance(i, Mapping)), base),
        seller_id=urlsplit(base).hostname,
        seller_name=urlsplit(base).hostname,
        seller_url=base,
        availability=_availability(product),
    )


def _minor_units(amount: Any, minor_unit: Any) -> float | None:
    """A price in minor units as a float in major units: ("1105", 2) is 11.05; None unless > 0.

    >>> _minor_units("1105", 2), _minor_units("500", 0), _minor_units("abc", 2)
    (11.05, 500.0, None)
    """
    if isinstance(amount, bool) or not isinstance(amount, str | int):
        return None
    unit = minor_unit if isinstance(minor_unit, int) and not isinstance(minor_unit, bool) else 2
    if not 0 <= unit <= 4:
        return None
    try:
        value = Decimal(str(amount).strip()).scaleb(-unit)
    except InvalidOperation:
        return None
    return float(value) if value.is_finite() and value > 0 else None


def _availability(product: Mapping[str, Any]) -> str | None:
    in_stock, purchasable = product.get("is_in_stock"), product.get("is_purchasable")
    if in_stock is False or purchasable is False:
        return "OutOfStock"
    if in_stock is True:
        return "InStock"
    return None


def _brand(brands: Any) -> str | None:
    """The first brand's name (``brands`` is a list of terms, on stores with WooCommerce Brands)."""
    if not isinstance(brands, list):
        return None
    for brand in brands:
        if isinstance(brand, Mapping) and isinstance(brand.get("name"), str):
            return clean(replace_entities(brand["name"]))
    return None
