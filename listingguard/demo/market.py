"""The demo marketplace: four storefronts made from the catalogue, on a real server on 127.0.0.1.

A JSON-LD marketplace, an HTML-only marketplace, a Shopify-style store and a WooCommerce-style
Store API, with their listings' ground truth (``truth``) and a count of every path served
(``hits``), so ``listingguard demo``, the crawler's tests and the benchmarks sweep something real.
Pages are rendered at start (or once, on first request, for the extra listings) so the server
keeps up with a crawl.

``remove()`` takes a listing down as a platform does after a takedown, so rechecks have something
real to find: its page and API answers go (404, a redirect to the search page, or the HTML
marketplace's 200 "no longer available" page) and it leaves every search, catalogue and shop
page. ``relist()`` puts it back.

``blockpage.html`` beside this file is the body of a real PerimeterX "Robot or human?" block,
byte-exact from microlinkhq/is-antibot (``providers/perimeterx/failed.json``, commit
16b77aedabf9ab3599ef69b0bce995a028669809), MIT licence: ``LICENSE-is-antibot.md`` beside it.

Run it by hand with ``python -m listingguard.demo.market [--port 8700] [--extra N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from crawler.evidence import reason_phrase
from listingguard.demo import fakes, pages
from listingguard.demo.fakes import Fake, Seller, Truth

__all__ = ["DemoMarket", "Truth", "marketplaces_toml"]

BLOCK_PAGE = Path(__file__).with_name("blockpage.html")
HTML, JSON = "text/html; charset=utf-8", "application/json; charset=utf-8"
JSONLD_PER_PAGE, HTML_PER_PAGE = 10, 4
CACHE_LIMIT = 100_000  # rendered-on-demand pages kept; beyond it they are rendered every time


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def _html(body: bytes) -> Response:
    return Response(200, HTML, body)


def _json(data: object, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(200, JSON, json.dumps(data, ensure_ascii=False).encode(), headers)


def _error(status: int, data: object) -> Response:
    return Response(status, JSON, json.dumps(data).encode())


def _int(query: dict[str, list[str]], key: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter clamped to [low, high]; junk means the default."""
    try:
        value = int(query.get(key, [""])[0])
    except ValueError:
        return default
    return max(low, min(high, value))


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


class DemoMarket:
    """The demo marketplace server; use it as a context manager, or ``start()`` and ``stop()``.

    ``extra`` adds that many procedural listings to the JSON-LD marketplace (the scale benchmark);
    ``seed`` fixes every choice, so the same seed serves the same listings. ``port`` 0 takes a free
    one. ``truth`` and ``base_url`` are set by ``start()``. The listing behind the robots.txt
    disallow is served but has no ``Truth`` row: a polite crawler never sees it. ``truth`` keeps
    the listings taken down with ``remove()``; ``removed`` holds their URLs.
    """

    def __init__(self, catalogue: Path, *, extra: int = 0, seed: int = 7, port: int = 0) -> None:
        if extra < 0:
            raise ValueError(f"extra must be 0 or more, not {extra}")
        self.catalogue = Path(catalogue)
        self.fakes: list[Fake] = fakes.build(self.catalogue, seed=seed, extra=extra)
        self.port = port
        self.base_url = ""
        self.truth: list[Truth] = []
        self.hits: Counter[str] = Counter()
        self._hits_lock = threading.Lock()
        self._by_market: dict[str, list[Fake]] = {}
        for f in self.fakes:
            self._by_market.setdefault(f.marketplace, []).append(f)
        self._routes: dict[str, Response] = {}  # exact paths rendered at start
        self._lazy: dict[str, Fake] = {}  # item pages rendered on first request
        self._cache: dict[Hashable, Response] = {}
        self._sizes: dict[str, tuple[int, int]] = {}
        self._shopify_json: dict[str, bytes] = {}  # listing id -> the product's JSON
        self._gone: dict[str, Response] = {}  # paths of removed listings -> what they answer now
        self._removed: dict[tuple[str, str], Fake] = {}  # (marketplace, listing id) -> removed
        self._generation = 0  # part of the cache key of lists, which change with each removal
        self._server: _Server | None = None

    # --- life cycle ---

    def start(self) -> DemoMarket:
        if self._server is not None:
            return self
        server = _Server(self, self.port)
        port = server.port
        self.base_url = f"http://127.0.0.1:{port}"
        self._render()
        self.truth = [
            Truth(
                f.marketplace,
                f.listing_id,
                self.base_url + pages.listing_path(f),
                f.label,
                f.expect,
                None if f.label == "blocked" else f.seller.id,
                f.note,
            )
            for f in self.fakes
            if not f.private
        ]
        self._server = server
        return self

    def stop(self) -> None:
        """Stop serving and close the open keep-alive connections too."""
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def __enter__(self) -> DemoMarket:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def marketplaces(self) -> dict[str, dict[str, Any]]:
        """The ``[marketplaces.*]`` config tables that sweep the four storefronts."""
        if not self.base_url:
            raise RuntimeError("the demo market is not started: call start() or use 'with'")
        base = self.base_url
        selectors = {
            "listing_id": "url:/html/listing/([\\w-]+)",
            "title": "h1.item-title::text",
            "description": "div.item-desc",
            "brand": "span.item-brand::text",
            "price": "span.item-price::text",
            "image_urls": "div.gallery img::attr(src)",
            "seller_id": "a.shop-name::attr(data-shop-id)",
            "seller_name": "a.shop-name::text",
            "seller_url": "a.shop-name::attr(href)",
            "seller_location": "span.shop-location::text",
            "sales": "span.sold::text",
            "availability": "span.stock::text",
        }
        return {
            "demo-jsonld": {
                "kind": "structured",
                "start_urls": [base + "/jsonld/search?q=luma"],
                "local": True,
                "delay": 0.0,
                "listing_links": ["/jsonld/item/"],
                "max_pages": 50,
            },
            "demo-html": {
                "kind": "selectors",
                "start_urls": [base + "/html/search?q=luma"],
                "local": True,
                "delay": 0.0,
                "listing_links": ["/html/listing/"],
                "next_page": "a.next::attr(href)",
                "max_pages": 50,
                "selectors": selectors,
            },
            "demo-shopify": {
                "kind": "shopify",
                "start_urls": [base + "/shopify/"],
                "local": True,
                "delay": 0.0,
                "query": "",
                "currency": "USD",
            },
            "demo-woo": {
                "kind": "woocommerce",
                "start_urls": [base + "/woo/"],
                "local": True,
                "delay": 0.0,
                "query": "luma",
            },
        }

    # --- takedowns ---

    @property
    def removed(self) -> frozenset[str]:
        """The URLs of the listings taken down with ``remove()``."""
        return frozenset(self.base_url + pages.listing_path(f) for f in self._removed.values())

    def remove(self, listing: str) -> str:
        """Take a listing down (by its listing id, URL or path), as a platform does after a
        takedown; returns its URL. The JSON-LD marketplace redirects its page to the search page,
        the HTML one answers 200 with a "no longer available" page, the stores answer 404 for
        the page and the API product, and it leaves every list, search and shop page."""
        f = self._find(listing)
        path = pages.listing_path(f)
        if f.marketplace == "demo-jsonld":
            gone = {path: Response(301, HTML, pages.moved(), (("Location", "/jsonld/search?q="),))}
        elif f.marketplace == "demo-html":
            gone = {path: _html(pages.html_listing_ended())}
        elif f.marketplace == "demo-shopify":
            missing = Response(404, JSON, b'{"errors":"Not Found"}')
            gone = {path: Response(404, HTML, pages.not_found(path)), path + ".json": missing}
        else:
            api = f"/woo/wp-json/wc/store/v1/products/{f.listing_id}"
            invalid = {"code": "woocommerce_rest_product_invalid_id",
                       "message": "Invalid product ID.", "data": {"status": 404}}  # fmt: skip
            gone = {path: Response(404, HTML, pages.not_found(path)), api: _error(404, invalid)}
        self._removed[f.marketplace, f.listing_id] = f
        self._gone.update(gone)
        self._changed()
        return self.base_url + path

    def relist(self, listing: str) -> str:
        """Put a removed listing back as it was; returns its URL."""
        f = self._find(listing)
        if self._removed.pop((f.marketplace, f.listing_id), None) is not None:
            path = pages.listing_path(f)
            api = f"/woo/wp-json/wc/store/v1/products/{f.listing_id}"
            for gone in (path, path + ".json", api):
                self._gone.pop(gone, None)
            self._changed()
        return self.base_url + pages.listing_path(f)

    def _find(self, listing: str) -> Fake:
        path = urlsplit(listing).path if "://" in listing else listing
        found = [f for f in self.fakes if listing == f.listing_id or path == pages.listing_path(f)]
        if len(found) != 1:
            raise ValueError(f"{listing!r} names {len(found) or 'no'} demo listings, not one")
        return found[0]

    def _listed(self, f: Fake) -> bool:
        return (f.marketplace, f.listing_id) not in self._removed

    def _on_sale(self, market: str) -> list[Fake]:
        """The listings of one storefront that are not removed, in order."""
        if not self._removed:
            return self._by_market[market]
        return [f for f in self._by_market[market] if self._listed(f)]

    def _changed(self) -> None:
        self._generation += 1  # the cached search pages of before are never served again
        if self._server is not None:
            self._render_shops()

    # --- rendering ---

    def _render(self) -> None:
        """Render the images and every page of the bundled listings; the extra ones wait."""
        base, routes = self.base_url, self._routes
        images = self.catalogue / "images"
        products = fakes.load(self.catalogue / "products.csv")
        others = fakes.load(self.catalogue / "others.csv")
        pooled = any(p.pool is not None for f in self.fakes for p in f.photos)
        pool = (
            [fakes.render_photo(p, images) for p in fakes.pool(products, others)] if pooled else []
        )
        for f in self.fakes:
            for photo in f.photos:
                if photo.path in routes:
                    continue
                made = (
                    pool[photo.pool]
                    if photo.pool is not None
                    else fakes.render_photo(photo, images)
                )
                if made is not None:
                    data, w, h = made
                    routes[photo.path] = Response(200, "image/jpeg", data)
                    self._sizes[photo.name] = (w, h)
        routes["/robots.txt"] = Response(200, "text/plain; charset=utf-8", pages.ROBOTS)
        starts = {name: t["start_urls"][0] for name, t in self.marketplaces().items()}
        routes["/"] = _html(pages.index(starts))
        block = BLOCK_PAGE.read_bytes()
        for f in self.fakes:
            path = pages.listing_path(f)
            if f.listing_id.startswith("jx-"):
                self._lazy[path] = f
                continue
            if f.label == "blocked":
                routes[path] = _html(block)
            elif f.marketplace == "demo-jsonld":
                routes[path] = _html(pages.jsonld_item(f, base))
            elif f.marketplace == "demo-html":
                routes[path] = _html(pages.html_listing(f))
            elif f.marketplace == "demo-shopify":
                routes[path] = _html(pages.shop_page(f, base, fakes.SHOPIFY_SHOP.name, "/shopify/"))
                product = json.dumps(
                    pages.shopify_product(f, base, self._sizes), ensure_ascii=False
                )
                self._shopify_json[f.listing_id] = product.encode()
                routes[path + ".json"] = Response(200, JSON, f'{{"product":{product}}}'.encode())
            else:
                routes[path] = _html(pages.shop_page(f, base, fakes.WOO_SHOP.name, "/woo/"))
                api = f"/woo/wp-json/wc/store/v1/products/{f.listing_id}"
                routes[api] = _json(pages.woo_product(f, base, self._sizes))
        self._render_shops()
        shop = fakes.SHOPIFY_SHOP
        routes["/shopify/"] = _html(
            pages.home(shop.name, "/shopify/collections/all", site_home="/shopify/")
        )
        routes["/shopify/meta.json"] = _json(
            {
                "id": 81000001,
                "name": shop.name,
                "city": "Yiwu",
                "province": "Zhejiang",
                "country": "CN",
                "currency": "USD",
                "domain": shop.id,
                "myshopify_domain": "luma-factory-outlet.myshopify.com",
                "url": base + "/shopify",
                "published_products_count": len(self._by_market["demo-shopify"]),
            }
        )
        routes["/woo/"] = _html(pages.home(fakes.WOO_SHOP.name, "/woo/shop/", site_home="/woo/"))

    def _render_shops(self) -> None:
        """The seller, collection and shop pages, listing what is not removed."""
        routes = self._routes
        sellers: dict[tuple[str, Seller], list[Fake]] = {}
        for f in self.fakes:
            if not f.listing_id.startswith("jx-"):
                listed = sellers.setdefault((f.marketplace, f.seller), [])
                listed += [f] if self._listed(f) else []
        for (market, seller), listed in sellers.items():
            if market == "demo-jsonld":
                routes[f"/jsonld/seller/{seller.id}"] = _html(
                    pages.seller_page(seller, listed, site="Demo Market", home="/jsonld/search?q=")
                )
            elif market == "demo-html":
                routes[f"/html/shop/{seller.id}"] = _html(
                    pages.seller_page(seller, listed, site="Bazaar", home="/html/search?q=")
                )
        shop = fakes.SHOPIFY_SHOP
        routes["/shopify/collections/all"] = _html(
            pages.seller_page(shop, self._on_sale("demo-shopify"), site=shop.name, home="/shopify/")
        )
        routes["/woo/shop/"] = _html(
            pages.seller_page(
                fakes.WOO_SHOP, self._on_sale("demo-woo"), site=fakes.WOO_SHOP.name, home="/woo/"
            ),
        )

    def _cached(self, key: Hashable, make: Callable[[], Response]) -> Response:
        found = self._cache.get(key)
        if found is None:
            found = make()
            if len(self._cache) < CACHE_LIMIT:
                self._cache[key] = found
        return found

    # --- routing ---

    def respond(self, target: str) -> Response:
        """The response to a GET of ``target`` (a path with an optional query string)."""
        split = urlsplit(target)
        with self._hits_lock:
            self.hits[split.path] += 1
        path = unquote(split.path)
        found = self._gone.get(path) if self._gone else None
        found = found or self._routes.get(path)
        if found is not None:
            return found
        query = parse_qs(split.query)
        if path in self._lazy:
            return self._cached(
                path,
                lambda: _html(pages.jsonld_item(self._lazy[path], self.base_url)),
            )
        routes: dict[str, Callable[[dict[str, list[str]]], Response]] = {
            "/jsonld/search": self._jsonld_search,
            "/html/search": self._html_search,
            "/shopify/products.json": self._shopify_products,
            "/shopify/search/suggest.json": self._shopify_suggest,
            "/woo/wp-json/wc/store/v1/products": self._woo_products,
        }
        route = routes.get(path.rstrip("/") if path != "/" else path)
        if route is None:
            return Response(404, HTML, pages.not_found(path))
        return route(query)

    def _jsonld_search(self, query: dict[str, list[str]]) -> Response:
        listed = self._on_sale("demo-jsonld")
        q = query.get("q", [""])[0]
        last = max(1, -(-len(listed) // JSONLD_PER_PAGE))
        n = _int(query, "page", 1, 1, last + 1)

        def make() -> Response:
            start = (n - 1) * JSONLD_PER_PAGE
            results = listed[start : start + JSONLD_PER_PAGE]
            return _html(pages.jsonld_search(results, q=q, page_no=n, more=n < last))

        return self._cached(("jsonld", q, n, self._generation), make)

    def _html_search(self, query: dict[str, list[str]]) -> Response:
        listed = self._on_sale("demo-html")
        q = query.get("q", [""])[0]
        last = max(1, -(-len(listed) // HTML_PER_PAGE))
        n = _int(query, "p", 1, 1, last + 1)

        def make() -> Response:
            start = (n - 1) * HTML_PER_PAGE
            results = listed[start : start + HTML_PER_PAGE]
            return _html(pages.html_search(results, q=q, page_no=n, more=n < last))

        return self._cached(("html", q, n, self._generation), make)

    def _shopify_products(self, query: dict[str, list[str]]) -> Response:
        limit = _int(query, "limit", 30, 1, 250)
        n = _int(query, "page", 1, 1, 10_000)
        listed = self._on_sale("demo-shopify")[(n - 1) * limit : n * limit]
        body = b",".join(self._shopify_json[f.listing_id] for f in listed)
        return Response(200, JSON, b'{"products":[' + body + b"]}")

    def _shopify_suggest(self, query: dict[str, list[str]]) -> Response:
        words = _fold(query.get("q", [""])[0]).split()
        limit = _int(query, "resources[limit]", 10, 1, 10)
        found = []
        for f in self._on_sale("demo-shopify"):
            text = _fold(" ".join([f.title, f.brand or "", f.category, f.description]))
            if all(w in text for w in words):
                found.append(pages.shopify_suggestion(f, self.base_url))
        return _json({"resources": {"results": {"products": found[:limit]}}})

    def _woo_products(self, query: dict[str, list[str]]) -> Response:
        # Like the demo's other searches, the search term ranks nothing out: a category page.
        listed = self._on_sale("demo-woo")
        per_page = _int(query, "per_page", 10, 1, 100)
        n = _int(query, "page", 1, 1, 10_000)
        pages_total = -(-len(listed) // per_page)
        chosen = listed[(n - 1) * per_page : n * per_page]
        api = "/woo/wp-json/wc/store/v1/products/"
        body = b"[" + b",".join(self._routes[api + f.listing_id].body for f in chosen) + b"]"
        headers = (("X-WP-Total", str(len(listed))), ("X-WP-TotalPages", str(pages_total)))
        return Response(200, JSON, body, headers)


class _Server:
    """HTTP/1.1 with keep-alive on an asyncio loop in one thread.

    The crawl benchmark pushes several hundred requests a second through the market; a thread
    per connection (``http.server``) tops out below what Scrapy can ask for on two cores, and
    then the benchmark would measure the server. Only what the market needs: GET and HEAD,
    request bodies ignored, ``Connection: close`` honoured.
    """

    MAX_HEAD = 64 * 1024

    def __init__(self, market: DemoMarket, port: int) -> None:
        self.market = market
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._client, "127.0.0.1", port, limit=self.MAX_HEAD), self.loop
        )
        self.server = future.result(timeout=10)
        self.port = self.server.sockets[0].getsockname()[1]
        self.writers: set[asyncio.StreamWriter] = set()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, _, rest = head.partition(b"\r\n")
                parts = line.decode("latin-1").split()
                if len(parts) != 3 or parts[0] not in ("GET", "HEAD"):
                    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    break
                try:
                    r = self.market.respond(parts[1])
                except Exception as exc:  # the request boundary: a bug is a 500, the server goes on
                    r = Response(500, "text/plain; charset=utf-8", f"{type(exc).__name__}".encode())
                headers = [f"HTTP/1.1 {r.status} {reason_phrase(r.status)}",
                           f"Content-Type: {r.content_type}", f"Content-Length: {len(r.body)}",
                           "Server: listingguard-demo/1",
                           *(f"{k}: {v}" for k, v in r.headers)]  # fmt: skip
                writer.write(("\r\n".join(headers) + "\r\n\r\n").encode("latin-1"))
                if parts[0] == "GET":
                    writer.write(r.body)
                await writer.drain()
                if b"connection: close" in rest.lower():
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()

    def close(self) -> None:
        async def shut() -> None:
            self.server.close()
            for writer in list(self.writers):
                writer.close()
            await self.server.wait_closed()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shut(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {type(value).__name__}")


def marketplaces_toml(tables: dict[str, dict[str, Any]]) -> str:
    """The marketplace tables as config.toml text (``tomllib`` reads it back to the same dicts)."""
    lines: list[str] = []
    for name, table in tables.items():
        lines.append(f"[marketplaces.{name}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
        for key, sub in table.items():
            if isinstance(sub, dict):
                lines.append(f"\n[marketplaces.{name}.{key}]")
                lines += [f"{k} = {_toml_value(v)}" for k, v in sub.items()]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Serve the demo market in the foreground until interrupted."""
    from listingguard.demo import catalogue_source

    parser = argparse.ArgumentParser(
        prog="python -m listingguard.demo.market", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--port", type=int, default=8700, help="port on 127.0.0.1 (0: any free one)"
    )
    parser.add_argument("--extra", type=int, default=0, help="procedural JSON-LD listings to add")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    market = DemoMarket(catalogue_source(), extra=args.extra, seed=args.seed, port=args.port)
    with market:
        print(f"# demo market at {market.base_url} ({len(market.truth)} listings); Ctrl-C stops it")
        print(marketplaces_toml(market.marketplaces()), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
