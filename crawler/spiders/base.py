"""What every marketplace spider shares: its options, bot-wall handling, resume, and caps.

A spider is named after its kind (``scrapy crawl structured``). Its options come from the
``LG_MARKETPLACE`` setting, which ``listingguard sweep`` fills from config.toml, or from ``-a``
arguments for a crawl by hand::

    scrapy crawl structured -a start_urls=https://shop.example/search?q=luma \\
        -a listing_links=/item/ -O listings.jsonl
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.gallery import Gallery, page_of
from crawler.items import Blocked, Listing, Page

LIST_OPTIONS = ("start_urls", "listing_links")


def options_from(settings_value: dict[str, Any] | None, args: dict[str, Any]) -> dict[str, Any]:
    """Marketplace options: the setting, overridden by ``-a`` arguments (comma-separated lists)."""
    options = dict(settings_value or {})
    for key, value in args.items():
        if key in LIST_OPTIONS and isinstance(value, str):
            value = [v for v in value.split(",") if v]
        elif key in ("max_pages", "max_listings") and isinstance(value, str):
            value = int(value)
        options[key] = value
    return options


class MarketplaceSpider(scrapy.Spider):
    """Base class: ``self.options`` holds the marketplace's config table."""

    name = "base"
    options: dict[str, Any]
    # Bot walls usually answer 403, 429 or 503: after the retries they come to the callbacks,
    # to be recorded as blocked (or as a failed page), not dropped unseen.
    handle_httpstatus_list: ClassVar[list[int]] = [401, 403, 405, 429, 503]

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> MarketplaceSpider:
        options = options_from(crawler.settings.getdict("LG_MARKETPLACE"), kwargs)
        spider = super().from_crawler(crawler, *args, options=options)
        spider.marketplace = options.get("name") or cls.name
        spider.start_urls = list(options.get("start_urls") or [])
        spider.max_pages = int(options.get("max_pages") or 20)
        spider.max_listings = int(options.get("max_listings") or 0)
        # Listing URLs stored earlier in the same (interrupted) sweep: not fetched again.
        spider.done_urls = set(crawler.settings.get("LG_DONE_URLS") or ())
        spider.listings_seen = 0
        settings = crawler.settings
        spider.gallery = Gallery(
            settings.getint("LG_IMAGES_PER_LISTING", 12),
            settings.getint("LG_MAX_IMAGE_BYTES", 10_000_000),
            settings.getint("LG_MAX_IMAGE_PIXELS", 50_000_000),
        )
        spider.jobdir = settings.get("JOBDIR") or None
        crawler.signals.connect(spider._closing, signal=signals.spider_closed)
        if not spider.start_urls:
            raise ValueError(f"{spider.marketplace}: no start_urls")
        return spider

    def __init__(self, *args: Any, options: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = options or {}

    async def start(self) -> AsyncIterator[Any]:
        for page in Gallery.load_pending(self.jobdir):  # resumed after a graceful stop
            callback = getattr(self, page.get("callback") or "", None)
            if callable(callback):
                yield scrapy.Request(page["url"], callback, meta=page["meta"], dont_filter=True)
        for request in self.initial_requests():
            yield request

    def _closing(self, spider: Any = None, reason: str = "") -> None:
        if reason == "shutdown":
            self.gallery.save_pending(self.jobdir)

    def initial_requests(self) -> Iterator[Any]:
        """The first requests of a crawl, from the start URLs."""
        raise NotImplementedError

    def blocked(self, response: Response) -> Blocked | Page | None:
        """A Blocked item when the Evidence middleware saw a bot wall in this response; a Page
        (an error, counted and kept) for any other refusal; None for a page to read."""
        block = response.meta.get("lg_block")
        if block is None:
            if response.status >= 400:
                self.logger.warning("HTTP %s at %s", response.status, response.url)
                return self.page(response, f"HTTP {response.status}")
            return None
        self.logger.warning("blocked at %s: %s (%s)", response.url, block.provider, block.reason)
        return Blocked(
            url=response.url,
            provider=block.provider,
            reason=block.reason,
            status=response.status,
            marketplace=self.marketplace,
            page_capture=response.meta.get("lg_capture"),
        )

    def page(self, response: Response, role: str) -> Page:
        return Page(
            url=response.url,
            role=role,
            marketplace=self.marketplace,
            page_capture=response.meta.get("lg_capture"),
        )

    def emit(self, listing: Listing, response: Response) -> Iterator[Any]:
        """Stamp a listing with its marketplace and evidence, enforce ``max_listings``, and fetch
        its gallery (the listing follows once every image has answered)."""
        if self.max_listings and self.listings_seen >= self.max_listings:
            raise CloseSpider("max_listings")
        self.listings_seen += 1
        listing.marketplace = self.marketplace
        listing.page_capture = response.meta.get("lg_capture")
        ready, requests = self.gallery.start(
            listing, page_of(response), self.image_answered, self.image_failed
        )
        if ready is not None:
            yield ready
        yield from requests

    def image_answered(self, response: Response) -> Iterator[Listing]:
        if (listing := self.gallery.answered(response)) is not None:
            yield listing

    def image_failed(self, failure: Failure) -> Iterator[Listing]:
        if (listing := self.gallery.failed(failure)) is not None:
            yield listing
