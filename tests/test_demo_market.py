"""The demo marketplace, through real HTTP requests to the server on 127.0.0.1."""

from __future__ import annotations

import http.client
import io
import json
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import extruct
import pytest
from parsel import Selector
from PIL import Image
from w3lib.url import safe_url_string

from listingguard.demo import catalogue_source
from listingguard.demo.fakes import KINDS, LABELS
from listingguard.demo.market import BLOCK_PAGE, DemoMarket, marketplaces_toml

WOO_PRODUCT = (
    "add_to_cart",
    "average_rating",
    "description",
    "has_options",
    "id",
    "images",
    "is_in_stock",
    "is_password_protected",
    "is_purchasable",
    "low_stock_remaining",
    "name",
    "on_sale",
    "permalink",
    "prices",
    "review_count",
    "short_description",
    "sku",
    "slug",
    "summary",
    "variation",
)
WOO_PRICES = (
    "currency_code",
    "currency_decimal_separator",
    "currency_minor_unit",
    "currency_prefix",
    "currency_suffix",
    "currency_symbol",
    "currency_thousand_separator",
    "price",
    "price_range",
    "regular_price",
    "sale_price",
)
WOO_IMAGE = ("alt", "id", "name", "sizes", "src", "srcset", "thumbnail")
BROKEN = {"broken-truncated.jpg", "broken-html.jpg", "missing-photo.jpg"}


def get(url: str) -> tuple[int, http.client.HTTPMessage, bytes]:
    """Status, headers and body of a GET; the URL is quoted first, as Scrapy and browsers do."""
    try:
        with urllib.request.urlopen(safe_url_string(url), timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def get_json(url: str) -> object:
    status, headers, body = get(url)
    assert status == 200, url
    assert headers["Content-Type"].startswith("application/json")
    return json.loads(body)


def html_pages(start: str, next_css: str) -> Iterator[tuple[str, Selector]]:
    """Each page of a paged search, following ``next_css`` until a page has none."""
    url: str | None = start
    seen = set()
    while url:
        assert url not in seen, f"pagination loops at {url}"
        seen.add(url)
        status, _, body = get(url)
        assert status == 200
        sel = Selector(text=body.decode())
        yield url, sel
        href = sel.css(next_css).get()
        url = urljoin(url, href) if href else None


def robots(market: DemoMarket) -> RobotFileParser:
    parser = RobotFileParser()
    parser.parse(get(market.base_url + "/robots.txt")[2].decode().splitlines())
    return parser


def jsonld_links(market: DemoMarket) -> list[str]:
    start = market.marketplaces()["demo-jsonld"]["start_urls"][0]
    links = []
    for url, sel in html_pages(start, 'link[rel="next"]::attr(href)'):
        links += [urljoin(url, h) for h in sel.css("a.result::attr(href)").getall()]
    return links


def html_links(market: DemoMarket) -> list[str]:
    start = market.marketplaces()["demo-html"]["start_urls"][0]
    links = []
    for url, sel in html_pages(start, "a.next::attr(href)"):
        links += [urljoin(url, h) for h in sel.css("a.card-link::attr(href)").getall()]
    return links


def shopify_products(market: DemoMarket, limit: int = 4) -> list[dict]:
    products, page = [], 1
    while True:
        got = get_json(f"{market.base_url}/shopify/products.json?limit={limit}&page={page}")
        if not got["products"]:
            return products
        products += got["products"]
        page += 1


def woo_products(market: DemoMarket, per_page: int = 3) -> list[dict]:
    api = market.base_url + "/woo/wp-json/wc/store/v1/products"
    products, page, total_pages = [], 1, None
    while True:
        status, headers, body = get(f"{api}?search=luma&page={page}&per_page={per_page}")
        assert status == 200
        total_pages = int(headers["X-WP-TotalPages"])
        got = json.loads(body)
        if not got:
            assert page == total_pages + 1
            return products
        products += got
        page += 1


def test_marketplace_tables_point_at_the_server_and_read_back_as_toml(market: DemoMarket) -> None:
    tables = market.marketplaces()
    assert set(tables) == {"demo-jsonld", "demo-html", "demo-shopify", "demo-woo"}
    for table in tables.values():
        assert table["local"] is True and table["delay"] == 0.0
        assert all(u.startswith(market.base_url + "/") for u in table["start_urls"])
        assert get(table["start_urls"][0])[0] == 200
    assert set(tables["demo-html"]["selectors"]) >= {"listing_id", "title", "price", "image_urls"}
    text = marketplaces_toml(tables)
    assert tomllib.loads(text)["marketplaces"] == tables


def test_jsonld_marketplace_pages_and_structured_items(market: DemoMarket) -> None:
    links = jsonld_links(market)
    assert len(links) == len(set(links)) == 15  # 14 listings and the robots.txt-disallowed one
    private = market.base_url + "/jsonld/private/item-secret"
    assert private in links
    blocked = {t.url for t in market.truth if t.label == "blocked"}
    for url in links:
        if url in blocked or url == private:
            continue
        status, headers, body = get(url)
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        html = body.decode()
        assert Selector(text=html).css('link[rel="canonical"]::attr(href)').get() == url
        data = extruct.extract(html, base_url=url, syntaxes=["json-ld"])["json-ld"]
        (product,) = [d for d in data if d["@type"] == "Product"]
        assert product["name"] and product["sku"] and product["description"] is not None
        assert all(i.startswith(market.base_url + "/img/") for i in product["image"])
        offer = product["offers"]
        assert offer["@type"] == "Offer" and float(offer["price"]) > 0
        assert offer["priceCurrency"] == "USD" and offer["availability"].startswith(
            "https://schema.org/"
        )
        seller = offer["seller"]
        assert seller["url"] == f"{market.base_url}/jsonld/seller/{seller['identifier']}"
        assert get(seller["url"])[0] == 200
        assert Selector(text=html).css("span.seller-location::text").get()


def test_one_item_answers_200_with_the_real_perimeterx_block(market: DemoMarket) -> None:
    (row,) = [t for t in market.truth if t.label == "blocked"]
    status, headers, body = get(row.url)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert body == BLOCK_PAGE.read_bytes()
    assert body.startswith(b"<!DOCTYPE html><html><head><title>Robot or human?</title>")
    assert b"window._pxAppId" in body
    sel = Selector(text=body.decode())
    assert sel.css("#px-captcha") and sel.css("title::text").get() == "Robot or human?"


def test_robots_txt_disallows_the_private_listing_which_exists(market: DemoMarket) -> None:
    status, headers, body = get(market.base_url + "/robots.txt")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert body == b"User-agent: *\nDisallow: /jsonld/private/\n"
    private = market.base_url + "/jsonld/private/item-secret"
    assert not robots(market).can_fetch("*", private)
    assert robots(market).can_fetch("*", market.base_url + "/jsonld/item/jl-101")
    assert private not in {t.url for t in market.truth}
    before = market.hits["/jsonld/private/item-secret"]
    assert get(private)[0] == 200
    assert market.hits["/jsonld/private/item-secret"] == before + 1


def test_html_marketplace_has_the_selector_classes_and_no_structured_data(
    market: DemoMarket,
) -> None:
    links = html_links(market)
    assert len(links) == 10 and len(set(links)) == 10
    pages_seen = list(
        html_pages(market.marketplaces()["demo-html"]["start_urls"][0], "a.next::attr(href)")
    )
    assert len(pages_seen) == 3 and not pages_seen[-1][1].css("a.next")
    prices = []
    for url in links:
        status, _, body = get(url)
        assert status == 200
        html = body.decode()
        sel = Selector(text=html)
        assert extruct.extract(html, syntaxes=["json-ld", "microdata"]) == {
            "json-ld": [],
            "microdata": [],
        }
        for css in ("h1.item-title::text", "span.item-price::text", "a.shop-name::text",
                    "a.shop-name::attr(data-shop-id)", "a.shop-name::attr(href)",
                    "span.shop-location::text", "span.sold::text", "span.stock::text"):  # fmt: skip
            assert sel.css(css).get(), (url, css)
        assert "".join(sel.css("div.item-desc ::text").getall()).strip()
        srcs = sel.css("div.gallery img::attr(src)").getall()
        assert srcs and all(s.startswith("/img/") for s in srcs)  # relative to the page
        prices.append(sel.css("span.item-price::text").get())
    assert any(p.startswith("US $") for p in prices) and any(
        p.startswith("€ ") and "," in p for p in prices
    )


def test_shopify_store_json_in_shopify_shape(market: DemoMarket) -> None:
    products = shopify_products(market)
    assert len(products) == 9
    assert shopify_products(market, limit=250) == products
    for p in products:
        assert {"id", "title", "handle", "body_html", "vendor", "product_type", "created_at",
                "updated_at", "tags", "variants", "images", "options"} <= set(p)  # fmt: skip
        v = p["variants"][0]
        assert {"id", "title", "price", "sku", "available"} <= set(v) and float(v["price"]) > 0
        img = p["images"][0]
        assert {"id", "src", "position", "width", "height"} <= set(img)
        assert img["src"].startswith("//127.0.0.1:")
        one = get_json(f"{market.base_url}/shopify/products/{p['handle']}.json")
        assert one == {"product": p}
        assert get(f"{market.base_url}/shopify/products/{p['handle']}")[0] == 200
    found = get_json(
        market.base_url + "/shopify/search/suggest.json?q=luma&resources[type]=product"
    )
    results = found["resources"]["results"]["products"]
    assert results and all(r["url"] == f"/products/{r['handle']}" for r in results)
    assert all("luma" in (r["title"] + r["body"] + r["vendor"]).lower() for r in results)
    meta = get_json(market.base_url + "/shopify/meta.json")
    assert meta["currency"] == "USD" and meta["name"] and meta["domain"]
    assert get(market.base_url + "/shopify/")[0] == 200


def test_woocommerce_store_api_in_the_documented_shape(market: DemoMarket) -> None:
    products = woo_products(market)
    assert len(products) == 8
    _, headers, _ = get(market.base_url + "/woo/wp-json/wc/store/v1/products?per_page=3")
    assert headers["X-WP-Total"] == "8" and headers["X-WP-TotalPages"] == "3"
    for p in products:  # the keys of the Store API docs' example product (woocommerce/woocommerce)
        assert set(WOO_PRODUCT) <= set(p)
        assert set(WOO_PRICES) <= set(p["prices"])
        assert set(WOO_IMAGE) <= set(p["images"][0])
    for p in products:
        prices = p["prices"]
        assert prices["price"].isdigit() and prices["currency_minor_unit"] == 2
        assert p["permalink"].startswith(market.base_url + "/woo/product/")
        assert get(p["permalink"])[0] == 200
        assert p["short_description"].startswith("<p>")


def all_image_urls(market: DemoMarket) -> set[str]:
    urls = set()
    for link in jsonld_links(market):
        body = get(link)[2]
        urls |= {
            urljoin(link, s)
            for s in Selector(text=body.decode()).css("div.photos img::attr(src)").getall()
        }
    for link in html_links(market):
        body = get(link)[2].decode()
        urls |= {
            urljoin(link, s) for s in Selector(text=body).css("div.gallery img::attr(src)").getall()
        }
    urls |= {"http:" + i["src"] for p in shopify_products(market) for i in p["images"]}
    urls |= {i["src"] for p in woo_products(market) for i in p["images"]}
    return urls


def test_images_decode_except_the_deliberately_broken_ones(market: DemoMarket) -> None:
    urls = all_image_urls(market)
    broken = {}
    for url in urls:
        name = urlsplit(url).path.rsplit("/", 1)[-1]
        status, headers, body = get(url)
        if name in BROKEN:
            broken[name] = (status, headers["Content-Type"], body)
            continue
        assert status == 200 and headers["Content-Type"] == "image/jpeg", url
        with Image.open(io.BytesIO(body)) as im:
            im.load()
            assert im.format == "JPEG" and max(im.size) <= 800
    assert set(broken) == BROKEN
    assert broken["missing-photo.jpg"][0] == 404
    assert broken["broken-html.jpg"][:2] == (200, "image/jpeg")
    assert broken["broken-html.jpg"][2].startswith(b"<!DOCTYPE html>")
    status, kind, data = broken["broken-truncated.jpg"]
    assert (status, kind) == (200, "image/jpeg")
    with pytest.raises(OSError), Image.open(io.BytesIO(data)) as im:
        im.load()


def test_truth_covers_every_listing_served_and_every_label(market: DemoMarket) -> None:
    rules = robots(market)
    served = {u for u in jsonld_links(market) + html_links(market) if rules.can_fetch("*", u)}
    served |= {
        f"{market.base_url}/shopify/products/{p['handle']}" for p in shopify_products(market)
    }
    served |= {p["permalink"] for p in woo_products(market)}
    truth = {t.url: t for t in market.truth}
    assert len(truth) == len(market.truth) == 41
    assert served == set(truth)
    assert {t.label for t in market.truth} == set(LABELS)
    per = Counter((t.marketplace, t.label) for t in market.truth)
    for name in market.marketplaces():
        assert per[name, "counterfeit"] >= 2 and per[name, "mention"] >= 1
        assert per[name, "unrelated"] >= 1
    assert per["demo-jsonld", "genuine"] >= 2 and per["demo-html", "genuine"] >= 1
    assert per["demo-jsonld", "blocked"] == 1
    for t in market.truth:
        assert t.expect <= KINDS and t.note
        if t.label == "genuine":
            assert t.expect == KINDS and t.seller_id in {"luma-official", "springfield-outdoor"}
        if t.label in ("mention", "unrelated", "blocked"):
            assert t.expect == frozenset()
        if t.label == "counterfeit":
            assert "image_copy" in t.expect
    assert {t.seller_id for t in market.truth if t.seller_id == "springfield-outdoor"}
    assert all(
        t.marketplace == "demo-jsonld" for t in market.truth if t.seller_id == "springfield-outdoor"
    )


def test_same_seed_same_listings(market: DemoMarket) -> None:
    catalogue = catalogue_source()
    assert DemoMarket(catalogue).fakes == market.fakes
    assert DemoMarket(catalogue, seed=8).fakes != market.fakes
    with DemoMarket(catalogue) as again:
        assert [t.url.replace(again.base_url, "") for t in again.truth] == [
            t.url.replace(market.base_url, "") for t in market.truth
        ]
        for path in ("/jsonld/item/jl-102", "/html/listing/h-203", "/img/broken-truncated.jpg"):
            mine = get(market.base_url + path)[2].replace(market.base_url.encode(), b"")
            theirs = get(again.base_url + path)[2].replace(again.base_url.encode(), b"")
            assert mine == theirs


def test_extra_listings_page_through_with_three_distinct_pool_images() -> None:
    with DemoMarket(catalogue_source(), extra=1000) as m:
        links = jsonld_links(m)
        assert len(links) == 1015 and len(set(links)) == 1015
        assert len(m.truth) == 1041
        extra = [t for t in m.truth if t.listing_id.startswith("jx-")]
        assert len(extra) == 1000 and {t.label for t in extra} == {"counterfeit", "unrelated"}
        last = extra[-1]
        status, _, body = get(last.url)
        assert status == 200
        (product,) = extruct.extract(body.decode(), syntaxes=["json-ld"])["json-ld"]
        images = product["image"]
        assert len(set(images)) == 3
        datas = [get(u)[2] for u in images]
        assert len(set(datas)) == 3
        for data in datas:
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                assert max(im.size) <= 400


def test_hostile_title_and_image_attributes_stay_escaped(market: DemoMarket) -> None:
    body = get(market.base_url + "/html/listing/h-206")[2].decode()
    sel = Selector(text=body)
    assert "<script>alert(1)</script>" in sel.css("h1.item-title::text").get()
    assert not sel.css("script") and not sel.xpath("//*[@onerror]")
    img = sel.css("div.gallery img")[0]
    assert "onerror=" in img.attrib["src"] and "onerror=" in img.attrib["alt"]
    assert get(urljoin(market.base_url + "/html/listing/h-206", img.attrib["src"]))[0] == 200

    body = get(market.base_url + "/jsonld/item/jl-110")[2].decode()
    sel = Selector(text=body)
    (script,) = sel.css("script")
    assert script.attrib["type"] == "application/ld+json"
    assert json.loads(script.css("::text").get())["name"].endswith(
        "</script><script>alert(1)</script>"
    )
    assert not sel.xpath("//*[@onerror]")
    assert "</script><script>" not in sel.css("h1").get()


def test_hits_count_paths_without_the_query(market: DemoMarket) -> None:
    path = "/shopify/meta.json"
    before = market.hits[path]
    for q in ("", "?a=1", "?b=2"):
        get(market.base_url + path + q)
    assert market.hits[path] == before + 3
    assert get(market.base_url + "/nowhere")[0] == 404
    assert market.hits["/nowhere"] >= 1


def test_keep_alive_and_content_length(market: DemoMarket) -> None:
    conn = http.client.HTTPConnection(urlsplit(market.base_url).netloc, timeout=10)
    try:
        for path in ("/robots.txt", "/jsonld/item/jl-101", "/nowhere", "/img/missing-photo.jpg"):
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
            assert int(r.headers["Content-Length"]) == len(body)
            assert r.version == 11 and not r.will_close
    finally:
        conn.close()


def test_request_rate(market: DemoMarket) -> None:
    """The crawl benchmark needs 400 requests/s or more; printed, never asserted (timing varies)."""
    paths = [
        "/jsonld/item/jl-101",
        "/html/listing/h-202",
        "/shopify/products.json",
        "/img/broken-html.jpg",
    ]
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < 1.0:
        get(market.base_url + paths[n % len(paths)])
        n += 1
    print(
        f"\ndemo market: {n / (time.perf_counter() - started):.0f} requests/s (urllib, one at a time)"
    )


def test_module_serves_in_the_foreground_and_prints_the_tables() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "listingguard.demo.market", "--port", "0"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        first = proc.stdout.readline() if proc.stdout else ""
        base = first.split(" at ")[1].split()[0]
        assert get(base + "/robots.txt")[0] == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
