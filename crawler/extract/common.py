"""Helpers every page extractor shares: clean text, absolute URLs, prices, availability, scripts.

Each helper takes what a page shows (a string, perhaps empty, perhaps hostile) and returns a clean
value or ``None``; none raises on bad input, so an extractor can chain them without guards.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector
from price_parser import Price
from w3lib.url import safe_url_string

from matcher.prices import currency_code, parse_price

_SPACE = re.compile(r"\s+")


def page(html: Any) -> Selector | None:
    """The page parsed for CSS and XPath, or None when it is no page at all (not text, empty,
    or refused by lxml): every extractor answers None for those rather than raising."""
    if not isinstance(html, str) or not html.strip():
        return None
    try:
        return Selector(text=html)
    except ValueError:  # lxml refuses the text altogether
        return None


def clean(text: Any, *, unescape: bool = False) -> str | None:
    """``text`` with whitespace collapsed, or None when nothing is left (or it is not text).

    ``unescape`` decodes HTML entities, for text taken from inside a ``<script>`` (JSON-LD), where
    sites often write ``&quot;`` that no HTML parser will decode for us.

    >>> clean("  Tefal  5 Piece\\n Set "), clean("   "), clean("&quot;hey&quot;", unescape=True)
    ('Tefal 5 Piece Set', None, '"hey"')
    """
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        return None
    value = str(text)
    if unescape:
        value = html.unescape(value)
    value = _SPACE.sub(" ", value).strip()
    return value or None


def absolute_url(url: Any, base: str) -> str | None:
    """``url`` made absolute against ``base`` (``//host/x``, ``/x``), or None unless it is http(s).

    >>> absolute_url("//sc01.alicdn.com/kf/a.jpg", "https://www.alibaba.com/p.html")
    'https://sc01.alicdn.com/kf/a.jpg'
    >>> absolute_url("javascript:alert(1)", "https://example.com/") is None
    True
    """
    text = clean(url)
    if not text:
        return None
    try:
        joined = safe_url_string(urljoin(base or "", text))
        parts = urlsplit(joined)
    except ValueError:  # a malformed IPv6 host or port
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return joined


def unique_urls(urls: Iterable[Any], base: str) -> list[str]:
    """The absolute http(s) URLs among ``urls``, first occurrence kept, in order."""
    seen: dict[str, None] = {}
    for url in urls:
        absolute = absolute_url(url, base)
        if absolute:
            seen.setdefault(absolute, None)
    return list(seen)


# Currency symbols that ``matcher.prices.currency_code`` does not know, and codes ISO withdrew but
# sites still send (Yandex Market writes the rouble as "RUR", replaced by "RUB" in 1998).
_MORE_SYMBOLS = {
    "lei": "RON", "₽": "RUB", "руб": "RUB", "руб.": "RUB", "р.": "RUB", "kč": "CZK", "ft": "HUF",
    "₫": "VND", "₱": "PHP", "฿": "THB", "₪": "ILS", "₴": "UAH", "s$": "SGD", "nz$": "NZD",
    "hk$": "HKD", "rur": "RUB", "₹": "INR", "rs.": "RS", "rs": "RS",
}  # fmt: skip
# A symbol several currencies share, and those currencies. The country of the site's domain picks
# one of them when its own currency is among them; else "$" is USD and the others stay unknown.
_SHARED = {
    "$": {"USD", "CAD", "AUD", "MXN", "NZD", "SGD", "HKD", "ARS", "CLP", "COP", "TWD"},
    "JPY/CNY": {"JPY", "CNY"},
    "RS": {"INR", "PKR", "LKR", "NPR"},
    "KR": {"SEK", "NOK", "DKK", "ISK"},
}
_SHARED_DEFAULT = {"$": "USD"}
_COUNTRY_CURRENCY = {
    "ca": "CAD", "au": "AUD", "mx": "MXN", "nz": "NZD", "sg": "SGD", "hk": "HKD", "ar": "ARS",
    "cl": "CLP", "tw": "TWD", "jp": "JPY", "cn": "CNY", "in": "INR", "pk": "PKR", "lk": "LKR",
    "np": "NPR", "se": "SEK", "no": "NOK", "dk": "DKK", "is": "ISK",
}  # fmt: skip


def host_currency(url: str | None) -> str | None:
    """The currency of the country a site's domain names (``ebay.ca`` → CAD), if it has one here."""
    try:
        host = urlsplit(url or "").hostname or ""
    except ValueError:
        return None
    return _COUNTRY_CURRENCY.get(host.rsplit(".", 1)[-1])


def currency_iso(symbol: str | None, *, url: str | None = None) -> str | None:
    """ISO 4217 code of a currency as a page writes it ("C $", "£", "Lei", "RUR", "eur").

    A symbol shared by several currencies is read by the country of ``url``'s domain: "$" is CAD on
    ``ebay.ca`` and USD on ``amazon.com``, "Rs" is PKR on ``olx.com.pk`` and unknown on a ``.com``.

    >>> currency_iso("C $"), currency_iso("$", url="https://www.ebay.ca/itm/1"), currency_iso("Lei")
    ('CAD', 'CAD', 'RON')
    """
    text = clean(symbol)
    if not text:
        return None
    squashed = text.replace(" ", "")
    # A bare "$" is looked at before ``currency_code``, which reads it as USD wherever it is.
    code = (
        "$" if squashed == "$" else _MORE_SYMBOLS.get(squashed.lower()) or currency_code(squashed)
    )
    if code is None and len(squashed) == 2 and squashed.isalpha():
        code = squashed.upper()  # "kr", "Kr"
    if code in _SHARED:
        local = host_currency(url)
        return local if local in _SHARED[code] else _SHARED_DEFAULT.get(code)
    if code is None or len(code) != 3 or not code.isalpha():
        return None
    return _MORE_SYMBOLS.get(code.lower(), code)


_RANGE = re.compile(r"\s+(?:[-–—]|to|bis|à|a)\s+")


def price_amount(
    value: Any, *, currency: str | None = None, url: str | None = None
) -> tuple[float, str | None] | None:
    """(amount, ISO currency or None) of a price as shown, or None when it holds no amount.

    A value over several lines (a theme that prints "109€" twice and then "109") is read from its
    first line with an amount; a range ("$10.99 - $15.99") from its low end. ``currency`` (a code
    or symbol given beside the amount, as ``priceCurrency``) wins over a symbol in the text.

    >>> price_amount("109€\\n109€\\n109"), price_amount("C $19.38"), price_amount(49, currency="GBP")
    ((109.0, 'EUR'), (19.38, 'CAD'), (49.0, 'GBP'))
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        parsed = parse_price(value)
        if not parsed:
            return None
        return float(parsed[0]), currency_iso(currency, url=url)
    if not isinstance(value, str):
        return None
    for line in value[:400].splitlines():
        text = _RANGE.split(line.strip(), maxsplit=1)[0]
        parsed = parse_price(text) if re.search(r"\d", text) else None
        if parsed:
            # price-parser reads "C $19.38" as "$": keep a letter prefix that names the dollar.
            prefixed = re.search(r"\b([A-Z]{1,3}) ?\$", text)
            shown = prefixed.group(1) + "$" if prefixed else Price.fromstring(text).currency
            code = currency_iso(currency, url=url) or currency_iso(shown, url=url)
            return float(parsed[0]), code
    return None


_AVAILABILITY = {
    name.lower(): name
    for name in (
        "InStock", "OutOfStock", "PreOrder", "BackOrder", "Discontinued", "InStoreOnly",
        "LimitedAvailability", "OnlineOnly", "PreSale", "SoldOut", "Reserved", "MadeToOrder",
    )
}  # fmt: skip
# Phrases pages use for stock, in the languages of the marketplaces we crawl. "Out" is tried
# first: "in stock" is part of "not in stock" and "back in stock".
_OUT_PHRASES = (
    "out of stock", "currently unavailable", "not available", "unavailable", "sold out",
    "nicht verfügbar", "derzeit nicht", "ausverkauft", "actuellement indisponible", "indisponible",
    "rupture de stock", "non disponibile", "esaurito", "agotado", "no disponible", "sin stock",
    "нет в наличии",
)  # fmt: skip
_IN_PHRASES = (
    "in stock", "auf lager", "en stock", "disponibilità immediata", "disponibile", "disponible",
    "available", "vorrätig", "en existencia", "in magazzino", "в наличии", "left in stock",
)  # fmt: skip


def availability(value: Any) -> str | None:
    """A schema.org ItemAvailability name for a value or phrase, or None when it names none.

    >>> availability("http://schema.org/InStock"), availability("in stock"), availability("Auf Lager.")
    ('InStock', 'InStock', 'InStock')
    >>> availability("Currently unavailable. We don't know when or if this item will be back in stock.")
    'OutOfStock'
    """
    if isinstance(value, list):
        return next((a for a in map(availability, value) if a), None)
    text = clean(value)
    if not text:
        return None
    name = re.sub(r"[\s_-]", "", text.rstrip("/").rsplit("/", 1)[-1]).lower()
    if name in _AVAILABILITY:
        return _AVAILABILITY[name]
    lowered = text.lower()
    if any(phrase in lowered for phrase in _OUT_PHRASES):
        return "OutOfStock"
    if any(phrase in lowered for phrase in _IN_PHRASES):
        return "InStock"
    return None


def after_label(text: str | None) -> str | None:
    """The value after a label ending in a colon ("Brand: X", "Marque : X"), else the text itself.

    Why the last colon: sites prefix a value with a label in their own language ("Ver mais artigos
    da Marca: Panasonic", "Item location: CN, China"), and a label never follows the value.
    """
    if not text:
        return None
    return clean(text.rsplit(":", 1)[-1]) if ":" in text else text


def json_after(text: str, pattern: str | re.Pattern[str]) -> Any:
    """The JSON array or object that starts right after the first match of ``pattern``, or None.

    Scans brackets (skipping brackets inside strings) to find where the value ends, because a
    regex stops at the wrong bracket: galleries nest objects and URLs hold brackets.
    """
    match = re.search(pattern, text)
    if not match:
        return None
    start = match.end()
    while start < len(text) and text[start] in " \t\r\n":
        start += 1
    if start >= len(text) or text[start] not in "[{":
        return None
    depth, in_string, escaped = 0, False, False
    for end in range(start, min(len(text), start + 2_000_000)):
        char = text[end]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                try:
                    return json.loads(text[start : end + 1])
                except ValueError:
                    return None
    return None


def url_id(url: str | None) -> str | None:
    """A listing id from a product URL: its last run of 5+ digits, else its last path segment.

    >>> url_id("https://www.olx.com.pk/item/infinix-hot-10-iid-1021493409"), url_id("https://x.com/p/abc-def")
    ('1021493409', 'abc-def')
    """
    try:
        path = urlsplit(url or "").path
    except ValueError:
        return None
    digits = re.findall(r"\d{5,}", path)
    if digits:
        return digits[-1]
    segments = [s for s in path.split("/") if s]
    return segments[-1].rsplit(".", 1)[0] if segments else None
