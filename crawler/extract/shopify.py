"""Shopify's public storefront JSON: ``/products.json``, ``/products/<handle>.json``, search, shop.

Every Shopify store answers these without a key, so a counterfeit shop on Shopify is read from its
catalogue instead of its themed pages. The JSON has no currency (prices are strings in the shop's
currency, "19.99"), so the caller passes the shop's, from config or ``/meta.json``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from w3lib.html import remove_tags, remove_tags_with_content, replace_entities

from crawler.extract import ExtractError
from crawler.extract.common import clean, price_amount, unique_urls
from crawler.items import Listing

# Where a block of HTML ends a line of text: paragraphs, line breaks, list items, headings.
_BREAK = re.compile(r"<br\s*/?>|</(?:p|div|li|h[1-6]|tr|blockquote|ul|ol|table)\s*>", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\r\f\v\xa0]+")


def html_text(fragment: Any) -> str | None:
    """The text of an HTML fragment (a description), paragraphs kept as lines, or None.

    Scripts and styles go with their content; entities are decoded once, after the tags are gone,
    so an escaped ``&lt;b&gt;`` stays the text "<b>".

    >>> html_text("<p>Soft &amp; warm.</p><p>Wool<br>100%</p><script>alert(1)</script>")
    'Soft & warm.\\nWool\\n100%'
    """
    if not isinstance(fragment, str) or not fragment.strip():
        return None
    text = remove_tags_with_content(fragment, which_ones=("script", "style", "template"))
    text = remove_tags(_BREAK.sub("\n", text))
    text = _CONTROL.sub("", replace_entities(text))
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line) or None


def parse_products(
    data: Any, base_url: str, *, currency: str | None, shop_name: str | None
) -> list[Listing]:
    """The listings of a ``/products.json`` page (``{"products": [...]}``) or of one product
    (``{"product": {...}}``). A malformed product is skipped; a body of another shape raises
    ``ExtractError``.

    ``currency`` is the shop's ISO code (``shop_currency`` of ``/meta.json``); ``shop_name`` names
    the seller, the store's host when None.
    """
    if isinstance(data, Mapping) and isinstance(data.get("products"), list):
        products = data["products"]
    elif isinstance(data, Mapping) and isinstance(data.get("product"), Mapping):
        products = [data["product"]]
    else:
        raise ExtractError(
            f"not a Shopify products response: expected an object with a 'products' list or a "
            f"'product' object, got {_shape(data)}"
        )
    base = base_url if base_url.endswith("/") else base_url + "/"
    seller = clean(shop_name) or urlsplit(base).hostname or base
    listings = []
    for product in products:
        listing = _listing(product, base, currency=clean(currency), seller=seller)
        if listing is not None:
            listings.append(listing)
    return listings


def _listing(product: Any, base: str, *, currency: str | None, seller: str) -> Listing | None:
    """One product as a listing, or None when it lacks an id or a handle (no page to cite)."""
    if not isinstance(product, Mapping):
        return None
    product_id, handle = product.get("id"), clean(product.get("handle"))
    if isinstance(product_id, bool) or not isinstance(product_id, int | str) or not handle:
        return None
    variants = [v for v in _list(product.get("variants")) if isinstance(v, Mapping)]
    available = [v for v in variants if v.get("available") is True]
    prices = [p for p in (_price(v) for v in (available or variants)) if p is not None]
    url = base + "products/" + quote(handle, safe="-_.~")
    images = sorted(
        (i for i in _list(product.get("images")) if isinstance(i, Mapping)),
        key=lambda i: i.get("position") if isinstance(i.get("position"), int) else 1 << 30,
    )
    return Listing(
        listing_id=str(product_id),
        url=url,
        canonical_url=url,
        title=clean(product.get("title")),
        description=html_text(product.get("body_html")),
        brand=clean(product.get("vendor")),
        price=min(prices) if prices else None,
        currency=currency,
        # Protocol-relative "//cdn.shopify.com/..." sources are made https by the store's base.
        image_urls=unique_urls((i.get("src") for i in images), base),
        seller_id=urlsplit(base).hostname,
        seller_name=seller,
        seller_url=base,
        availability=("InStock" if available else "OutOfStock") if variants else None,
    )


def _price(variant: Mapping[str, Any]) -> float | None:
    parsed = price_amount(variant.get("price"))
    return parsed[0] if parsed else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _shape(data: Any) -> str:
    if isinstance(data, Mapping):
        keys = ", ".join(repr(k) for k in list(data)[:5])
        return f"an object with keys {keys}" if keys else "an empty object"
    return type(data).__name__


def suggest_handles(data: Any) -> list[str]:
    """The product handles of a ``/search/suggest.json?...&resources[type]=product`` answer.

    >>> suggest_handles({"resources": {"results": {"products": [{"handle": "wool-socks"}]}}})
    ['wool-socks']
    """
    resources = data.get("resources") if isinstance(data, Mapping) else None
    results = resources.get("results") if isinstance(resources, Mapping) else None
    products = results.get("products") if isinstance(results, Mapping) else None
    if not isinstance(products, list):
        raise ExtractError(
            "not a Shopify search suggestion response: expected resources.results.products, "
            f"got {_shape(data)}"
        )
    handles = (clean(p.get("handle")) for p in products if isinstance(p, Mapping))
    return list(dict.fromkeys(h for h in handles if h))


def shop_currency(meta: Any) -> str | None:
    """The shop's ISO currency from ``/meta.json`` (``{"currency": "EUR", ...}``), or None.

    >>> shop_currency({"name": "Socks & Co", "currency": "eur"}), shop_currency([])
    ('EUR', None)
    """
    code = clean(meta.get("currency")) if isinstance(meta, Mapping) else None
    return code.upper() if code and len(code) == 3 and code.isalpha() else None
