"""The crawl's last pipeline: each item is written to the store in one transaction.

One transaction per listing — the listing, its page capture, its images and their captures, the
links between them — so a crawl killed at any moment leaves each listing either whole or
absent, never half-stored; the next run stores it again, and the upserts (by marketplace and
listing id, image SHA-256, WARC record id) make storing it twice the same as storing it once.

A listing whose content changed since it was last matched (title, text, price, seller, images)
is marked unmatched, so the matching stage looks at new and changed listings only.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from scrapy.crawler import Crawler
from sqlite_utils import Database

from crawler.evidence import Capture
from crawler.items import LISTING_FIELDS, Blocked, Listing, Page
from listingguard import store


def _capture_row(
    capture: Capture, kind: str, sweep_id: int | None, note: str | None = None
) -> dict:
    row = capture.as_dict()
    return {**row, "kind": kind, "sweep_id": sweep_id, "note": note}


def save_capture(db: Database, capture: Capture, kind: str, sweep_id: int | None, **kw: Any) -> int:
    return store.save_capture(db, _capture_row(capture, kind, sweep_id, kw.get("note")))


def content_hash(listing: Listing, image_shas: list[str | None]) -> str:
    """What matching depends on; a change means the listing is matched again."""
    fields = {name: getattr(listing, name) for name in LISTING_FIELDS if name != "url"}
    data = json.dumps([fields, image_shas], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def store_listing(db: Database, listing: Listing, sweep_id: int | None) -> int:
    """Write one listing with its evidence; returns its row id. Idempotent."""
    with store.transaction(db):
        page_capture = None
        if listing.page_capture is not None:
            page_capture = save_capture(db, listing.page_capture, "page", sweep_id)
        shas: list[str | None] = []
        links: list[tuple[str, int, str]] = []
        for position, image in enumerate(listing.images):
            shas.append(_store_image(db, image, sweep_id))
            if shas[-1]:
                links.append((shas[-1], position, image["url"]))
        digest = content_hash(listing, shas)
        previous = db.execute(
            "SELECT id, content_sha256 FROM listings WHERE marketplace = ? AND listing_id = ?",
            [listing.marketplace, listing.listing_id],
        ).fetchone()
        record = {name: getattr(listing, name) for name in LISTING_FIELDS}
        record |= {
            "marketplace": listing.marketplace,
            "content_sha256": digest,
            "status": "active",
            "sweep_id": sweep_id,
            "last_seen": store.now(),
        }
        if previous is None or previous[1] != digest:
            record["matched_at"] = None
        row_id = store.save_listing(db, record)
        db.execute("DELETE FROM listing_images WHERE listing_id = ?", [row_id])
        for sha, position, url in links:
            store.link_listing_image(db, row_id, sha, position, url)
        if page_capture is not None:
            db.execute(
                "INSERT OR IGNORE INTO listing_captures (listing_id, capture_id) VALUES (?, ?)",
                [row_id, page_capture],
            )
            db.execute(
                "UPDATE captures SET listing_id = ? WHERE id = ? AND listing_id IS NULL",
                [row_id, page_capture],
            )
        return row_id


def _store_image(db: Database, image: dict[str, Any], sweep_id: int | None) -> str | None:
    """The image's capture and its row (once per SHA-256); its SHA-256 when it is usable."""
    capture: Capture | None = image.get("capture")
    if capture is None:
        return None
    capture_id = save_capture(db, capture, "image", sweep_id, note=image.get("error"))
    if image.get("status") != 200 or not image.get("sha256") or not image.get("image"):
        return None  # an error page, or not an image at all: kept as a capture only
    sha = image["sha256"]
    store.save_image(
        db,
        {
            "sha256": sha,
            "url": image["url"],
            "bytes": image.get("bytes"),
            "width": image.get("width"),
            "height": image.get("height"),
            "format": image.get("format"),
            "error": image.get("error"),
            "capture_id": capture_id if capture.record_type == "response" else None,
        },
    )
    if capture.record_type == "response":
        db.execute(
            "UPDATE images SET capture_id = ? WHERE sha256 = ? AND capture_id IS NULL",
            [capture_id, sha],
        )
    return sha


def store_blocked(db: Database, item: Blocked, sweep_id: int | None) -> None:
    """A bot wall: kept as evidence and counted, and a known listing at that URL marked blocked."""
    with store.transaction(db):
        if item.page_capture is not None:
            note = f"{item.provider}: {item.reason}"[:500]
            save_capture(db, item.page_capture, "blocked", sweep_id, note=note)
        db.execute(
            "UPDATE listings SET status = 'blocked', last_seen = ? "
            "WHERE marketplace = ? AND (url = ? OR canonical_url = ?)",
            [store.now(), item.marketplace, item.url, item.url],
        )


def store_page(db: Database, item: Page, sweep_id: int | None) -> None:
    if item.page_capture is not None:
        with store.transaction(db):
            save_capture(db, item.page_capture, "page", sweep_id, note=item.role)


class StorePipeline:
    """Scrapy pipeline: ``LG_DATABASE`` and ``LG_SWEEP_ID`` come from ``listingguard.crawl``."""

    def __init__(self, database: str, sweep_id: int | None) -> None:
        self.db = store.open_store(database)
        self.sweep_id = sweep_id

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        settings = crawler.settings
        sweep = settings.get("LG_SWEEP_ID")
        return cls(settings["LG_DATABASE"], int(sweep) if sweep else None)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if isinstance(item, Listing):
            store_listing(self.db, item, self.sweep_id)
        elif isinstance(item, Blocked):
            store_blocked(self.db, item, self.sweep_id)
        elif isinstance(item, Page):
            store_page(self.db, item, self.sweep_id)
        return item

    def close_spider(self, spider: Any = None) -> None:
        self.db.conn.close()
