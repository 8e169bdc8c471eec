"""Spiders for marketplaces crawled as HTML pages: search pages lead to listing pages.

``structured`` reads schema.org data (any site), ``amazon`` and ``ebay`` their product pages,
``selectors`` the CSS/XPath rules from config.toml. They differ only in the extractor; the
navigation is the same: listing links matched by the configured patterns, pagination by
``rel=next`` or the configured selector, at most ``max_pages`` search pages per start URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor

from crawler.extract import amazon, ebay, selectors, structured
from crawler.items import Listing
from crawler.spiders.base import MarketplaceSpider

NEXT_PAGE = ("link[rel~=next]::attr(href)", "a[rel~=next]::attr(href)")


class PageSpider(MarketplaceSpider):
    """Search pages → listing pages → ``extract``; subclasses say how a listing page is read."""

    name = "pages"

    def extract(self, html: str, url: str) -> Listing | None:
        return structured.extract(html, url)

    def initial_requests(self) -> Iterator[scrapy.Request]:
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse_search, meta={"lg_page": 1})

    def _links(self) -> LinkExtractor | None:
        patterns = self.options.get("listing_links") or ()
        if not patterns:
            return None
        if not hasattr(self, "_extractor"):
            self._extractor = LinkExtractor(allow=tuple(patterns), unique=True)
        return self._extractor

    def unreadable(self, response: Response) -> Iterator[Any]:
        """A bot wall, an error or a response that is not text: what to record instead."""
        if blocked := self.blocked(response):
            yield blocked
        elif not isinstance(response, TextResponse):
            self.logger.warning("not a text page: %s", response.url)
            yield self.page(response, "not text")

    def parse_search(self, response: Response) -> Iterator[Any]:
        if instead := list(self.unreadable(response)):
            yield from instead
            return
        listing = self.extract(response.text, response.url)
        if listing is not None:  # a start URL may be a listing itself
            yield from self.emit(listing, response)
        else:
            yield self.page(response, "search")
        links = self._links()
        if links is not None:
            for link in links.extract_links(response):
                if link.url in self.done_urls:
                    continue
                yield scrapy.Request(link.url, callback=self.parse_listing)
        page = response.meta.get("lg_page", 1)
        next_url = self._next_page(response)
        if next_url and page < self.max_pages:
            yield response.follow(next_url, self.parse_search, meta={"lg_page": page + 1})

    def _next_page(self, response: TextResponse) -> str | None:
        configured = self.options.get("next_page")
        for query in ((configured,) if configured else ()) + NEXT_PAGE:
            is_xpath = query.startswith(("/", "(", "./"))
            value = (response.xpath(query) if is_xpath else response.css(query)).get()
            if value and value.strip():
                return value.strip()
        return None

    def parse_listing(self, response: Response) -> Iterator[Any]:
        if instead := list(self.unreadable(response)):
            yield from instead
            return
        listing = self.extract(response.text, response.url)
        if listing is None:
            self.logger.warning("no listing found on %s", response.url)
            yield self.page(response, "listing")
            return
        yield from self.emit(listing, response)


class StructuredSpider(PageSpider):
    """Any site that publishes schema.org Product data (JSON-LD, microdata, RDFa, OpenGraph)."""

    name = "structured"


class AmazonSpider(PageSpider):
    name = "amazon"

    def extract(self, html: str, url: str) -> Listing | None:
        return amazon.extract(html, url)


class EbaySpider(PageSpider):
    name = "ebay"

    def extract(self, html: str, url: str) -> Listing | None:
        return ebay.extract(html, url)


class SelectorsSpider(PageSpider):
    """Any other marketplace, read with the CSS/XPath rules of ``marketplaces.NAME.selectors``."""

    name = "selectors"

    def extract(self, html: str, url: str) -> Listing | None:
        return selectors.extract(html, url, self.options.get("selectors") or {})
