"""Downloader middlewares: refuse private addresses, and keep every response as evidence.

A page on the open web is hostile input: its links and image URLs may point at the crawling
machine's own network (``http://127.0.0.1:6379``, ``http://169.254.169.254/`` cloud metadata,
a router's admin page). ``AddressGuard`` refuses any URL whose host resolves to a loopback,
private, link-local or otherwise non-public address unless the marketplace is marked local
(``LG_ALLOW_PRIVATE``: loopback and private only; link-local never), and ``GuardedResolver`` checks again at connection time, so a DNS
answer that changes between the check and the connection (rebinding) is refused too.

``Evidence`` writes each response to the WARC log as it arrived, before any other middleware,
spider or pipeline sees it; ``BotWall`` looks for bot walls (``crawler.blocks``) in the decoded
page, so that a CAPTCHA served with status 200 is recorded as blocked, never parsed as an empty
listing.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.resolver import CachingThreadedResolver

from crawler import blocks
from crawler.evidence import WarcLog

log = logging.getLogger(__name__)

SCHEMES = ("http", "https")


class AddressRefused(IgnoreRequest):
    """A request to a non-public address, or with a scheme other than http(s)."""


def non_public(address: str) -> str | None:
    """What kind of non-public address this is ("loopback", "private", ...), None when public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for kind in ("loopback", "link_local", "unspecified", "multicast", "reserved", "private"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if ip.is_global else "non-global"


def resolve(host: str) -> list[str]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})


LOCAL_KINDS = ("loopback", "private")  # what a marketplace marked local may use


def refused_kind(address: str, allow_private: bool) -> str | None:
    """The kind of a refused address; link-local (cloud metadata at 169.254.169.254) is refused
    even for a local marketplace, since no shop lives there."""
    kind = non_public(address)
    if kind is None or (allow_private and kind in LOCAL_KINDS):
        return None
    return kind


def refusal(url: str, allow_private: bool, cache: dict[str, list[str]] | None = None) -> str | None:
    """Why ``url`` may not be fetched, or None. Unresolvable hosts are left to the downloader."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        return f"refused {url[:200]}: only http and https URLs are fetched"
    if not parts.hostname:
        return None
    host = parts.hostname
    if cache is None or host not in cache:
        try:
            addresses = resolve(host)
        except OSError:
            return None
        if cache is not None:
            cache[host] = addresses
    for address in cache[host] if cache is not None else addresses:
        if kind := refused_kind(address, allow_private):
            return (
                f"refused {url[:200]}: {host} resolves to {address}, a {kind} address "
                "(set local = true for this marketplace to allow it)"
            )
    return None


class AddressGuard:
    """Refuses requests to non-public addresses before they are scheduled for download."""

    def __init__(self, crawler: Crawler) -> None:
        self.allow_private = crawler.settings.getbool("LG_ALLOW_PRIVATE")
        self.stats = crawler.stats
        self.cache: dict[str, list[str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuard:
        return cls(crawler)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if len(self.cache) > 10_000:  # hosts seen; a crawl of many shops must not grow it forever
            self.cache.clear()
        if reason := refusal(request.url, self.allow_private, self.cache):
            log.warning(reason)
            if self.stats:
                self.stats.inc_value("listingguard/refused")
            raise AddressRefused(reason)


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's resolver, refusing non-public answers at connection time (DNS rebinding)."""

    allow_private = False

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> GuardedResolver:
        resolver = super().from_crawler(crawler, reactor)
        resolver.allow_private = crawler.settings.getbool("LG_ALLOW_PRIVATE")
        return resolver

    def getHostByName(self, name: str, timeout: Any = ()) -> Any:
        d = super().getHostByName(name, timeout)
        if not self.allow_private:
            d.addCallback(self._check, name)
        return d

    @staticmethod
    def _check(address: str, name: str) -> str:
        if kind := non_public(address):
            raise AddressRefused(f"refused {name}: it resolves to {address}, a {kind} address")
        return address


class SlowDown:
    """Backs off when a site says "too many requests" (429) or "unavailable" (503).

    Scrapy retries those answers but at the same pace; a marketplace that is asked to slow
    down and does not soon bans the crawler. So the site's download slot waits longer: the
    ``Retry-After`` seconds when given (capped), else double the current delay, at least
    ``LG_BACKOFF_MIN`` seconds; AutoThrottle brings it down again as answers come back fine.
    """

    STATUSES = (429, 503)

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.minimum = crawler.settings.getfloat("LG_BACKOFF_MIN", 1.0)
        self.maximum = crawler.settings.getfloat("AUTOTHROTTLE_MAX_DELAY", 60.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SlowDown:
        return cls(crawler)

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        if response.status in self.STATUSES:
            self.back_off(request, response)
        return response

    def back_off(self, request: Request, response: Response) -> float | None:
        downloader = getattr(getattr(self.crawler, "engine", None), "downloader", None)
        if downloader is None:
            return None
        slot = downloader.slots.get(downloader.get_slot_key(request))
        if slot is None:
            return None
        wanted = max(slot.delay * 2, self.minimum)
        after = response.headers.get(b"Retry-After")
        if after and after.strip().isdigit():
            wanted = max(wanted, float(after.strip()))
        slot.delay = min(wanted, self.maximum)
        log.info(
            "%s answered %s: waiting %.1f s between requests",
            request.url,
            response.status,
            slot.delay,
        )
        if self.crawler.stats:
            self.crawler.stats.inc_value("listingguard/backoff")
        return slot.delay


def _headers(response: Response) -> list[tuple[str, str]]:
    return [
        (k.decode("latin-1"), v.decode("latin-1"))
        for k, values in response.headers.items()
        for v in values
    ]


class Evidence:
    """Writes every response to the WARC log as it arrived, before anything else sees it.

    It sits above the redirect and decompression middlewares, so redirect hops are archived too
    and bodies are kept as sent (a gzip body with its ``Content-Encoding``). The capture of the
    final answer goes into ``request.meta["lg_capture"]``. Image payloads in
    ``LG_KNOWN_PAYLOADS`` (SHA-256 → (URL, WARC date) of a record the store already holds) are
    written as revisits.
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.stats = crawler.stats
        self.known: dict[str, tuple[str, str]] = settings.get("LG_KNOWN_PAYLOADS") or {}
        path = settings.get("LG_WARC_FILE")
        root = settings.get("LG_EVIDENCE_ROOT")
        self.warc = WarcLog(Path(path), Path(root) if root else None) if path else None
        crawler.signals.connect(self.close, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Evidence:
        return cls(crawler)

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        # A retried or redirected request carries the meta of its first answer: start clean.
        request.meta.pop("lg_block", None)
        request.meta.pop("lg_capture", None)
        if self.warc is not None:
            sha = hashlib.sha256(response.body).hexdigest()
            image = request.meta.get("lg_kind") == "image"
            capture = self.warc.write(
                response.url,
                response.status,
                _headers(response),
                response.body,
                protocol=response.protocol or "HTTP/1.1",
                revisit_of=self.known.get(sha) if image else None,
                sha256=sha,
            )
            request.meta["lg_capture"] = capture
            if self.stats:
                self.stats.inc_value("listingguard/captured_bytes", capture.bytes)
        return response

    def close(self, spider: Spider | None = None) -> None:
        if self.warc is not None:
            self.warc.close()


class BotWall:
    """Flags a CAPTCHA or bot-wall page (``request.meta["lg_block"]``), on the decoded body."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BotWall:
        return cls(crawler)

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        if request.meta.get("lg_kind", "page") == "page":
            block = blocks.detect(response.status, _headers(response), response.body, response.url)
            if block is not None:
                request.meta["lg_block"] = block
                if self.stats:
                    self.stats.inc_value("listingguard/blocked")
        return response
