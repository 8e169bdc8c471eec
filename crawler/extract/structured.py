"""Any site: a listing from the schema.org Product and OpenGraph data a product page embeds.

Sources, best first: JSON-LD, microdata, RDFa, OpenGraph. Each gives a flat record; the records
are merged field by field, so a field JSON-LD lacks (an image on Argos, a price on a review-only
JSON-LD block) is filled from the next source that has it. Price and currency travel together:
a currency is taken from another source only when the price's own source names none.
"""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import extruct
from parsel import Selector
from w3lib.html import remove_tags

from crawler.extract.common import (
    absolute_url,
    after_label,
    availability,
    clean,
    page,
    price_amount,
    unique_urls,
    url_id,
)
from crawler.items import Listing

_PRODUCT_TYPES = {"product", "productgroup", "productmodel", "individualproduct", "someproducts"}
# Keys under which a product names *other* products (recommendations, accessories): not searched.
_OTHER_PRODUCTS = {"isrelatedto", "issimilarto", "isaccessoryorsparepartfor", "related_products"}
# Marketplaces whose schema.org ``brand`` is the shop that sells the item, and the path of a
# shop's page there (Etsy writes the shop name as the brand of every listing).
_BRAND_IS_SHOP = {"etsy.com": "/shop/"}
_FIELDS = (
    "title", "description", "brand", "images", "ids", "url", "availability",
    "seller_name", "seller_id", "seller_url", "seller_location",
)  # fmt: skip


def extract(html: str, url: str) -> Listing | None:
    """The listing a product page describes in structured data, or None when it describes none."""
    sel = page(html)
    if sel is None:
        return None
    records = [rec for rec in records_of(html, url, sel=sel) if rec]
    if not any(rec.get("is_product") for rec in records):
        return None
    merged = _merge(records)
    canonical = _canonical(sel, url) or merged.get("url")
    ids = merged.get("ids") or []
    # The page's own URL names the listing; a SKU names the product, and on a marketplace many
    # sellers list one product under the same SKU (a counterfeit often copies the genuine one).
    listing = Listing(
        listing_id=url_id(canonical or url) or (ids[0] if ids else url),
        url=url,
        canonical_url=canonical,
        title=merged.get("title"),
        description=merged.get("description"),
        brand=merged.get("brand"),
        price=merged.get("price"),
        currency=merged.get("currency"),
        image_urls=merged.get("images") or [],
        seller_id=merged.get("seller_id"),
        seller_name=merged.get("seller_name"),
        seller_url=merged.get("seller_url"),
        seller_location=merged.get("seller_location"),
        availability=merged.get("availability"),
    )
    _brand_as_shop(listing, sel)
    return listing


def records_of(html: str, url: str, *, sel: Selector | None = None) -> list[dict[str, Any]]:
    """One flat record per source (JSON-LD, microdata, RDFa, OpenGraph), best source first."""
    sel = sel if sel is not None else page(html)
    if sel is None:
        return []
    data: dict[str, list[Any]] = {}
    syntaxes = _syntaxes_present(html)
    try:
        if syntaxes:
            data = extruct.extract(
                html, base_url=url, syntaxes=syntaxes, uniform=True, errors="ignore"
            )
    except Exception:  # lxml and rdflib raise many types on hostile markup: no structured data
        data = {}
    products = [
        _best(_products(_json_ld(sel))),
        _best(_products(data.get("microdata") or [])),
        _best(_products(_rdfa_nodes(data.get("rdfa") or []))),
    ]
    records = [_product_record(p, url) if p else {} for p in products]
    records.append(_opengraph_record(data.get("opengraph") or [], url))
    return records


_MARKERS = {
    "microdata": re.compile(r"\bitem(?:scope|prop|type)\b", re.I),
    "rdfa": re.compile(r"\b(?:typeof|vocab)\s*=", re.I),  # a typed RDFa node needs typeof
    "opengraph": re.compile(r"""property\s*=\s*["']?(?:og|product):""", re.I),
}


def _syntaxes_present(html: str) -> list[str]:
    """The extruct syntaxes whose markup appears in the page at all.

    RDFa parsing builds an RDF graph even for a page without RDFa and costs about 10 ms a page,
    most of a listing page's parse; a cheap look for each syntax's attributes first skips it.
    """
    return [name for name, marker in _MARKERS.items() if marker.search(html)]


def _json_ld(sel: Selector) -> list[Any]:
    """Every JSON-LD block of the page that parses; a broken block is skipped, not fatal.

    Parsed here rather than by extruct, whose JSON-LD step gives up on the whole page when one
    block is broken (a stray comma in a tracking block would hide the Product block beside it).
    """
    scripts = sel.xpath(
        '//script[contains(translate(@type, "LDJSON", "ldjson"), "ld+json")]/text()'
    )
    blocks = []
    for script in scripts.getall():
        text = re.sub(r"^\s*(?:<!--|//<!\[CDATA\[)|(?:-->|//\]\]>)\s*$", "", script)
        try:
            blocks.append(json.loads(text, strict=False))
        except ValueError:
            continue
    return blocks


def _rdfa_nodes(nodes: list[Any]) -> list[dict[str, Any]]:
    """RDFa's expanded graph (full IRIs, ``@value`` lists, ``@id`` links) as plain schema.org dicts."""
    by_id = {n.get("@id"): n for n in nodes if isinstance(n, dict) and n.get("@id")}

    def short(iri: str) -> str:
        return re.split(r"[/#:]", iri.rstrip("/"))[-1]

    def convert(node: dict[str, Any], seen: frozenset[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        types = node.get("@type") or []
        if types:
            out["@type"] = [short(t) for t in types if isinstance(t, str)]
        for key, values in node.items():
            if key.startswith("@") or not isinstance(values, list):
                continue
            items = []
            for value in values:
                if not isinstance(value, dict):
                    continue
                if "@value" in value:
                    items.append(value["@value"])
                elif value.get("@id") in by_id and value["@id"] not in seen:
                    items.append(convert(by_id[value["@id"]], seen | {value["@id"]}))
                elif "@id" in value:
                    items.append(value["@id"])
            if items:
                out[short(key)] = items[0] if len(items) == 1 else items
        return out

    return [
        convert(n, frozenset({n.get("@id", "")}))
        for n in nodes
        if isinstance(n, dict) and n.get("@type")
    ]


def _type_names(node: dict[str, Any]) -> set[str]:
    types = node.get("@type")
    types = types if isinstance(types, list) else [types]
    return {re.split(r"[/#:]", t)[-1].lower() for t in types if isinstance(t, str)}


def _products(blocks: list[Any]) -> list[dict[str, Any]]:
    """The Product nodes of some structured data, outermost first (``@graph``, lists, nesting)."""
    found: list[dict[str, Any]] = []
    queue: list[Any] = list(blocks)
    while queue:
        item = queue.pop(0)
        if isinstance(item, list):
            queue.extend(item)
        elif isinstance(item, dict):
            if _type_names(item) & _PRODUCT_TYPES:
                found.append(item)
            for key, value in item.items():
                if key.lower() not in _OTHER_PRODUCTS and isinstance(value, dict | list):
                    queue.append(value)
        if len(found) > 200:
            break
    return found


def _best(products: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The page's own product: the first with the most of price, name and image.

    Pages list recommended products too (Argos's "customers also viewed" slider is microdata
    Products with a name and a rating but no offer), and the page's product is the one that sells.
    """

    def score(product: dict[str, Any]) -> int:
        return (
            2 * bool(_offers(product)) + bool(_get(product, "name")) + bool(_get(product, "image"))
        )

    return max(products, key=score) if products else None  # max keeps the first of equals


def _get(node: Any, *names: str) -> Any:
    """``node[name]`` for the first name present, matching case and ``schema:`` prefixes loosely."""
    if not isinstance(node, dict):
        return None
    keys = {k.rsplit(":", 1)[-1].lower(): k for k in node if isinstance(k, str)}
    for name in names:
        key = keys.get(name.lower())
        if key is not None and node[key] not in (None, "", []):
            return node[key]
    return None


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _text(value: Any, *, names: tuple[str, ...] = ("name",)) -> str | None:
    """A text value given as a string, a number, an object with a name, or a list of those."""
    value = _first(value)
    if isinstance(value, dict):
        value = _first(_get(value, *names))
    return clean(value, unescape=True) if isinstance(value, str | int | float) else None


def _offers(product: dict[str, Any]) -> list[dict[str, Any]]:
    """The offers with an amount (an Offer, AggregateOffer, nested offers, variants' offers)."""
    found: list[dict[str, Any]] = []
    queue: list[Any] = [_get(product, "offers")]
    variants = _get(product, "hasVariant")
    if variants:
        queue.extend(
            _get(v, "offers") for v in (variants if isinstance(variants, list) else [variants])
        )
    while queue and len(found) < 100:
        item = queue.pop(0)
        if isinstance(item, list):
            queue.extend(item)
        elif isinstance(item, dict):
            spec = _first(_get(item, "priceSpecification"))
            if _get(item, "price", "lowPrice") is not None or _get(spec, "price") is not None:
                found.append(item)
            elif _get(item, "offers"):
                queue.append(_get(item, "offers"))
    return found


def _offer_price(offer: dict[str, Any], url: str) -> tuple[float, str | None] | None:
    spec = _first(_get(offer, "priceSpecification"))
    amount = _first(_get(offer, "price", "lowPrice"))
    currency = _first(_get(offer, "priceCurrency"))
    if amount is None and isinstance(spec, dict):
        amount, currency = _first(_get(spec, "price")), _first(_get(spec, "priceCurrency"))
    if isinstance(amount, str | int | float) and not isinstance(amount, bool):
        return price_amount(amount, currency=_text(currency), url=url)
    return None


def _product_record(product: dict[str, Any], url: str) -> dict[str, Any]:
    """A schema.org Product node (from any syntax) as a flat record of ``Listing`` fields."""
    record: dict[str, Any] = {"is_product": True}
    record["title"] = _text(_get(product, "name"))
    description = _text(_get(product, "description"))
    record["description"] = clean(remove_tags(description)) if description else None
    brand = _text(_get(product, "brand", "manufacturer"))
    record["brand"] = after_label(brand)
    record["images"] = unique_urls(_image_urls(_get(product, "image")), url)
    # An id is one token: an "mpn" of "Fake Wounds" is a description, and the URL's id is better.
    record["ids"] = [
        i
        for key in ("sku", "productID", "mpn", "gtin13", "gtin", "gtin12", "gtin14", "gtin8")
        if (i := _text(_get(product, key))) and " " not in i
    ]
    record["url"] = absolute_url(_text(_get(product, "url")), url)
    offers = _offers(product)
    priced = [(p, o) for o in offers if (p := _offer_price(o, url))]
    if priced:
        currency = priced[0][0][1]
        same = [(p, o) for p, o in priced if p[1] == currency]
        (amount, currency), offer = min(same, key=lambda po: po[0][0])
        record["price"], record["currency"] = amount, currency
    else:
        offer = offers[0] if offers else _first(_get(product, "offers"))
    offer = offer if isinstance(offer, dict) else {}
    record["availability"] = availability(_get(offer, "availability")) or availability(
        next((_get(o, "availability") for o in offers if _get(o, "availability")), None)
    )
    seller = _first(_get(offer, "seller") or next((_get(o, "seller") for o in offers), None))
    record["seller_name"] = _text(seller, names=("name", "legalName", "alternateName"))
    if isinstance(seller, dict):
        record["seller_id"] = _text(_get(seller, "identifier", "@id"))
        record["seller_url"] = absolute_url(_text(_get(seller, "url")), url)
    outer = _first(_get(product, "offers"))  # eBay nests the priced Offer in the one with the place
    record["seller_location"] = _place(_get(offer, "availableAtOrFrom")) or _place(
        _get(outer, "availableAtOrFrom")
    )
    return record


def _image_urls(value: Any) -> list[Any]:
    """Image URLs given as a string, an ImageObject (url, contentUrl), or a list of those."""
    items = value if isinstance(value, list) else [value]
    urls = []
    for item in items:
        if isinstance(item, dict):
            item = _first(_get(item, "contentUrl", "url", "@id"))
        if isinstance(item, str):
            urls.append(unescape(item))  # "&amp;" written inside JSON-LD
    return urls


def _place(value: Any) -> str | None:
    """A place as text: given as text, or a Place's address (locality, region, country)."""
    value = _first(value)
    if isinstance(value, str):
        return clean(value, unescape=True)
    address = _first(_get(value, "address")) if isinstance(value, dict) else None
    if isinstance(address, str):
        return clean(address, unescape=True)
    if isinstance(address, dict):
        parts = [
            _text(_get(address, key), names=("name",))
            for key in ("addressLocality", "addressRegion", "addressCountry")
        ]
        return ", ".join(p for p in parts if p) or None
    return _text(value) if isinstance(value, dict) else None


def _opengraph_record(blocks: list[Any], url: str) -> dict[str, Any]:
    """OpenGraph (``og:``, ``product:``) as a record; a product only when it says so or has a price."""
    og: dict[str, Any] = {}
    for block in blocks:
        if isinstance(block, dict):
            for key, value in block.items():
                og.setdefault(key, value)
    if not og:
        return {}

    def value(*keys: str) -> str | None:
        return next((v for k in keys if (v := _text(og.get(k)))), None)

    amount = value("product:price:amount", "og:price:amount", "product:sale_price:amount")
    currency = value("product:price:currency", "og:price:currency", "product:sale_price:currency")
    price = price_amount(amount, currency=currency, url=url) if amount else None
    images = og.get("og:image:secure_url") or og.get("og:image")
    record: dict[str, Any] = {
        "is_product": bool(price) or "product" in str(og.get("@type", "")).lower(),
        "title": value("og:title"),
        "description": value("og:description"),
        "brand": after_label(value("product:brand", "og:brand")),
        "images": unique_urls(images if isinstance(images, list) else [images], url),
        "ids": [i for i in [value("product:retailer_item_id")] if i],
        "url": absolute_url(value("og:url"), url),
        "availability": availability(value("product:availability", "og:availability")),
    }
    if price:
        record["price"], record["currency"] = price
    return record


def _merge(records: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for field in _FIELDS:
        merged[field] = next((r[field] for r in records if r.get(field)), None)
    priced = next((r for r in records if r.get("price")), None)
    if priced:
        merged["price"] = priced["price"]
        merged["currency"] = priced.get("currency") or next(
            (r["currency"] for r in records if r.get("currency")), None
        )
    return merged


def _canonical(sel: Selector, url: str) -> str | None:
    """The page's ``<link rel=canonical>``, else its ``og:url``, made absolute."""
    for href in (
        sel.xpath('//link[translate(@rel, "CANONICAL", "canonical")="canonical"]/@href').get(),
        sel.xpath('//meta[@property="og:url"]/@content').get(),
    ):
        absolute = absolute_url(href, url)
        if absolute:
            return absolute
    return None


def _brand_as_shop(listing: Listing, sel: Selector) -> None:
    """On a marketplace whose ``brand`` is the shop, the shop is also the seller."""
    host = (urlsplit(listing.url).hostname or "").lower()
    path = next(
        (p for site, p in _BRAND_IS_SHOP.items() if host == site or host.endswith("." + site)), None
    )
    if not path or not listing.brand or listing.seller_name:
        return
    listing.seller_name = listing.seller_id = listing.brand
    hrefs = sel.xpath("//a/@href").getall()
    wanted = f"{path}{listing.brand}".lower()
    for href in hrefs:
        absolute = absolute_url(href, listing.url)
        if absolute and urlsplit(absolute).path.lower().rstrip("/").endswith(wanted):
            listing.seller_url = absolute.split("?", 1)[0].split("#", 1)[0]
            break
