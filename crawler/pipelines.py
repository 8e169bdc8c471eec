"""Item pipelines: validate the listing, fetch its images as evidence; storage runs last.

The order (``ITEM_PIPELINES``): ``CleanListing`` → ``ListingImages`` → the store, which is
``listingguard.ingest.StorePipeline`` when a sweep runs (the crawler itself knows no database,
so ``scrapy crawl NAME -O items.jsonl`` works without one).
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from typing import Any

from PIL import Image
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.http import Response
from scrapy.pipelines.media import MediaPipeline
from twisted.python.failure import Failure

from crawler.items import Blocked, Listing

log = logging.getLogger(__name__)

MAX_TEXT = {"title": 2_000, "description": 100_000}
MAX_FIELD = 2_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean_text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    text = _CONTROL.sub("", str(value)).strip()
    return text[:limit] or None


class CleanListing:
    """Drops what cannot be stored (no id or URL), cuts oversized fields, caps the gallery.

    Pages are hostile: a title of a megabyte or a gallery of ten thousand URLs must not reach
    the store or the image fetcher.
    """

    def __init__(self, images_per_listing: int) -> None:
        self.images_per_listing = images_per_listing

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CleanListing:
        return cls(crawler.settings.getint("LG_IMAGES_PER_LISTING", 12))

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if isinstance(item, Blocked):
            return item
        if not isinstance(item, Listing):
            raise DropItem(f"not a listing: {type(item).__name__}")
        item.listing_id = _clean_text(item.listing_id, 500) or ""
        if not item.listing_id or not item.url:
            raise DropItem(f"listing without an id or URL on {item.page_capture or item.url}")
        for name in ("title", "description", "brand", "canonical_url", "seller_id", "seller_name",
                     "seller_url", "seller_location", "availability", "sales", "currency"):  # fmt: skip
            setattr(item, name, _clean_text(getattr(item, name), MAX_TEXT.get(name, MAX_FIELD)))
        if item.price is not None and not (0 <= item.price < 1e12):
            item.price = None
        urls = [u for u in dict.fromkeys(item.image_urls) if u.startswith(("http://", "https://"))]
        item.image_urls = urls[: self.images_per_listing]
        return item


class ListingImages(MediaPipeline):
    """Fetches each gallery image once per crawl; the Evidence middleware keeps the bytes.

    Results carry no image bytes (the media pipeline caches every result for the whole crawl,
    so keeping bytes would hold every image of a sweep in memory): the SHA-256, size, format and
    the WARC capture where the bytes are, or the reason the image is unusable.
    """

    LOG_FAILED_RESULTS = False

    def __init__(self, *, crawler: Crawler) -> None:
        super().__init__(crawler=crawler)
        settings = crawler.settings
        self.max_bytes = settings.getint("LG_MAX_IMAGE_BYTES", 10_000_000)
        self.max_pixels = settings.getint("LG_MAX_IMAGE_PIXELS", 50_000_000)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ListingImages:
        return cls(crawler=crawler)

    def get_media_requests(self, item: Any, info: Any) -> list[Request]:
        if not isinstance(item, Listing):
            return []
        return [
            Request(url, meta={"lg_kind": "image", "download_maxsize": self.max_bytes})
            for url in item.image_urls
        ]

    def media_to_download(self, request: Request, info: Any, *, item: Any = None) -> None:
        return None

    def media_downloaded(
        self, response: Response, request: Request, info: Any, *, item: Any = None
    ) -> dict[str, Any]:
        capture = request.meta.get("lg_capture")
        result: dict[str, Any] = {"url": request.url, "capture": capture, "status": response.status}
        if capture is not None:
            result["sha256"] = capture.sha256
        result["bytes"] = len(response.body)
        if response.status != 200:
            result["error"] = f"HTTP {response.status}"
        elif not response.body:
            result["error"] = "empty response"
        else:
            result.update(self._inspect(response.body))
        return result

    def _inspect(self, body: bytes) -> dict[str, Any]:
        """Format and size from the header only: nothing is decoded in the crawl process."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Image.open(io.BytesIO(body)) as im:
                    width, height, fmt = im.width, im.height, im.format
        except Image.DecompressionBombError:
            return {"error": "too many pixels (a decompression bomb?)"}
        except Exception as exc:
            return {"error": f"not an image ({type(exc).__name__})"}
        info: dict[str, Any] = {"width": width, "height": height, "format": fmt}
        if width * height > self.max_pixels:
            info["error"] = f"{width}x{height} pixels is over the limit of {self.max_pixels:,}"
        return info

    def media_failed(self, failure: Failure, request: Request, info: Any) -> Failure:
        failure.raiseException()
        return failure  # not reached

    def item_completed(self, results: list[tuple[bool, Any]], item: Any, info: Any) -> Any:
        if not isinstance(item, Listing):
            return item
        images = []
        for url, (ok, value) in zip(item.image_urls, results, strict=True):
            if ok:
                images.append(value)
            else:
                reason = value.getErrorMessage() if isinstance(value, Failure) else str(value)
                images.append({"url": url, "capture": None, "error": reason[:300]})
        item.images = images
        return item

    def file_path(
        self, request: Request, response: Any = None, info: Any = None, *, item: Any = None
    ) -> str:
        return ""
