"""The config-driven extractor on the real eBay pages, an inline page, and its rule checks."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from crawler.extract.selectors import FIELDS, extract, validate
from crawler.items import LISTING_FIELDS

EBAY = Path(__file__).parent / "pages" / "ebay"

# Rules as a user writes them after a look at the page in a browser's inspector.
EBAY_RULES = {
    "listing_id": r"url:/itm/(?:[^/]+/)?(\d+)",
    "title": "h1#itemTitle::text",
    "price": "#prcIsum::text, #prcIsum_bidPrice::text",
    "seller_name": ".mbg-nw::text",
    "seller_location": "//div[contains(@class, 'iti-eu-bld-gry')]/span/text()",
    "image_urls": "#icImg::attr(src)",
}

# page file, its URL (product-extraction-benchmark), title, price, currency, seller, location
EBAY_PAGES = [
    ("ebay.com_21e72a8e6d24", "https://www.ebay.com/itm/302474151804",
     "Halloween Zombie Scars Tattoos Fake Blood Scab Scar Wound Costume Make-Up Kit UK",
     1.99, "GBP", "phoenixemporium", "dudley, United Kingdom"),
    ("ebay.co.uk_359ca699f879", "https://www.ebay.co.uk/itm/143863282131",
     "Pony Cart Harness - Fit Up To 10/11 Hh - Used With Shetland Pony/Small Donkey",
     115.0, "GBP", "clipclopthriftshop", "Ballycastle, United Kingdom"),
    ("ebay.ca_361022ee4199", "https://www.ebay.ca/itm/123808916008",
     "1Pair Hips Thigh Pads Enhancing Hips Contour Sponge Pads Self-adhesive Padded",
     11.19, "GBP", "newshop201616", "CN, China"),
    ("ebay.fr_ccc114af83c7", "https://www.ebay.fr/itm/293565036718",
     "4x Duracell CR2032 3V Lithium Coin Cell Battery 2032 button DL2032. 066",
     5.95, "EUR", "hightowershop", "Galway , Irlande (Eire)"),
    ("ebay.it_2d3e52568d57", "https://www.ebay.it/itm/133588510845", "Angel Teddy Bear",
     12.99, "GBP", "shaabasr", "Hayes, Regno Unito"),
]  # fmt: skip


def read(name: str) -> str:
    with gzip.open(EBAY / f"{name}.html.gz", "rt", encoding="utf-8") as f:
        return f.read()


def test_the_fields_are_listing_fields() -> None:
    assert set(FIELDS) - {"image_urls"} <= set(LISTING_FIELDS)


@pytest.mark.parametrize(
    ("name", "url", "title", "price", "currency", "seller", "location"), EBAY_PAGES
)
def test_real_ebay_pages(
    name: str, url: str, title: str, price: float, currency: str, seller: str, location: str
) -> None:
    assert validate(EBAY_RULES) == []
    listing = extract(read(name), url, EBAY_RULES)
    assert listing is not None
    assert listing.listing_id == url.rsplit("/", 1)[-1]
    assert listing.url == url
    assert listing.title == title
    assert (listing.price, listing.currency) == (price, currency)
    assert listing.seller_name == seller
    assert listing.seller_location == location
    assert len(listing.image_urls) == 1 and listing.image_urls[0].startswith(
        "https://i.ebayimg.com/"
    )
    # No rule for it: the page's <link rel="canonical">.
    assert listing.canonical_url.endswith("/" + listing.listing_id)


def test_without_a_listing_id_rule_the_id_is_the_canonical_path() -> None:
    rules = {k: v for k, v in EBAY_RULES.items() if k != "listing_id"}
    listing = extract(read("ebay.it_2d3e52568d57"), "https://www.ebay.it/itm/133588510845", rules)
    assert listing is not None and listing.listing_id == "/itm/ANGEL-TEDDY-BEAR-/133588510845"


SNIPPET = """<html><head><link rel="canonical" href="/p/4711"></head><body>
<h1 class="name">  Wool   <em>Hiking</em> Socks\n</h1>
<div class="gallery"><img src="/img/1.jpg"><img src="//cdn.example.net/2.jpg"><img src="/img/1.jpg">
<img data-src="/lazy/3.jpg"></div>
<p class="price">Now <b>12,50 €</b></p><p class="ccy">CHF</p>
<div id="shop"><a href="/shop/woolly">Woolly &amp; Co</a><span class="where">Zürich</span></div>
<div class="stock">Auf Lager</div><span class="sold">1.234 verkauft</span>
<div class="desc"><p>Soft.</p><script>track()</script><p>Warm.</p></div>
</body></html>"""


def test_an_inline_page_css_and_xpath() -> None:
    rules = {
        "title": "h1.name",  # an element: its text, several nodes joined
        "price": "//p[@class='price']",
        "image_urls": ".gallery img::attr(src), .gallery img::attr(data-src)",
        "seller_name": "#shop a::text",
        "seller_url": "(//div[@id='shop']/a/@href)[1]",
        "seller_location": "./descendant::span[@class='where']/text()",
        "availability": ".stock::text",
        "sales": ".sold",
        "description": ".desc",
    }
    assert validate(rules) == []
    listing = extract(SNIPPET, "https://shop.example/p/4711?ref=ad", rules)
    assert listing is not None
    assert listing.title == "Wool Hiking Socks"
    assert (listing.price, listing.currency) == (12.5, "EUR")
    assert listing.image_urls == [
        "https://shop.example/img/1.jpg",
        "https://cdn.example.net/2.jpg",
        "https://shop.example/lazy/3.jpg",
    ]
    assert listing.seller_name == "Woolly & Co"
    assert listing.seller_url == "https://shop.example/shop/woolly"
    assert listing.seller_location == "Zürich"
    assert listing.availability == "InStock"
    assert listing.sales == "1.234 verkauft"
    assert listing.description == "Soft. Warm."
    assert listing.canonical_url == "https://shop.example/p/4711"
    assert listing.listing_id == "/p/4711"
    # An explicit currency rule wins over the price's symbol.
    listing = extract(SNIPPET, "https://shop.example/p/4711", {**rules, "currency": ".ccy::text"})
    assert listing is not None and (listing.price, listing.currency) == (12.5, "CHF")


def test_url_rule_and_hostile_text() -> None:
    page = "<h1>&lt;script&gt;alert(1)&lt;/script&gt; Bag</h1>"
    rules = {"listing_id": r"url:[?&]id=(\d+)", "title": "h1::text"}
    listing = extract(page, "https://m.example/item?id=991&x=1", rules)
    assert listing is not None
    assert listing.listing_id == "991"
    assert listing.title == "<script>alert(1)</script> Bag"


def test_a_page_without_title_or_price_is_not_a_listing() -> None:
    page = "<html><body><h2>Search results</h2><p class='seller'>x</p></body></html>"
    rules = {"title": "h1::text", "price": ".price::text", "seller_name": ".seller::text"}
    assert extract(page, "https://m.example/s?q=socks", rules) is None
    assert extract("", "https://m.example/", rules) is None
    # A price alone is enough.
    assert extract("<i class='price'>$5</i>", "https://m.example/p/1", rules).price == 5.0


def test_validate_names_each_field_and_what_is_wrong() -> None:
    problems = validate(
        {
            "title": "h1::text",
            "colour": ".colour",
            "price": "span[",
            "brand": "//div[@class='b'",
            "listing_id": "url:/p/",
            "seller_id": "url:/u/(\\d+",
            "sales": "  ",
        }
    )
    assert len(problems) == 6, problems
    by_field = {p.split(":", 1)[0]: p for p in problems}
    assert set(by_field) == {"colour", "price", "brand", "listing_id", "seller_id", "sales"}
    assert "unknown field" in by_field["colour"] and "title" in by_field["colour"]
    assert "CSS selector 'span['" in by_field["price"] and "does not compile" in by_field["price"]
    assert "XPath expression" in by_field["brand"] and "does not compile" in by_field["brand"]
    assert "no group" in by_field["listing_id"]
    assert "url: pattern" in by_field["seller_id"] and "does not compile" in by_field["seller_id"]
    assert "non-empty" in by_field["sales"]
    # Bad rules are skipped by extract, not fatal.
    listing = extract(SNIPPET, "https://shop.example/p/1", {"title": "h1", "price": "span["})
    assert listing is not None and listing.title == "Wool Hiking Socks" and listing.price is None
