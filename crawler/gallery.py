"""A listing's gallery, fetched as ordinary scheduled requests before the listing is yielded.

Images go through Scrapy's scheduler like pages (same politeness, robots.txt, address guard and
evidence middleware) instead of a media pipeline: the media pipeline downloads beside the
scheduler, and measured on the demo market it fetched about 40 images a second where scheduled
requests fetch several hundred (docs/benchmarks.md). A listing waits here until each of its images
has answered or failed, then goes on to the pipelines with one result per image. Results carry no
bytes — the Evidence middleware keeps those in the WARC file — so the per-crawl cache of results
stays small; an image shown by many listings is fetched once per crawl.

On a graceful stop the listings still waiting are written to ``JOBDIR/lg-pending.json`` and
their pages fetched again on resume, because Scrapy's job state has already marked those pages
seen.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from scrapy import Request
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.items import Listing

PENDING_FILE = "lg-pending.json"
ERROR_STATUSES = list(range(400, 600))
FETCHED_LIMIT = 20_000  # image results kept for reuse within a crawl (no bytes, ~1 KB each)
IMAGE_PRIORITY = 10  # images before new pages: a listing waiting for its gallery holds memory


def inspect_image(body: bytes, max_pixels: int) -> dict[str, Any]:
    """Format and size from the header only: nothing is decoded in the crawl process."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(body)) as im:
                width, height, fmt = im.width, im.height, im.format
    except Image.DecompressionBombError:
        return {"image": True, "error": "too many pixels (a decompression bomb?)"}
    except Exception as exc:  # any decoder failure means "not an image"
        return {"image": False, "error": f"not an image ({type(exc).__name__})"}
    info: dict[str, Any] = {"image": True, "width": width, "height": height, "format": fmt}
    if width * height > max_pixels:
        info["error"] = f"{width}x{height} pixels is over the limit of {max_pixels:,}"
    return info


def image_result(response: Response, max_pixels: int) -> dict[str, Any]:
    """What the store keeps of one fetched image: its capture, SHA-256, size, or why it is unusable."""
    capture = response.meta.get("lg_capture")
    result: dict[str, Any] = {
        "url": response.url,
        "capture": capture,
        "status": response.status,
        "bytes": len(response.body),
    }
    if capture is not None:
        # The image's own identity is its decoded bytes (the capture's hash is of the bytes as
        # sent, which differ when a server compresses them).
        result["sha256"] = hashlib.sha256(response.body).hexdigest()
    if response.status != 200:
        result["error"] = f"HTTP {response.status}"
    elif not response.body:
        result["error"] = "empty response"
    else:
        result.update(inspect_image(response.body, max_pixels))
    return result


PAGE_META = ("lg_base", "lg_currency", "lg_page")  # what a page's callback needs to run again


def page_of(response: Response) -> dict[str, Any]:
    """How to fetch a listing's page again: URL, callback name and the meta it needs."""
    request = response.request
    callback = getattr(request.callback, "__name__", None) if request is not None else None
    meta = {k: v for k, v in response.meta.items() if k in PAGE_META}
    return {"url": response.url, "callback": callback, "meta": meta}


@dataclass
class _Waiting:
    listing: Listing
    page: dict[str, Any]
    results: list[dict[str, Any] | None] = field(default_factory=list)

    def complete(self) -> bool:
        return all(r is not None for r in self.results)


class Gallery:
    """The listings waiting for their images, and the images this crawl has fetched."""

    def __init__(self, per_listing: int, max_bytes: int, max_pixels: int) -> None:
        self.per_listing = per_listing
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.waiting: dict[str, _Waiting] = {}
        self.fetched: dict[str, dict[str, Any]] = {}
        # Keys carry this process's token: image requests restored from a job directory after
        # a graceful stop belong to listings of the stopped process and must fill nothing here.
        self._run = uuid.uuid4().hex[:12]
        self._next = 0

    def start(
        self, listing: Listing, page: dict[str, Any], callback: Any, errback: Any
    ) -> tuple[Listing | None, list[Request]]:
        """(the listing when it needs no fetching, the image requests to make)."""
        urls = [
            u for u in dict.fromkeys(listing.image_urls) if u.startswith(("http://", "https://"))
        ]
        listing.image_urls = urls[: self.per_listing]
        waiting = _Waiting(listing, page, [self.fetched.get(u) for u in listing.image_urls])
        if waiting.complete():
            listing.images = list(waiting.results)  # type: ignore[arg-type]
            return listing, []
        key, self._next = f"{self._run}:{self._next}", self._next + 1
        self.waiting[key] = waiting
        requests = [
            Request(
                url,
                callback=callback,
                errback=errback,
                meta={
                    "lg_kind": "image",
                    "lg_wait": key,
                    "lg_position": position,
                    "download_maxsize": self.max_bytes,
                    # Errors come to the callback (and are kept); redirects are still followed.
                    "handle_httpstatus_list": ERROR_STATUSES,
                },
                priority=IMAGE_PRIORITY,
                dont_filter=True,
            )
            for position, url in enumerate(listing.image_urls)
            if waiting.results[position] is None
        ]
        return None, requests

    def answered(self, response: Response) -> Listing | None:
        """Record one image; the listing once its whole gallery has answered."""
        result = image_result(response, self.max_pixels)
        if len(self.fetched) >= FETCHED_LIMIT:
            self.fetched.pop(next(iter(self.fetched)))
        self.fetched.setdefault(response.request.url if response.request else response.url, result)
        return self._fill(response.meta, result)

    def failed(self, failure: Failure) -> Listing | None:
        request = getattr(failure, "request", None)
        meta = request.meta if request is not None else {}
        url = request.url if request is not None else ""
        return self._fill(
            meta, {"url": url, "capture": None, "error": failure.getErrorMessage()[:300]}
        )

    def _fill(self, meta: dict[str, Any], result: dict[str, Any]) -> Listing | None:
        waiting = self.waiting.get(meta.get("lg_wait", ""))
        if waiting is None:  # restored from a job directory: its listing's page is fetched again
            return None
        waiting.results[meta["lg_position"]] = result
        if not waiting.complete():
            return None
        del self.waiting[meta["lg_wait"]]
        waiting.listing.images = list(waiting.results)  # type: ignore[arg-type]
        return waiting.listing

    def save_pending(self, jobdir: str | None) -> None:
        if jobdir:
            pages = {json.dumps(w.page, sort_keys=True) for w in self.waiting.values()}
            Path(jobdir).mkdir(parents=True, exist_ok=True)
            text = json.dumps([json.loads(p) for p in sorted(pages)])
            (Path(jobdir) / PENDING_FILE).write_text(text, "utf-8")

    @staticmethod
    def load_pending(jobdir: str | None) -> list[dict[str, Any]]:
        """The pages a graceful stop left waiting for images (read once)."""
        path = Path(jobdir) / PENDING_FILE if jobdir else None
        if path is None or not path.exists():
            return []
        pages = json.loads(path.read_text("utf-8"))
        path.unlink()
        return [p for p in pages if isinstance(p, dict) and isinstance(p.get("url"), str)]
