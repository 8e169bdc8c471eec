"""eBay item pages (the classic ``/itm/`` view item page): one listing.

The listed price is the one in the listing's own currency (``#prcIsum``, or ``#prcIsum_bidPrice``
for an auction); eBay adds a converted price for the visitor's country ("Approximately C $19.38",
``#convbidPrice``) that is never taken, because a takedown quotes what the seller asks. The page's
schema.org microdata (name, one image, price, location) fills fields the page layout lacks.
"""

from __future__ import annotations

import re

from parsel import Selector

from crawler.extract import structured
from crawler.extract.common import (
    absolute_url,
    after_label,
    clean,
    json_after,
    page,
    price_amount,
    unique_urls,
    url_id,
)
from crawler.items import Listing

_ITEM_ID = re.compile(r"/itm/(?:[^/?#]+/)?(\d{9,15})(?:[/?#]|$)")
# Buy It Now first (a firm price), then the current bid, then a discounted price.
_PRICE_IDS = ("prcIsum", "prcIsum_bidPrice", "mm-saleDscPrc")
# Text in the title element that is not the title: the hidden "Details about" label, the
# "show original title" link and its dash on translated titles.
_TITLE_TEXT = (
    ".//text()[not(ancestor::*[contains(@class, 'g-hdn')]) and not(ancestor::a)"
    " and not(ancestor::*[contains(@class, 'it-icon-pd')]) and not(ancestor::script)]"
)
# The same hidden label as it reaches the microdata ``name`` (it is inside the ``itemprop`` element).
_TITLE_PREFIX = re.compile(r"^(?:Details about|Détails sur|Dettagli su|Details zu|Detalles de)\s+")
_BRAND_LABELS = {"brand", "marke", "marque", "marca", "merk", "marka", "бренд"}
_GALLERY = re.compile(r"""['"]imgArr['"]\s*:""")


def extract(html: str, url: str) -> Listing | None:
    """The listing an eBay item page shows, or None when the page is not one."""
    sel = page(html)
    if sel is None:
        return None
    title = _title(sel)
    item_id = _item_id(sel, url)
    if not title and not item_id:
        return None
    fallback = structured.extract(html, url)
    price = _price(sel, url)
    name, seller_url = _seller(sel, url)
    listing = Listing(
        listing_id=item_id or url,
        url=url,
        canonical_url=absolute_url(sel.css("link[rel=canonical]::attr(href)").get(), url),
        title=title,
        description=_description(sel),
        brand=_specific(sel, _BRAND_LABELS),
        price=price[0] if price else None,
        currency=price[1] if price else None,
        image_urls=_gallery(html, sel, url),
        seller_id=name,  # an eBay user id is the member name
        seller_name=name,
        seller_url=seller_url,
        seller_location=_location(sel),
        sales=_sales(sel),
    )
    if fallback:
        _fill(listing, fallback)
    return listing


def _text(element: Selector | None, xpath: str = ".//text()[not(ancestor::script)]") -> str | None:
    return clean(" ".join(element.xpath(xpath).getall())) if element is not None else None


def _first(sel: Selector, css: str) -> Selector | None:
    found = sel.css(css)
    return found[0] if found else None


def _title(sel: Selector) -> str | None:
    title = _text(_first(sel, "#itemTitle"), _TITLE_TEXT)
    return title or _text(_first(sel, "h1.x-item-title__mainTitle"))


def _item_id(sel: Selector, url: str) -> str | None:
    for candidate in (url, sel.css("link[rel=canonical]::attr(href)").get() or ""):
        match = _ITEM_ID.search(candidate)
        if match:
            return match.group(1)
    number = _text(_first(sel, "#descItemNumber"))
    return number if number and number.isdigit() else None


def _price(sel: Selector, url: str) -> tuple[float, str | None] | None:
    """The listed price: the amount from the ``content`` attribute, the currency from the text."""
    for element_id in _PRICE_IDS:
        element = _first(sel, f"#{element_id}")
        shown = price_amount(_text(element), url=url)
        if not shown:
            continue
        # "GBP 12,99" reads as 12.99 either way, but "1.299" would not: the attribute is exact.
        exact = price_amount(element.attrib.get("content"), url=url) if element else None
        return (exact[0] if exact else shown[0]), shown[1]
    return None


def _seller(sel: Selector, url: str) -> tuple[str | None, str | None]:
    """(member name, profile URL) from the seller box."""
    name_element = _first(sel, ".mbg-nw")
    name = _text(name_element)
    if not name or name_element is None:
        return None, None
    href = name_element.xpath("ancestor::a[1]/@href").get()
    seller_url = absolute_url(href, url)
    if seller_url:  # drop eBay's click-tracking query (?_trksid=...)
        seller_url = seller_url.split("?", 1)[0]
    return name, seller_url


def _location(sel: Selector) -> str | None:
    block = _first(sel, "#itemLocation")
    if block is None:
        return None
    return _text(_first(block, "[itemprop=availableAtOrFrom]")) or after_label(_text(block))


def _specific(sel: Selector, labels: set[str]) -> str | None:
    """The value of an item-specifics row whose label is one of ``labels`` ("Brand:")."""
    for cell in sel.css(".itemAttr td, .ux-labels-values__labels"):
        label = (_text(cell) or "").rstrip(": ").lower()
        if label in labels:
            value = cell.xpath("following-sibling::*[1]")
            return _text(value[0]) if value else None
    return None


def _description(sel: Selector) -> str | None:
    """The subtitle eBay shows under the title; the seller's description is in an iframe."""
    return _text(_first(sel, "#subTitle"))


def _gallery(html: str, sel: Selector, url: str) -> list[str]:
    """The gallery in order: the enlarge carousel's ``imgArr`` script, else the thumbnails."""
    entries = json_after(html, _GALLERY)
    urls: list[object] = []
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, dict) and not entry.get("video"):
                urls.append(entry.get("maxImageUrl") or entry.get("displayImgUrl"))
    if not urls:
        # Thumbnails are the gallery at 64 px; eBay serves any size under the same key.
        thumbs = sel.css("#vi_main_img_fs img::attr(src)").getall()
        main = sel.css("#icImg::attr(src)").getall()
        urls.extend(re.sub(r"/s-l\d+\.", "/s-l1600.", u) for u in [*thumbs, *main])
    return unique_urls((u for u in urls if isinstance(u, str)), url)


def _sales(sel: Selector) -> str | None:
    """The quantity sold as the page words it ("6,881 sold", "325 objets déjà vendus")."""
    for css in (".vi-qtyS-hot-red", ".vi-qtyS", "#why2buy .w2b-sgl"):
        text = _text(_first(sel, css))
        if text and re.search(r"\d", text):
            return text
    return None


def _fill(listing: Listing, fallback: Listing) -> None:
    """Fields the layout did not give, from the page's microdata (same page, second source)."""
    for field in ("brand", "seller_location", "availability", "canonical_url"):
        if getattr(listing, field) is None:
            setattr(listing, field, getattr(fallback, field))
    if listing.title is None and fallback.title:
        listing.title = _TITLE_PREFIX.sub("", fallback.title) or fallback.title
    if listing.price is None and fallback.price is not None:
        listing.price, listing.currency = fallback.price, fallback.currency
    if not listing.image_urls:
        listing.image_urls = fallback.image_urls
    if listing.listing_id == listing.url:
        listing.listing_id = url_id(fallback.canonical_url) or listing.url
