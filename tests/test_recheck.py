"""Rechecks of reported listings (issue 6, point 5): the demo market takes listings down and the
recheck finds them gone, through the real crawl process, middlewares, WARC evidence and store.

One sweep and one recheck of the four storefronts are shared by the module; the spider's
decisions are also checked on real saved marketplace pages (tests/pages) without a network.
"""

from __future__ import annotations

import gzip
import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from scrapy import Request
from scrapy.http import HtmlResponse, Response, TextResponse

from crawler.evidence import read_payload
from crawler.spiders.recheck import (
    Recheck,
    RecheckSpider,
    Target,
    landing,
    load_targets,
    says,
    visible_text,
)
from listingguard import store
from listingguard.demo.market import DemoMarket
from listingguard.recheck import RecheckResult, RecheckTarget, check, targets_for
from listingguard.workspace import Workspace, open_workspace
from tests.conftest import run
from tests.test_sweep import demo_workspace, sweep

PAGES = Path(__file__).parent / "pages"
REMOVED = {  # one listing per storefront, each taken down its own way
    "h-203": "page says 'this listing is no longer available' and shows no listing",
    "8100000002": "HTTP 404",  # Shopify: /products/HANDLE.json answers 404
    "jl-102": "redirected to a search page",  # the JSON-LD marketplace sends it to its search
    "502": "HTTP 404",  # WooCommerce: the Store API product answers 404
}
ACTIVE = ("h-202", "8100000001", "jl-101", "501")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens here once the socket is closed


def add_listing(ws: Workspace, marketplace: str, listing_id: str, url: str) -> int:
    """A listing row as an earlier sweep would have left it (for pages a sweep cannot store)."""
    return store.save_listing(
        ws.db, {"marketplace": marketplace, "listing_id": listing_id, "url": url, "title": "x"}
    )


@pytest.fixture(scope="module")
def rechecked(market: DemoMarket, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Sweep the demo market, take four listings down, then recheck them with live ones, a bot
    wall and an unreachable host: the results, the listing rows and their statuses after it."""
    config = demo_workspace(tmp_path_factory.mktemp("recheck") / "ws", market.base_url)
    sweep(config)
    ws = open_workspace(config)
    rows = {r["listing_id"]: r for r in ws.db.query("SELECT id, listing_id, url FROM listings")}
    wall = next(t for t in market.truth if t.label == "blocked")
    rows[wall.listing_id] = {"id": add_listing(ws, "demo-jsonld", wall.listing_id, wall.url)}
    gone = f"http://127.0.0.1:{closed_port()}/html/listing/h-999"
    rows["h-999"] = {"id": add_listing(ws, "demo-html", "h-999", gone)}
    for listing_id in REMOVED:
        market.remove(listing_id)
    ids = [rows[k]["id"] for k in (*REMOVED, *ACTIVE, wall.listing_id, "h-999")]
    results = check(ws, targets_for(ws.db, ids))
    status = {k: ws.db["listings"].get(r["id"])["status"] for k, r in rows.items()}
    yield {"ws": ws, "config": config, "rows": rows, "results": results, "status": status,
           "wall": wall.listing_id}  # fmt: skip
    ws.close()


def result(rechecked: dict, listing_id: str) -> RecheckResult:
    return rechecked["results"][rechecked["rows"][listing_id]["id"]]


def test_listings_taken_down_are_found_removed_and_marked_so(rechecked) -> None:
    for listing_id, reason in REMOVED.items():
        found = result(rechecked, listing_id)
        assert found.status == "removed", (listing_id, found)
        assert found.reason.startswith(reason), (listing_id, found.reason)
        assert rechecked["status"][listing_id] == "removed"
    assert result(rechecked, "jl-102").http_status == 301
    assert result(rechecked, "h-203").http_status == 200


def test_listings_still_for_sale_are_active(rechecked) -> None:
    for listing_id in ACTIVE:
        found = result(rechecked, listing_id)
        assert found.status == "active", (listing_id, found)
        assert found.http_status == 200 and found.reason.startswith("listing still shown")
        assert rechecked["status"][listing_id] == "active"


def test_a_bot_wall_is_blocked_never_removed(rechecked) -> None:
    found = result(rechecked, rechecked["wall"])
    assert found.status == "blocked" and "perimeterx" in found.reason
    assert found.capture_id is not None  # the wall is kept as evidence too
    assert rechecked["status"][rechecked["wall"]] == "active"  # left as it was


def test_an_unreachable_host_is_an_error_never_removed(rechecked) -> None:
    found = result(rechecked, "h-999")
    assert found.status == "error" and "refused" in found.reason.lower()
    assert found.http_status is None and found.capture_id is None
    assert rechecked["status"]["h-999"] == "active"


def test_each_answer_is_kept_as_evidence(rechecked) -> None:
    ws, config = rechecked["ws"], rechecked["config"]
    evidence = config.parent / "evidence"
    for listing_id in (*REMOVED, *ACTIVE):
        found = result(rechecked, listing_id)
        row = ws.db["captures"].get(found.capture_id)
        assert row["kind"] == "recheck" and row["listing_id"] == rechecked["rows"][listing_id]["id"]
        assert row["http_status"] == found.http_status and row["captured_at"] == found.checked_at
        assert row["warc_file"].startswith("warc/") and "recheck-" in row["warc_file"]
        kind, body = read_payload(evidence / row["warc_file"], row["warc_offset"])
        assert kind == "response"
        if listing_id == "h-203":
            assert b"This listing is no longer available" in body
    code, out, _ = run(CliRunner(), config, "evidence", "verify")
    assert code == 0 and "all unchanged" in out


def test_a_relisted_listing_is_active_again(rechecked, market: DemoMarket) -> None:
    ws, listing = rechecked["ws"], rechecked["rows"]["h-203"]["id"]
    market.relist("h-203")
    (target,) = targets_for(ws.db, [listing])
    found = check(ws, [target])[listing]
    assert found.status == "active"
    assert ws.db["listings"].get(listing)["status"] == "active"


def test_a_marketplace_not_in_the_config_is_an_error(rechecked) -> None:
    results = check(rechecked["ws"], [RecheckTarget(1, "nowhere", "https://example.com/x")])
    assert results[1].status == "error" and "no marketplace 'nowhere'" in results[1].reason


# --- the demo market's takedowns --------------------------------------------------------------


def html_search(market: DemoMarket) -> bytes:
    return b"".join(market.respond(f"/html/search?q=luma&p={n}").body for n in (1, 2, 3))


def test_a_removed_listing_leaves_the_lists_and_comes_back(market: DemoMarket) -> None:
    url = market.remove("h-205")
    try:
        assert url in market.removed
        path = url.removeprefix(market.base_url)
        assert market.respond(path).status == 200
        assert b"no longer available" in market.respond(path).body
        assert b"h-205" not in html_search(market)
        seller = next(f.seller for f in market.fakes if f.listing_id == "h-205")
        assert b"h-205" not in market.respond(f"/html/shop/{seller.id}").body
    finally:
        market.relist(url)
    assert url not in market.removed
    assert b"item-title" in market.respond("/html/listing/h-205").body
    assert b"h-205" in html_search(market)


def test_store_apis_drop_a_removed_product(market: DemoMarket) -> None:
    market.remove("507")
    market.remove("8100000009")
    try:
        assert market.respond("/woo/wp-json/wc/store/v1/products/507").status == 404
        listed = json.loads(market.respond("/woo/wp-json/wc/store/v1/products?per_page=100").body)
        assert 507 not in {p["id"] for p in listed}
        shopify = json.loads(market.respond("/shopify/products.json?limit=250").body)["products"]
        assert 8100000009 not in {p["id"] for p in shopify}
        assert b"8100000009" not in market.respond("/shopify/collections/all").body
    finally:
        market.relist("507")
        market.relist("8100000009")
    assert market.respond("/woo/wp-json/wc/store/v1/products/507").status == 200


def test_remove_names_one_listing(market: DemoMarket) -> None:
    with pytest.raises(ValueError, match="no demo listings"):
        market.remove("no-such-listing")


# --- the spider's decisions on real pages --------------------------------------------------------


def spider(**options: object) -> RecheckSpider:
    made = RecheckSpider()
    made.options, made.max_hops = dict(options), 5
    return made


def answer(target: Target, status: int = 200, body: bytes = b"", **kw: object) -> Response:
    meta = {"lg_target": target, "lg_from": target.url, "lg_api": False}
    request = Request(target.url, meta=meta)
    cls = HtmlResponse if body.lstrip().startswith(b"<") else TextResponse
    return cls(target.url, status=status, body=body, request=request, encoding="utf-8", **kw)


def outcome(target: Target, status: int = 200, body: bytes = b"", **kw: object) -> Recheck:
    (found,) = list(spider().answered(answer(target, status, body, **kw)))
    return found


def real_pages() -> list[pytest.param]:
    kinds = {"amazon": "amazon", "ebay": "ebay"}
    return [
        pytest.param(path, kinds.get(path.parent.name, "structured"), id=path.name)
        for path in sorted(PAGES.glob("*/*.html.gz"))
    ]


@pytest.mark.parametrize(("path", "kind"), real_pages())
def test_no_real_product_page_is_taken_for_removed(path: Path, kind: str) -> None:
    body = gzip.decompress(path.read_bytes())
    url = f"https://{path.name.split('_')[0]}/item/1"
    found = outcome(Target(1, url, kind), body=body)
    assert found.status == "active", found.reason
    assert says(visible_text(body.decode("utf-8", "replace")), "ended") is None


def test_an_out_of_stock_page_says_unavailable_and_stays_active() -> None:
    # Amazon's "Currently unavailable" on a live page: an "unavailable" phrase only removes a
    # listing when nothing can be read from the page.
    body = gzip.decompress((PAGES / "amazon" / "amazon.com_0094967f37c6.html.gz").read_bytes())
    assert says(visible_text(body.decode()), "unavailable") == "currently unavailable"
    found = outcome(Target(1, "https://www.amazon.com/dp/B07FW264WL", "amazon"), body=body)
    assert found.status == "active"


TAKEN_DOWN = "<html><body><p>商品 已下架</p></body></html>".encode()  # split over elements
ENDED = b"""<html><head><title>Duracell CR2032 | eBay</title></head><body>
<div class="statusmessage">This listing was ended by the seller because the item is no longer
available.</div><h1 id="itemTitle">4x Duracell CR2032</h1><span id="prcIsum">EUR 5,95</span></body></html>"""


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (410, b"", {}, ("removed", "HTTP 410")),
        (503, b"", {}, ("error", "HTTP 503")),
        (429, b"", {}, ("error", "HTTP 429")),
        (403, b"<html><body>Forbidden</body></html>", {}, ("error", "HTTP 403")),
        (200, ENDED, {}, ("removed", "page says 'this listing was ended'")),
        (200, TAKEN_DOWN, {}, ("removed", "page says '商品已下架'")),
        (200, b"<html><body><p>Hello</p></body></html>", {}, ("error", "the page shows neither")),
        (302, b"", {"Location": "/"}, ("removed", "redirected to the home page")),
        (301, b"", {}, ("error", "HTTP 301 without a usable Location")),
    ],
)
def test_answers_and_what_they_mean(status, body, headers, expected) -> None:
    found = outcome(Target(1, "https://www.ebay.fr/itm/293565036718", "ebay"), status, body,
                    headers=headers)  # fmt: skip
    assert (found.status, found.reason[: len(expected[1])]) == expected
    assert found.http_status == status


def test_a_redirect_to_another_page_of_the_listing_is_followed() -> None:
    target = Target(1, "https://www.ebay.fr/itm/293565036718", "ebay")
    to = "https://www.ebay.fr/itm/4x-Duracell-CR2032/293565036718"
    response = answer(target, 301, headers={"Location": to})
    (request,) = list(spider().answered(response))
    assert isinstance(request, Request) and request.url == to
    assert request.meta["lg_hops"] == 1 and request.meta["dont_redirect"]
    looped = answer(target, 301, headers={"Location": to})
    looped.meta["lg_hops"] = 5
    (found,) = list(spider().answered(looped))
    assert found.status == "error" and "redirects" in found.reason


EBAY, AMAZON = "https://www.ebay.com/itm/293565036718", "https://www.amazon.com/dp/B07FW264WL"
ALI = "https://www.aliexpress.com/item/1005006123456789.html"
REMOVED_BY_REDIRECT = [  # the same site's home, search or category page
    (EBAY, "https://www.ebay.com/b/Clothing-Shoes-Accessories/11450/bn_1852545", "a search page"),
    (EBAY, "https://ebay.com/b/Clothing-Shoes-Accessories/11450/bn_1852545", "a search page"),
    (EBAY, "/sch/i.html?_nkw=duracell+cr2032", "a search page"),
    (AMAZON, "https://www.amazon.com/", "the home page"),
    (AMAZON, "https://amazon.com/?ref=nav_logo", "the home page"),
    (AMAZON, "/b?node=172282", "a search page"),
    ("https://de.aliexpress.com/item/1005006123456789.html", "https://www.aliexpress.com/",
     "the home page"),
    ("https://www.ebay.de/itm/293565036718", "https://de.ebay.de/", "the home page"),
]  # fmt: skip
WALLS = [  # captcha, sign-in, consent and error pages: never removed
    (AMAZON, "https://www.amazon.com/errors/validateCaptcha?amzn=Xy1&amzn-r=%2Fdp%2FB07FW264WL",
     "blocked"),
    (AMAZON, "/errors/validateCaptcha", "blocked"),
    (AMAZON, "https://www.amazon.com/ap/signin?openid.return_to=https%3A%2F%2Fwww.amazon.com%2F",
     "blocked"),
    (AMAZON, "https://www.amazon.com/unavailable-region", "blocked"),
    (EBAY, "https://www.ebay.com/error?code=503", "error"),
    (EBAY, "/error", "error"),
    (EBAY, "https://consent.ebay.com/?continue=https%3A%2F%2Fwww.ebay.com%2Fitm%2F293565036718",
     "blocked"),
    (EBAY, "https://signin.ebay.com/ws/eBayISAPI.dll?SignIn&ru=https%3A%2F%2Fwww.ebay.com%2F",
     "blocked"),
    (EBAY, "https://www.ebay.com/splashui/captcha?ap=1&appName=orch&ru=https%3A%2F%2Fwww.ebay.com",
     "blocked"),
    (EBAY, "https://www.ebay.com/?continue=/itm/293565036718", "blocked"),
    (EBAY, "https://www.ebay.com/gdpr", "blocked"),
    (EBAY, "https://www.ebay.com/cookie-consent", "blocked"),
    (EBAY, "https://www.ebay.com/access-denied", "blocked"),
    (EBAY, "https://passport.ebay.com/", "blocked"),
    (EBAY, "https://accounts.ebay.com/", "blocked"),
    (ALI, "https://login.aliexpress.com/?return_url=https%3A%2F%2Fwww.aliexpress.com%2Fitem%2F1",
     "blocked"),
    (ALI, "https://www.aliexpress.com/_____tmd_____/punish?x5secdata=abc", "blocked"),
    (ALI, "https://accounts.google.com/o/oauth2/auth?client_id=1", "blocked"),
    ("https://shop.example.com/product/socks/", "/cdn-cgi/challenge-platform/h/b/orchestrate",
     "blocked"),
    ("https://shop.example.com/product/socks/", "https://geo.captcha-delivery.com/captcha/?cid=1",
     "blocked"),
]  # fmt: skip
FOLLOWED = [  # another site, or another URL of the listing: followed, the page there decides
    (EBAY, "https://www.ebay.co.uk/"),
    (AMAZON, "https://www.example.org/"),
    (AMAZON, "https://www.example.org/search?q=socks"),
    (EBAY, "https://pages.ebay.com/"),
    ("https://a-shop.myshopify.com/products/socks", "https://b-shop.myshopify.com/"),
    (EBAY, "https://www.ebay.com/itm/Robot-Vacuum-Cleaner/293565036718"),
    (EBAY, "https://www.ebay.com/itm/Cookie-Cutter-Set/293565036718"),
    ("https://s.example/products/wool-socks", "https://s.example/collections/all/products/wool-socks"),
]  # fmt: skip


def redirect(url: str, to: str, status: int = 302) -> Recheck | Request:
    (found,) = list(spider().answered(answer(Target(1, url, "structured"), status,
                                             headers={"Location": to})))  # fmt: skip
    return found


@pytest.mark.parametrize(("url", "to", "where"), REMOVED_BY_REDIRECT)
def test_a_redirect_to_the_sites_home_or_a_search_page_is_removed(url, to, where) -> None:
    found = redirect(url, to)
    assert isinstance(found, Recheck)
    assert found.status == "removed" and found.reason.startswith(f"redirected to {where}")
    assert found.http_status == 302


@pytest.mark.parametrize(("url", "to", "status"), WALLS)
def test_a_redirect_to_a_wall_or_an_error_page_is_never_removed(url, to, status) -> None:
    found = redirect(url, to)
    assert isinstance(found, Recheck), found
    assert found.status == status, found.reason
    assert found.reason.startswith(
        "redirected to " + ("a wall" if status == "blocked" else "an error")
    )


@pytest.mark.parametrize(("url", "to"), FOLLOWED)
def test_a_redirect_to_another_site_or_url_of_the_listing_is_followed(url, to) -> None:
    found = redirect(url, to, 301)
    assert isinstance(found, Request), found
    assert landing(url, to) is None


def test_a_followed_redirect_is_judged_against_the_listings_own_site() -> None:
    target = Target(1, EBAY, "ebay")
    first = answer(target, 301, headers={"Location": "https://www.ebay.co.uk/itm/293565036718"})
    (request,) = list(spider().answered(first))
    assert request.meta["lg_from"] == EBAY
    home = "https://www.ebay.co.uk/"  # the other site's home page says nothing of the listing
    second = HtmlResponse(request.url, status=302, headers={"Location": home}, request=request)
    (followed,) = list(spider().answered(second))
    assert isinstance(followed, Request) and followed.url == home
    # and, come back to the listing's own site, its home page is a removal
    third = HtmlResponse(request.url, status=302, headers={"Location": "https://ebay.com/"},
                         request=request)  # fmt: skip
    (found,) = list(spider().answered(third))
    assert found.status == "removed" and found.reason.startswith("redirected to the home page")


def test_a_store_api_that_is_gone_is_not_a_removed_product() -> None:
    target = Target(
        1, "https://w.example/product/socks/", "woocommerce", "77", "https://w.example/"
    )
    response = answer(target, 404, b'{"code":"rest_no_route","data":{"status":404}}')
    response.meta["lg_api"] = True
    (found,) = list(spider().answered(response))
    assert found.status == "error" and "Store API" in found.reason
    invalid = b'{"code":"woocommerce_rest_product_invalid_id","data":{"status":404}}'
    response = answer(target, 404, invalid)
    response.meta["lg_api"] = True
    assert next(spider().answered(response)).status == "removed"


def test_targets_file_errors_name_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "targets.json"
    path.write_text(json.dumps([{"id": 1, "url": "https://a.example/x", "kind": "ebay"},
                                {"id": "2", "url": "https://a.example/y"}]))  # fmt: skip
    with pytest.raises(ValueError, match="target 1: 'id' must be"):
        load_targets(path)
    path.write_text(json.dumps([{"id": 1, "url": "file:///etc/passwd"}]))
    with pytest.raises(ValueError, match="http"):
        load_targets(path)
