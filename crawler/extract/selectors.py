"""Any other marketplace, read with CSS/XPath selectors from config.toml instead of code.

A rule maps a ``Listing`` field to a selector:

* CSS (parsel), with ``::text`` and ``::attr(name)``: ``"h1#itemTitle::text"``;
* XPath when it starts with ``/``, ``(`` or ``./``: ``"//span[@itemprop='price']/@content"``;
* ``url:`` and a regular expression on the page URL whose first group is the value:
  ``"url:/itm/(?:[^/]+/)?(\\d+)"``, usually for ``listing_id``.

``image_urls`` takes every match (absolute, without duplicates); the other fields take the first
match with text. A matched element gives its text, whitespace collapsed. ``price`` is read with
``matcher.prices`` (amount and currency); a ``currency`` rule wins over the price's symbol.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from parsel import Selector, SelectorList

from crawler.extract.common import (
    absolute_url,
    availability,
    clean,
    currency_iso,
    price_amount,
    unique_urls,
)
from crawler.items import LISTING_FIELDS, Listing

FIELDS = (*(f for f in LISTING_FIELDS if f != "url"), "image_urls")
"""The fields a rule may fill: the ``Listing`` fields a page shows (``url`` is the page's own)."""

_URL_FIELDS = frozenset({"seller_url", "canonical_url"})
_XPATH_START = ("/", "(", "./")
_EMPTY = Selector(text="<html></html>")


@dataclass(frozen=True)
class _Rule:
    kind: str  # "css", "xpath" or "url"
    selector: str
    pattern: re.Pattern[str] | None = None


def validate(rules: Mapping[str, str]) -> list[str]:
    """What is wrong with ``rules``, one problem a line, each naming its field; [] when nothing.

    >>> validate({"title": "h1::text", "listing_id": "url:/p/"})
    ["listing_id: the url: pattern '/p/' has no group; its first group is the value"]
    """
    problems = []
    for field, selector in rules.items():
        if field not in FIELDS:
            problems.append(f"{field}: unknown field; the fields are {', '.join(FIELDS)}")
            continue
        try:
            _compile(field, selector)
        except ValueError as exc:
            problems.append(f"{field}: {exc}")
    return problems


def extract(html: str, url: str, rules: Mapping[str, str]) -> Listing | None:
    """The listing ``rules`` read from a page, or None when neither a title nor a price is found.

    Rules that do not compile or name no field are skipped (``validate`` reports them when the
    config is read).
    """
    compiled = {}
    for field, selector in rules.items():
        if field in FIELDS:
            try:
                compiled[field] = _compile(field, selector)
            except ValueError:
                continue
    page = Selector(text=html, base_url=url) if html else _EMPTY
    values = {
        field: _values(page, url, rule, every=field == "image_urls")
        for field, rule in compiled.items()
    }

    def first(field: str) -> str | None:
        return next(iter(values.get(field) or ()), None)

    title = first("title")
    price = price_amount(first("price"), url=url) if first("price") else None
    if not title and not price:
        return None
    canonical = absolute_url(first("canonical_url"), url) if "canonical_url" in compiled else None
    if "canonical_url" not in compiled:
        canonical = absolute_url(page.css("link[rel=canonical]::attr(href)").get(), url)
    currency = currency_iso(first("currency"), url=url) if first("currency") else None
    listing_id = first("listing_id") or urlsplit(canonical or url).path or url
    return Listing(
        listing_id=listing_id,
        url=url,
        canonical_url=canonical,
        title=title,
        description=first("description"),
        brand=first("brand"),
        price=price[0] if price else None,
        currency=currency or (price[1] if price else None),
        image_urls=unique_urls(values.get("image_urls") or (), url),
        seller_id=first("seller_id"),
        seller_name=first("seller_name"),
        seller_url=absolute_url(first("seller_url"), url),
        seller_location=first("seller_location"),
        availability=availability(first("availability")),
        sales=first("sales"),
    )


def _compile(field: str, selector: Any) -> _Rule:
    """The rule for one selector; ``ValueError`` saying what is wrong when it does not compile."""
    if not isinstance(selector, str) or not selector.strip():
        raise ValueError(f"the selector must be a non-empty string, not {selector!r}")
    text = selector.strip()
    if text.startswith("url:"):
        source = text[4:]
        try:
            pattern = re.compile(source)
        except re.error as exc:
            raise ValueError(f"the url: pattern {source!r} does not compile ({exc})") from None
        if pattern.groups < 1:
            raise ValueError(
                f"the url: pattern {source!r} has no group; its first group is the value"
            )
        return _Rule("url", text, pattern)
    kind = "xpath" if text.startswith(_XPATH_START) else "css"
    try:
        _select(_EMPTY, kind, text)
    except (
        Exception
    ) as exc:  # cssselect raises SelectorSyntaxError, lxml XPath errors as ValueError
        name = "XPath expression" if kind == "xpath" else "CSS selector"
        raise ValueError(f"the {name} {text!r} does not compile ({exc})") from None
    return _Rule(kind, text)


def _select(page: Selector, kind: str, selector: str) -> SelectorList[Selector]:
    return page.xpath(selector) if kind == "xpath" else page.css(selector)


def _values(page: Selector, url: str, rule: _Rule, *, every: bool) -> list[str]:
    """The non-empty texts a rule finds on the page, in document order (only the first unless ``every``)."""
    if rule.pattern is not None:
        match = rule.pattern.search(url)
        value = clean(match.group(1)) if match else None
        return [value] if value else []
    found = []
    for node in _select(page, rule.kind, rule.selector):
        value = clean(_node_text(node))
        if value:
            found.append(value)
            if not every:
                break
    return found


def _node_text(node: Selector) -> str:
    """A text or attribute node's value; an element's text (its ``src`` or ``href`` for a media or link element)."""
    root = node.root
    if isinstance(root, str):
        return root
    if not hasattr(root, "tag"):
        return str(node.get())
    tag = str(root.tag).lower()
    if tag in ("img", "source") and root.get("src"):
        return root.get("src")
    if tag in ("a", "link") and root.get("href") and not node.xpath("string()").get("").strip():
        return root.get("href")
    return " ".join(
        node.xpath(".//text()[not(ancestor::script) and not(ancestor::style)]").getall()
    )
