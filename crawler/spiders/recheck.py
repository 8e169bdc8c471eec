"""The recheck spider: fetch listings reported in takedown notices again and tell whether each is gone.

``listingguard takedown recheck`` runs it per marketplace (``listingguard/recheck.py``) through the
same middlewares as a sweep: the address guard, the WARC evidence, bot-wall detection, back-off,
robots.txt and the marketplace's own pace. By hand::

    scrapy crawl recheck -a targets=targets.json -O outcomes.jsonl

``targets.json`` is ``[{"id": 7, "url": "https://...", "kind": "ebay"}, ...]`` (``id`` is the
listings row; Store API listings also give ``listing_id`` and the shop's ``base`` URL). Each
target gets one ``Recheck`` item, one of:

* ``removed``: HTTP 404 or 410; a redirect to the home, a search or category page or a parent
  page of the listing's own site (the same registrable domain, give or take ``www.``, ``m.`` or a
  locale subdomain); a page that says the listing has ended (``crawler/data/removed-phrases.json``,
  "ended"); or a page from which no listing can be read and which says it is no longer available
  ("unavailable").
* ``active``: the listing still reads, with its title, through the marketplace kind's extractor.
* ``blocked``: a bot wall, or a redirect to a wall: a captcha, challenge, sign-in, consent or
  access-denied page (``login.``, ``consent.``, ``/errors/validateCaptcha``, ``/ap/signin``...),
  or a page that would send the crawler back (``?return_url=/itm/...``). Never taken for
  removed: a platform hiding a page from a crawler says nothing about the listing.
* ``error``: unreachable, refused, 5xx or 429 after the retries, a redirect to an error page, or a
  page that shows neither the listing nor a sign of its removal. Never taken for removed either.

Shopify listings are rechecked through ``/products/HANDLE.json`` and WooCommerce ones through the
Store API's ``/wp-json/wc/store/v1/products/ID``: both answer 404 once the product is gone, which
is more exact than any themed page. Redirects are followed here, not by Scrapy, so the capture of
a redirect that ends a listing is the 3xx answer itself: the removal is kept as evidence.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote, urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from tldextract import TLDExtract
from twisted.python.failure import Failure

from crawler.evidence import utc_now
from crawler.extract import ExtractError, amazon, ebay, selectors, shopify, structured, woocommerce
from crawler.extract.common import absolute_url, page
from crawler.items import Listing
from crawler.spiders.base import options_from

KINDS = ("structured", "amazon", "ebay", "selectors", "shopify", "woocommerce")
STATUSES = ("removed", "active", "blocked", "error")
REDIRECTS = (301, 302, 303, 307, 308)
GONE = (404, 410)
# Path segments of search, category and "not found" pages ("b": eBay's /b/Clothing/11450/... and
# Amazon's /b?node= browse pages). No "error": an error page says nothing of the listing.
SEARCH_PARTS = frozenset(
    {"search", "s", "sch", "b", "find", "browse", "catalogsearch", "category", "categories",
     "collections", "shop", "404", "not-found", "notfound", "gone"}
)  # fmt: skip
SEARCH_KEYS = frozenset({"q", "k", "query", "keyword", "keywords", "_nkw", "searchtext", "search"})
# A redirect to a page named with these words is a wall between the crawler and the listing
# (captcha, challenge, sign-in, consent, access denied), or an error: never a removal. Words are
# matched per path segment or host label, split at -, _, . and camelCase, a final "s" aside.
WALL_WORDS = frozenset(
    {"captcha", "recaptcha", "hcaptcha", "challenge", "validate", "validation", "verify",
     "verification", "robot", "bot", "human", "punish", "login", "logon", "signin", "signon",
     "auth", "oauth", "oauth2", "authenticate", "authentication", "authorize", "authorization",
     "account", "myaccount", "passport", "sso", "consent", "cookie", "gdpr", "blocked",
     "geoblock", "geoblocked", "denied", "forbidden", "unavailableregion", "regionunavailable"}
)  # fmt: skip
ERROR_WORDS = frozenset({"error", "oops", "unavailable", "maintenance", "500", "502", "503", "504"})
# Words that make up wall page names along with the ones above ("access-denied", "sign-in",
# "cdn-cgi/challenge-platform", "_____tmd_____/punish", "splashui/captcha", "ap/signin"). A path
# segment is only a wall when all its words are of these lists, so that a listing's own slug
# ("Robot-Vacuum-Cleaner", "cookie-cutter-set") is no wall.
WALL_FILLER = frozenset(
    {"access", "page", "check", "platform", "cdn", "cgi", "sign", "log", "in", "on", "up",
     "region", "traffic", "tmd", "ap", "splashui", "html", "htm", "php", "aspx", "jsp", "do",
     "user", "service", "temporarily", "are", "you", "a", "not", "is"}
)  # fmt: skip
# Query keys of a page that sends the visitor back where they came from once past it (a login,
# consent or captcha page): a redirect there is a wall, even to the home page.
RETURN_KEYS = frozenset(
    {"return_url", "returnurl", "return_to", "returnto", "return", "continue", "next", "ru",
     "redirect", "redirect_url", "redirect_uri", "redirecturl", "goto", "back", "backurl",
     "amzn-r", "callback", "destination"}
)  # fmt: skip
# Subdomains that are the same site as the bare domain: www., m. and locale ones (de., es-mx.).
SAME_SITE_LABELS = frozenset({"www", "m", "mobile"})
_LOCALE_LABEL = re.compile(r"[a-z]{2}(?:-[a-z]{2,4})?")
_NOT_LOCALE = frozenset({"my", "id", "ad"})  # My eBay, identity and ad servers, not locales
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
# The bundled Public Suffix List, with its private domains (each *.myshopify.com shop is a site of
# its own): no download, no cache on disk.
_DOMAINS = TLDExtract(cache_dir=None, suffix_list_urls=(), include_psl_private_domains=True)
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})
_SPACE = re.compile(r"\s+")
_VISIBLE = (
    "//text()[not(ancestor::script or ancestor::style or ancestor::noscript "
    "or ancestor::template or ancestor::svg)]"
)


@dataclass(frozen=True)
class Target:
    """One listing to fetch again: its listings row ``id``, page ``url`` and marketplace ``kind``."""

    id: int
    url: str
    kind: str = "structured"
    listing_id: str | None = None  # the marketplace's own id (the Store API needs it)
    base: str | None = None  # the shop's base URL, for Store API stores


@dataclass
class Recheck:
    """What one target's answer showed; ``capture`` is the evidence of the deciding answer."""

    target: int
    url: str
    status: str  # one of STATUSES
    reason: str
    http_status: int | None = None
    checked_at: str = ""
    capture: Any = None  # crawler.evidence.Capture, None when nothing answered


def load_targets(path: Path, default_kind: str = "structured") -> list[Target]:
    """The targets of a JSON file; ``ValueError`` naming the entry that is not one."""
    data = json.loads(Path(path).read_text("utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of targets, got {type(data).__name__}")
    targets = []
    for n, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: target {n} is not an object")
        kind = entry.get("kind") or default_kind
        if not isinstance(entry.get("id"), int) or isinstance(entry.get("id"), bool):
            raise ValueError(f"{path}: target {n}: 'id' must be a listings row id (an integer)")
        if not isinstance(entry.get("url"), str) or not entry["url"].startswith(
            ("http:", "https:")
        ):
            raise ValueError(f"{path}: target {n}: 'url' must be an http(s) URL")
        if kind not in KINDS:
            raise ValueError(f"{path}: target {n}: kind {kind!r} is not one of {', '.join(KINDS)}")
        targets.append(
            Target(entry["id"], entry["url"], kind, entry.get("listing_id"), entry.get("base"))
        )
    return targets


# --- what a page says ---------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Text as phrases are compared: NFKC, case-folded, straight apostrophes, single spaces.

    >>> normalise("This  Item’s\\nGONE"), normalise("Ｌｕｍａ，商品")
    ("this item's gone", 'luma,商品')
    """
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
    return _SPACE.sub(" ", folded).strip()


@cache
def phrases() -> dict[str, tuple[str, ...]]:
    """The "ended" and "unavailable" phrases of every language, normalised."""
    data = json.loads(files("crawler").joinpath("data/removed-phrases.json").read_text("utf-8"))
    return {
        tier: tuple(dict.fromkeys(normalise(p) for lang in data[tier].values() for p in lang))
        for tier in ("ended", "unavailable")
    }


def visible_text(html: str) -> str:
    """The normalised text a reader sees (title and body, no scripts or styles); "" for no page."""
    sel = page(html)
    if sel is None:
        return ""
    return normalise(" ".join(sel.xpath(_VISIBLE).getall()))


def says(text: str, tier: str) -> str | None:
    """The first phrase of ``tier`` ("ended" or "unavailable") in normalised ``text``, or None.

    Phrases without spaces (Chinese, Japanese) are looked for with the text's spaces removed,
    since a page may split them over elements.

    >>> says("sold by x. this listing has ended. see similar", "ended")
    'this listing has ended'
    >>> says("商品 已下架", "ended"), says("currently unavailable", "ended")
    ('商品已下架', None)
    """
    packed: str | None = None
    for phrase in phrases()[tier]:
        if " " in phrase:
            if phrase in text:
                return phrase
            continue
        if packed is None:
            packed = text.replace(" ", "")
        if phrase in packed:
            return phrase
    return None


def _words(name: str) -> list[str]:
    """The lower-case words of a path segment or host label, a final plural "s" dropped.

    >>> _words("validateCaptcha"), _words("sign-in"), _words("Robot-Vacuums_2.html")
    (['validate', 'captcha'], ['sign', 'in'], ['robot', 'vacuum', '2', 'html'])
    """
    words = [w for w in _WORD_SPLIT.split(_CAMEL.sub("-", name).lower()) if w]
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]


def _wall(words: list[str], whole: bool) -> str | None:
    """The status a page named with ``words`` gives: "blocked" for a wall, "error" for an error
    page, None for neither. A path segment (``whole``) must be made of the wall lists' words only;
    a host label needs only one of them."""
    if whole and not all(w in WALL_WORDS | ERROR_WORDS | WALL_FILLER for w in words):
        return None
    named = {*words, *(a + b for a, b in pairwise(words))}  # "sign-in", "unavailable-region"
    if named & WALL_WORDS:
        return "blocked"
    if named & ERROR_WORDS:
        return "error"
    return None


def site(host: str) -> tuple[str, tuple[str, ...]]:
    """(registrable domain, the other labels) of a host name, ``www.``, ``m.`` and locale
    labels left out: two hosts of one site give the same pair.

    >>> site("www.ebay.com") == site("ebay.com") == site("de.m.ebay.com")
    True
    >>> site("login.aliexpress.com"), site("shop.a.myshopify.com")
    (('aliexpress.com', ('login',)), ('a.myshopify.com', ('shop',)))
    """
    found = _DOMAINS(host.lower().rstrip("."))
    domain = ".".join(p for p in (found.domain, found.suffix) if p)
    labels = tuple(
        label
        for label in found.subdomain.split(".")
        if label
        and label not in SAME_SITE_LABELS
        and not (_LOCALE_LABEL.fullmatch(label) and label not in _NOT_LOCALE)
    )
    return domain, labels


def walled(location: str) -> tuple[str, str] | None:
    """("blocked" or "error", what the page is) when a redirect went to a wall or an error page:
    a captcha, challenge, sign-in, consent or access-denied page, by its host or path, or a page
    that would send the visitor back (a ``return_url`` and the like holding an address).

    >>> walled("https://www.amazon.com/errors/validateCaptcha?amzn=x&amzn-r=%2Fdp%2FB0")
    ('blocked', 'a wall (validateCaptcha)')
    >>> walled("https://www.ebay.com/error?code=503"), walled("https://www.ebay.com/itm/Robot-Vacuum/12")
    (('error', 'an error page (error)'), None)
    """
    went = urlsplit(location)
    host = went.hostname or ""
    found = _DOMAINS(host)
    names = [(label, False) for label in found.subdomain.split(".") if label]
    names += [(part, True) for part in went.path.split("/") if part]
    verdicts = [(status, name) for name, whole in names if (status := _wall(_words(name), whole))]
    if "captcha" in f"{found.domain}{went.path}".lower():
        verdicts.append(("blocked", "captcha"))
    for key, values in parse_qs(went.query, keep_blank_values=True).items():
        if key.lower() in RETURN_KEYS and any(
            v.startswith(("/", "http:", "https:")) for v in values
        ):
            verdicts.append(("blocked", f"{key}="))
    verdicts.sort(key=lambda v: v[0] != "blocked")  # a wall before an error page
    if not verdicts:
        return None
    status, name = verdicts[0]
    return status, f"a wall ({name})" if status == "blocked" else f"an error page ({name})"


def landing(requested: str, location: str) -> tuple[str, str] | None:
    """(status, where) when a redirect from a listing decides it: ("removed", "the home page",
    "a search page" or "a page above it") when it went to a page of no single item of the same
    site; ("blocked", ...) or ("error", ...) when it went to a wall or an error page, which never
    means removed (see ``walled``). None for anywhere else (another URL of the listing, another
    site): the redirect is followed and the page there decides.

    >>> landing("https://m.example/item/12", "https://m.example/search?q=luma")
    ('removed', 'a search page')
    >>> landing("https://m.example/de/item/12", "https://m.example/de/")
    ('removed', 'a page above it')
    >>> landing("https://www.ebay.com/itm/12", "https://consent.ebay.com/?continue=x")
    ('blocked', 'a wall (consent)')
    >>> landing("https://m.example/item/12", "https://m.example/item/12/") is None
    True
    >>> landing("https://www.ebay.com/itm/12", "https://other.example/") is None
    True
    """
    if verdict := walled(location):
        return verdict
    asked, went = urlsplit(requested), urlsplit(location)
    if site(asked.hostname or "") != site(went.hostname or ""):
        return None
    path = went.path.rstrip("/")
    if not path:
        return "removed", "the home page"
    parts = [p.lower() for p in path.split("/") if p]
    asked_path = asked.path.rstrip("/")
    item = asked_path.rsplit("/", 1)[-1].lower()
    if item and item in parts:
        return None  # the listing under another path (/collections/all/products/HANDLE)
    keys = {k.lower() for k in parse_qs(went.query, keep_blank_values=True)}
    if set(parts) & SEARCH_PARTS or keys & SEARCH_KEYS:
        return "removed", "a search page"
    if went.netloc == asked.netloc and asked_path != path and asked_path.startswith(path + "/"):
        return "removed", "a page above it"
    return None


def judge(listing: Listing | None, text: str | None) -> tuple[str, str]:
    """(status, reason) of a page that answered 200: ``text`` is its normalised visible text,
    None for an API answer (JSON says nothing in words)."""
    if text and (phrase := says(text, "ended")):
        return "removed", f"page says {phrase!r}"
    if listing is not None and listing.title:
        return "active", f"listing still shown: {listing.title[:120]!r}"
    if text and (phrase := says(text, "unavailable")):
        return "removed", f"page says {phrase!r} and shows no listing"
    if text is None:
        return "error", "the answer holds no product"
    return "error", "the page shows neither the listing nor a sign of its removal"


# --- reading a listing ---------------------------------------------------------------------------

PAGE_READERS: dict[str, Callable[[str, str], Listing | None]] = {
    "structured": structured.extract,
    "amazon": amazon.extract,
    "ebay": ebay.extract,
}


def api_url(target: Target) -> str | None:
    """The storefront API answer that tells whether ``target`` is still for sale, or None to read
    its page: Shopify's ``/products/HANDLE.json``, the Store API's ``/products/ID``.

    >>> api_url(Target(1, "https://s.example/products/wool-socks?variant=2", "shopify"))
    'https://s.example/products/wool-socks.json'
    >>> api_url(Target(2, "https://w.example/product/socks/", "woocommerce", "77", "https://w.example/"))
    'https://w.example/wp-json/wc/store/v1/products/77'
    """
    parts = urlsplit(target.url)
    if target.kind == "shopify" and "/products/" in parts.path:
        path = parts.path.rstrip("/").removesuffix(".js").removesuffix(".json")
        return f"{parts.scheme}://{parts.netloc}{path}.json"
    if target.kind == "woocommerce" and target.listing_id:
        base = target.base or f"{parts.scheme}://{parts.netloc}/"
        base = base if base.endswith("/") else base + "/"
        return f"{base}wp-json/wc/store/v1/products/{quote(str(target.listing_id), safe='')}"
    return None


def read_api(target: Target, url: str, body: bytes) -> Listing | None:
    """The listing a Shopify or Store API answer holds, or None (not JSON, not a product)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    try:
        if target.kind == "shopify":
            base = url.split("/products/", 1)[0] + "/"
            found = shopify.parse_products(data, base, currency=None, shop_name=None)
        else:
            base = target.base or url.split("wp-json/", 1)[0]
            found = woocommerce.parse_products(data if isinstance(data, list) else [data], base)
    except ExtractError:
        return None
    return found[0] if found else None


class RecheckSpider(scrapy.Spider):
    """Fetches each target once (following redirects itself) and yields one ``Recheck`` for it."""

    name = "recheck"
    # Every error answer reaches the callback (after the retries), and redirects too, so that
    # each target gets an outcome with its status and the evidence of the answer.
    handle_httpstatus_list: ClassVar[list[int]] = [*REDIRECTS, *range(400, 600)]
    # Outcomes are not listings: the listing pipelines would drop them.
    custom_settings: ClassVar[dict[str, Any]] = {"ITEM_PIPELINES": {}}

    options: dict[str, Any]
    targets: list[Target]

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> RecheckSpider:
        path = kwargs.pop("targets", None) or crawler.settings.get("LG_RECHECK_TARGETS")
        if not path:
            raise ValueError("recheck: no targets; give -a targets=FILE (a JSON list)")
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.options = options_from(crawler.settings.getdict("LG_MARKETPLACE"), kwargs)
        spider.marketplace = spider.options.get("name") or cls.name
        spider.targets = load_targets(Path(path), spider.options.get("kind") or "structured")
        spider.max_hops = crawler.settings.getint("REDIRECT_MAX_TIMES", 5)
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for target in self.targets:
            url = api_url(target) or target.url
            yield self._request(
                url, {"lg_target": target, "lg_from": url, "lg_api": url != target.url}
            )

    def _request(self, url: str, meta: dict[str, Any]) -> scrapy.Request:
        meta = {**meta, "dont_redirect": True}
        return scrapy.Request(url, self.answered, errback=self.failed, meta=meta, dont_filter=True)

    def outcome(self, response: Response, status: str, reason: str) -> Recheck:
        target: Target = response.meta["lg_target"]
        capture = response.meta.get("lg_capture")
        self.logger.info("%s: %s (%s)", target.url, status, reason)
        return Recheck(
            target=target.id,
            url=response.url,
            status=status,
            reason=reason,
            http_status=response.status,
            checked_at=capture.captured_at if capture is not None else utc_now(),
            capture=capture,
        )

    def answered(self, response: Response) -> Iterator[Any]:
        block = response.meta.get("lg_block")
        if block is not None:
            yield self.outcome(response, "blocked", f"bot wall: {block.provider} ({block.reason})")
        elif response.status in REDIRECTS:
            yield from self.redirected(response)
        elif response.status in GONE:
            yield self.outcome(response, *self.gone(response))
        elif response.status >= 400:
            yield self.outcome(response, "error", f"HTTP {response.status}")
        else:
            yield self.outcome(response, *self.read(response))

    def gone(self, response: Response) -> tuple[str, str]:
        """A 404 or 410 is a removal, unless it is WordPress saying the Store API itself is not
        there (``rest_no_route``: a plugin turned it off), which says nothing of the product."""
        if response.meta.get("lg_api") and b"rest_no_route" in response.body[:2000]:
            return "error", f"HTTP {response.status}: the shop's Store API is not there"
        return "removed", f"HTTP {response.status}"

    def read(self, response: Response) -> tuple[str, str]:
        target: Target = response.meta["lg_target"]
        if response.meta.get("lg_api"):
            return judge(read_api(target, response.url, response.body), None)
        if not isinstance(response, TextResponse):
            return "error", "the answer is not a page"
        html = response.text
        if target.kind == "selectors":
            listing = selectors.extract(html, response.url, self.options.get("selectors") or {})
        else:
            listing = PAGE_READERS.get(target.kind, structured.extract)(html, response.url)
        return judge(listing, visible_text(html))

    def redirected(self, response: Response) -> Iterator[Any]:
        location = response.headers.get(b"Location")
        to = absolute_url(location.decode("latin-1"), response.url) if location else None
        if to is None:
            yield self.outcome(
                response, "error", f"HTTP {response.status} without a usable Location"
            )
            return
        if verdict := landing(response.meta["lg_from"], to):
            status, where = verdict
            yield self.outcome(response, status, f"redirected to {where}: {to[:200]}")
            return
        hops = response.meta.get("lg_hops", 0) + 1
        if hops > self.max_hops:
            yield self.outcome(response, "error", f"more than {self.max_hops} redirects")
            return
        keep = ("lg_target", "lg_from", "lg_api")
        yield self._request(to, {**{k: response.meta[k] for k in keep}, "lg_hops": hops})

    def failed(self, failure: Failure) -> Iterator[Recheck]:
        request = getattr(failure, "request", None)
        target: Target | None = request.meta.get("lg_target") if request is not None else None
        if target is None:
            return
        message = failure.getErrorMessage() or failure.type.__name__
        self.logger.warning("%s: error (%s)", target.url, message)
        yield Recheck(
            target=target.id,
            url=request.url,
            status="error",
            reason=f"{failure.type.__name__}: {message}"[:300],
            checked_at=utc_now(),
        )
