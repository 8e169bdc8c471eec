"""Spiders for storefront APIs: Shopify's public JSON and WooCommerce's Store API.

Independent shops built on these platforms publish their catalogue as JSON, which is both more
exact and far lighter to crawl than their HTML. A start URL is the shop's base URL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import scrapy
from scrapy.http import Response

from crawler.extract import ExtractError, shopify, woocommerce
from crawler.spiders.base import MarketplaceSpider

PAGE_SIZE = 250


def _base(url: str) -> str:
    return url if url.endswith("/") else url + "/"


class ApiSpider(MarketplaceSpider):
    """Shared JSON handling: a bot wall or a body that is not the API's JSON is reported."""

    name = "api"

    def emit_products(
        self, response: Response, parse: Callable[[Any], list[Any]]
    ) -> Generator[Any, None, int]:
        """The listings of one API answer (``parse`` turns its JSON into listings); an answer of
        the wrong shape, or with none, is kept as a page. Returns how many listings it held."""
        try:
            listings = parse(self.json_of(response))
        except ExtractError as exc:
            self.logger.warning("%s: %s", response.url, exc)
            listings = []
        if not listings:
            yield self.page(response, "api")
        for listing in listings:
            yield from self.emit(listing, response)
        return len(listings)

    def json_of(self, response: Response) -> Any:
        try:
            return json.loads(response.body)
        except ValueError:
            self.logger.warning("not JSON at %s", response.url)
            return None


class ShopifySpider(ApiSpider):
    """``/products.json`` page by page, or ``/search/suggest.json`` when a query is set."""

    name = "shopify"

    def initial_requests(self) -> Iterator[scrapy.Request]:
        for url in self.start_urls:
            base = _base(url)
            meta = {"lg_base": base, "lg_currency": self.options.get("currency")}
            if meta["lg_currency"]:
                yield from self._catalogue(base, meta)
            else:
                yield scrapy.Request(base + "meta.json", self.parse_meta, meta=meta)

    def parse_meta(self, response: Response) -> Iterator[Any]:
        if blocked := self.blocked(response):
            yield blocked
            return
        yield self.page(response, "api")
        meta = dict(response.meta)
        meta["lg_currency"] = shopify.shop_currency(self.json_of(response))
        yield from self._catalogue(meta["lg_base"], meta)

    def _catalogue(self, base: str, meta: dict[str, Any]) -> Iterator[scrapy.Request]:
        meta = {k: v for k, v in meta.items() if k.startswith("lg_") and k != "lg_capture"}
        query = self.options.get("query")
        if query:
            url = f"{base}search/suggest.json?q={quote(query)}&resources[type]=product&resources[limit]=10"
            yield scrapy.Request(url, self.parse_suggest, meta=meta)
        else:
            url = f"{base}products.json?limit={PAGE_SIZE}&page=1"
            yield scrapy.Request(url, self.parse_products, meta={**meta, "lg_page": 1})

    def parse_suggest(self, response: Response) -> Iterator[Any]:
        if blocked := self.blocked(response):
            yield blocked
            return
        yield self.page(response, "api")
        base = response.meta["lg_base"]
        meta = {k: v for k, v in response.meta.items() if k in ("lg_base", "lg_currency")}
        try:
            handles = shopify.suggest_handles(self.json_of(response))
        except ExtractError as exc:
            self.logger.warning("%s: %s", response.url, exc)
            return
        for handle in handles:
            url = f"{base}products/{quote(handle)}.json"
            if url not in self.done_urls:
                yield scrapy.Request(url, self.parse_products, meta=meta)

    def parse_products(self, response: Response) -> Iterator[Any]:
        if blocked := self.blocked(response):
            yield blocked
            return
        base = response.meta["lg_base"]
        found = yield from self.emit_products(
            response,
            lambda data: shopify.parse_products(
                data,
                base,
                currency=response.meta.get("lg_currency"),
                shop_name=self.options.get("shop_name") or urlsplit(base).hostname,
            ),
        )
        page = response.meta.get("lg_page")
        if page and found and page < self.max_pages:
            url = f"{base}products.json?limit={PAGE_SIZE}&page={page + 1}"
            meta = {k: v for k, v in response.meta.items() if k in ("lg_base", "lg_currency")}
            yield scrapy.Request(url, self.parse_products, meta={**meta, "lg_page": page + 1})


class WooCommerceSpider(ApiSpider):
    """The Store API's product search, page by page up to ``X-WP-TotalPages``."""

    name = "woocommerce"

    def _url(self, base: str, page: int) -> str:
        query = quote(self.options.get("query") or "")
        return f"{base}wp-json/wc/store/v1/products?search={query}&per_page=100&page={page}"

    def initial_requests(self) -> Iterator[scrapy.Request]:
        for url in self.start_urls:
            base = _base(url)
            yield scrapy.Request(
                self._url(base, 1), self.parse_products, meta={"lg_base": base, "lg_page": 1}
            )

    def parse_products(self, response: Response) -> Iterator[Any]:
        if blocked := self.blocked(response):
            yield blocked
            return
        base, page = response.meta["lg_base"], response.meta["lg_page"]
        found = yield from self.emit_products(
            response, lambda data: woocommerce.parse_products(data, base)
        )
        try:
            total = int(response.headers.get(b"X-WP-TotalPages", b"0"))
        except ValueError:
            total = 0
        if found and page < min(total, self.max_pages):
            yield scrapy.Request(
                self._url(base, page + 1),
                self.parse_products,
                meta={"lg_base": base, "lg_page": page + 1},
            )
