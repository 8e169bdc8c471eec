"""Amazon product pages (every storefront, raw HTML or a browser snapshot): one listing.

Amazon pages carry no schema.org data, so the fields come from the page's own elements: the buy
box for the price and the seller, the ``colorImages`` script for the gallery. The buy box is read
only where it is: an out-of-stock page shows other products' prices in comparison widgets and
"customers also bought" strips, and a page-wide price selector would pick one of those up.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

from parsel import Selector

from crawler.extract.common import (
    absolute_url,
    after_label,
    availability,
    clean,
    json_after,
    page,
    price_amount,
    unique_urls,
)
from crawler.items import Listing

_ASIN_IN_URL = re.compile(r"/(?:dp|gp/product|gp/aw/d|product)/([A-Z0-9]{10})(?:[/?#]|$)")
# Buy-box prices, the price a buyer pays first; old (priceblock_*) and new (corePrice) layouts.
_PRICE_SELECTORS = (
    "#price_inside_buybox",
    "#newBuyBoxPrice",
    "#priceblock_dealprice",
    "#priceblock_ourprice",
    "#priceblock_saleprice",
    "#corePrice_feature_div .a-price .a-offscreen",
    "#corePriceDisplay_desktop_feature_div .a-price .a-offscreen",
    "#corePrice_desktop .a-price .a-offscreen",
    "#apex_desktop .a-price .a-offscreen",
    "#buybox .a-price .a-offscreen",
    "#desktop_buybox .a-price .a-offscreen",
)
_GALLERY = re.compile(r"""['"]colorImages['"]\s*:\s*\{\s*['"]initial['"]\s*:""")
# "Ships from and sold by X.", "Sold by X and Fulfilled by Amazon.", "Verkauf und Versand durch
# Amazon.", "Expédié et vendu par Amazon.", "Venduto da X e spedito da Amazon.", "Vendido y
# enviado por X.": the seller follows the sold-by verb, and a shipping clause or a full stop ends it.
_SOLD_BY = re.compile(
    r"\b(?:sold|verkauf|vendu|venduto|vendido)(?:\s+(?:and|und|et|e|y)\s+\w+)?\s+"
    r"(?:by|durch|par|da|por)\s+(.+?)"
    r"(?:\s+(?:and|und|et|e|y)\s+(?:fulfilled|shipped|dispatched|versand|expédié|spedito|enviado)\b"
    r"|\.(?:\s|$)|$)",
    re.IGNORECASE,
)
# The byline around a brand: "Visit the X Store", "Besuchen Sie den X-Store", "Visiter la boutique
# X", "Visita lo Store di X", "Visita la tienda de X"; "Brand: X" and "Marke: X" go by the colon.
_BYLINE = (
    re.compile(r"^Visit the (.+?) Store$", re.IGNORECASE),
    re.compile(r"^Besuchen Sie den (.+?)-Store$", re.IGNORECASE),
    re.compile(r"^Visiter la boutique (.+)$", re.IGNORECASE),
    re.compile(r"^Visita lo Store di (.+)$", re.IGNORECASE),
    re.compile(r"^Visita la tienda de (.+)$", re.IGNORECASE),
)
_SALES = re.compile(r"\d[\d.,]*\s*[KkMm]?\+?\s+bought in (?:the )?past (?:day|week|month)")


def extract(html: str, url: str) -> Listing | None:
    """The listing an Amazon product page shows, or None when the page is not one."""
    sel = page(html)
    if sel is None:
        return None
    title = _text(sel, "#productTitle") or _text(sel, "#title")
    asin = _asin(sel, url)
    if not title and not asin:
        return None
    canonical = absolute_url(sel.css("link[rel=canonical]::attr(href)").get(), url)
    price = _price(sel, url)
    seller_name, seller_id, seller_url = _seller(sel, url)
    return Listing(
        listing_id=asin or canonical or url,
        url=url,
        canonical_url=canonical,
        title=title,
        description=_description(sel),
        brand=_brand(sel),
        price=price[0] if price else None,
        currency=price[1] if price else None,
        image_urls=_gallery(html, sel, url),
        seller_id=seller_id,
        seller_name=seller_name,
        seller_url=seller_url,
        availability=availability(_text(sel, "#availability")),
        sales=_sales(sel),
    )


def _text(sel: Selector, css: str) -> str | None:
    """The text of the first element ``css`` finds whose text is not empty (scripts left out)."""
    for element in sel.css(css):
        parts = element.xpath(".//text()[not(ancestor::script) and not(ancestor::style)]").getall()
        text = clean(" ".join(parts))
        if text:
            return text
    return None


def _asin(sel: Selector, url: str) -> str | None:
    for candidate in (url, sel.css("link[rel=canonical]::attr(href)").get() or ""):
        match = _ASIN_IN_URL.search(candidate)
        if match:
            return match.group(1)
    value = clean(sel.css("input#ASIN::attr(value), input[name=ASIN]::attr(value)").get())
    return value if value and re.fullmatch(r"[A-Z0-9]{10}", value) else None


def _price(sel: Selector, url: str) -> tuple[float, str | None] | None:
    for css in _PRICE_SELECTORS:
        price = price_amount(_text(sel, css), url=url)
        if price:
            return price
    return None


def _seller(sel: Selector, url: str) -> tuple[str | None, str | None, str | None]:
    """(name, id, profile URL) of the buy box's seller; Amazon itself has no id or profile here."""
    link = sel.css("#sellerProfileTriggerId")
    name = _text(sel, "#sellerProfileTriggerId")
    if name:
        href = link.attrib.get("href") or link.xpath("ancestor::a[1]/@href").get()
        seller_url = absolute_url(href, url)
        ids = parse_qs(urlsplit(seller_url or "").query).get("seller") or [None]
        return name, ids[0], seller_url
    for css in ("#merchant-info", "#tabular-buybox", "#shipsFromSoldBy_feature_div"):
        for element in sel.css(css):
            text = clean(" ".join(element.xpath(".//text()[not(ancestor::script)]").getall()))
            match = _SOLD_BY.search(text or "")
            if match:
                return clean(match.group(1)), None, None
    return None, None, None


def _brand(sel: Selector) -> str | None:
    byline = _text(sel, "#bylineInfo") or _text(sel, "#brand")
    if not byline:
        return None
    for pattern in _BYLINE:
        match = pattern.match(byline)
        if match:
            return clean(match.group(1))
    return after_label(byline)


def _description(sel: Selector) -> str | None:
    bullets = [
        clean(" ".join(li.xpath(".//text()[not(ancestor::script)]").getall()))
        for li in sel.css("#feature-bullets li")
    ]
    parts = [b for b in bullets if b]
    body = _text(sel, "#productDescription")
    if body:
        parts.append(body)
    return "\n".join(parts) or None


def _gallery(html: str, sel: Selector, url: str) -> list[str]:
    """The gallery in order: the ``colorImages`` script, else the main image's attributes."""
    entries = json_after(html, _GALLERY)
    urls: list[object] = []
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, dict):
                urls.append(entry.get("hiRes") or entry.get("large") or entry.get("mainUrl"))
    if not urls:
        image = sel.css("#landingImage, #imgBlkFront, #main-image")
        urls.append(image.attrib.get("data-old-hires") if image else None)
        dynamic = image.attrib.get("data-a-dynamic-image") if image else None
        try:
            sizes = json.loads(dynamic) if dynamic else {}
        except ValueError:
            sizes = {}
        if isinstance(sizes, dict):  # {url: [width, height]}: the largest first
            urls.extend(sorted(sizes, key=lambda u: -_area(sizes[u])))
        urls.append(image.attrib.get("src") if image else None)
    return unique_urls((u for u in urls if isinstance(u, str) and not u.startswith("data:")), url)


def _area(size: object) -> int:
    if isinstance(size, list) and len(size) == 2 and all(isinstance(n, int) for n in size):
        return size[0] * size[1]
    return 0


def _sales(sel: Selector) -> str | None:
    """A sales figure where the page shows one ("500+ bought in past month"); ratings are not sales."""
    text = _text(sel, "#social-proofing-faceout-title-tk_bought") or ""
    match = _SALES.search(text) or _SALES.search(_text(sel, "#centerCol") or "")
    return clean(match.group(0)) if match else None
