"""Item pipelines: validate the listing; storage runs last.

The order (``ITEM_PIPELINES``): ``CleanListing`` → the store, which is
``listingguard.ingest.StorePipeline`` when a sweep runs (the crawler itself knows no database,
so ``scrapy crawl NAME -O items.jsonl`` works without one). A listing reaches the pipelines with
its gallery already fetched (``crawler.gallery``).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from scrapy.exceptions import DropItem

from crawler.items import Blocked, Listing, Page

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

    Pages are hostile: a title of a megabyte must not reach the store. (The gallery was capped
    and filtered before its images were fetched: ``crawler.gallery.Gallery.start``.)
    """

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if isinstance(item, Blocked | Page):
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
        return item
