"""Page extractors on real saved marketplace pages (tests/pages/, see its README for sources)."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from crawler.extract import amazon, ebay, structured
from crawler.extract.common import (
    absolute_url,
    after_label,
    availability,
    currency_iso,
    json_after,
    price_amount,
    unique_urls,
)
from crawler.items import Listing
from matcher.prices import parse_price

PAGES = Path(__file__).parent / "pages"
TRUTH = json.loads((PAGES / "ground-truth.json").read_text(encoding="utf-8"))


def read(name: str) -> str:
    with gzip.open(PAGES / name, "rt", encoding="utf-8", errors="replace") as f:
        return f.read()


def truth_file(page_id: str) -> str:
    (path,) = PAGES.glob(f"*/*_{page_id[:12]}.html.gz")
    return path.relative_to(PAGES).as_posix()


def extract_any(html: str, url: str) -> Listing | None:
    """The extractor the crawler uses for ``url``'s host."""
    host = url.split("/")[2]
    if ".amazon." in f".{host}":
        return amazon.extract(html, url)
    if ".ebay." in f".{host}":
        return ebay.extract(html, url)
    return structured.extract(html, url)


# The structured data says $90 (the auction's starting price); the page shows the current bid,
# $400, which is the truth. JSON-LD wins by design, so this page is a known miss (see the bench).
_KNOWN_PRICE_MISSES = {"9d939d48bcf7"}


def _truth_params() -> list[object]:
    params = []
    for page_id, fields in TRUTH.items():
        marks = []
        if page_id[:12] in _KNOWN_PRICE_MISSES:
            marks.append(pytest.mark.xfail(strict=True, reason="JSON-LD price is the start bid"))
        params.append(pytest.param(page_id, fields, id=truth_file(page_id), marks=marks))
    return params


@pytest.mark.parametrize(("page_id", "fields"), _truth_params())
def test_ground_truth_price_title_image(page_id: str, fields: dict) -> None:
    listing = extract_any(read(truth_file(page_id)), fields["url"])
    assert listing is not None
    assert listing.title
    assert listing.image_urls and all(u.startswith("http") for u in listing.image_urls)
    if "price" not in fields:
        assert listing.price is None
        return
    amount = float(parse_price(fields["price"][0])[0])
    assert listing.price == pytest.approx(amount, abs=0.005)
    if "currency" in fields:
        assert listing.currency == currency_iso(fields["currency"][0], url=fields["url"])


def test_ground_truth_pages_are_all_present() -> None:
    assert len(TRUTH) == 21
    assert all(truth_file(page_id) for page_id in TRUTH)


AMAZON = {
    # file: (url, title start, price, currency, seller, seller id, brand, gallery size)
    "amazon.com_01efbb747904": (
        "https://www.amazon.com/dp/B01GOH7PKA", "Gothamite 36-inch", 87.11, "USD",
        "Gothamite", "A11W14YSY5BZ5H", "Gothamite", 6,
    ),
    "amazon.co.uk_27021c0c0aea": (
        "https://www.amazon.co.uk/dp/B004SNMXRS", "Tefal 5 Piece", 48.99, "GBP",
        "Amazon Warehouse", "A2OAJ7377F756P", "Tefal", 9,
    ),
    "amazon.de_95f9586d43ea": (
        "https://www.amazon.de/dp/B006V2OP48", "WELEDA Citrus", 8.71, "EUR",
        "Amazon", None, "WELEDA", 5,
    ),
    "amazon.it_871a0c6c919b": (
        "https://www.amazon.it/dp/B085ZSV1JJ", "Retevis RT628B", 21.99, "EUR",
        "RetevisDirect", "A3ICDZYF91YIY1", "Retevis", 9,
    ),
    "amazon.fr_64915d8c2251": (
        "https://www.amazon.fr/dp/B082QBCYY8", "PetSafe Siège", 66.75, "EUR",
        "Amazon", None, "PetSafe", 5,
    ),
    "amazon.com_raw-2019_metascraper-shopping": (
        "https://www.amazon.com/dp/B07G2L3JMM", "Modern LED Wall Sconce", 29.99, "USD",
        "Direct ChangM", "A3EL5JZNMT8SZ7", "ChangM", 9,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", AMAZON)
def test_amazon_buy_box_seller_gallery(name: str) -> None:
    url, title, price, currency, seller, seller_id, brand, gallery = AMAZON[name]
    listing = amazon.extract(read(f"amazon/{name}.html.gz"), url)
    assert listing is not None
    assert listing.listing_id == url.rsplit("/", 1)[-1]
    assert listing.title.startswith(title)
    assert (listing.price, listing.currency) == (price, currency)
    assert (listing.seller_name, listing.seller_id) == (seller, seller_id)
    assert listing.brand == brand
    assert listing.availability == "InStock"
    assert len(listing.image_urls) == gallery
    assert len(set(listing.image_urls)) == gallery
    assert all("images-amazon.com/images/I/" in u for u in listing.image_urls)
    assert listing.canonical_url.endswith(listing.listing_id)
    assert listing.description


def test_amazon_out_of_stock_has_no_price() -> None:
    # The page shows $29.99 in a "subscribe" widget for another product: not this one's price.
    html = read("amazon/amazon.com_0094967f37c6.html.gz")
    listing = amazon.extract(html, "https://www.amazon.com/dp/B07FW264WL")
    assert "$29.99" in html
    assert listing.price is None and listing.currency is None
    assert listing.availability == "OutOfStock"
    assert listing.seller_name is None
    assert listing.brand == "365 by Whole Foods Market"
    assert listing.listing_id == "B07FW264WL"


def test_amazon_asin_from_page_when_url_has_none() -> None:
    html = read("amazon/amazon.de_95f9586d43ea.html.gz")
    assert amazon.extract(html, "https://www.amazon.de/s?k=weleda").listing_id == "B006V2OP48"


def test_amazon_gallery_falls_back_to_landing_image() -> None:
    html = read("amazon/amazon.com_01efbb747904.html.gz")
    without_script = html.replace("'colorImages'", "'colourless'")
    listing = amazon.extract(without_script, "https://www.amazon.com/dp/B01GOH7PKA")
    assert listing.image_urls[0].endswith("6163z-yieOL._AC_UL1024_.jpg")  # data-old-hires


EBAY = {
    # file: (url, title, price, currency, seller, location, gallery, sales, brand)
    "ebay.com_21e72a8e6d24": (
        "https://www.ebay.com/itm/302474151804",
        "Halloween Zombie Scars Tattoos Fake Blood Scab Scar Wound Costume Make-Up Kit UK",
        1.99, "GBP", "phoenixemporium", "dudley, United Kingdom", 10, "6,881 sold", None,
    ),
    "ebay.co.uk_359ca699f879": (
        "https://www.ebay.co.uk/itm/143863282131",
        "Pony Cart Harness - Fit Up To 10/11 Hh - Used With Shetland Pony/Small Donkey",
        115.0, "GBP", "clipclopthriftshop", "Ballycastle, United Kingdom", 10, None, None,
    ),
    "ebay.it_2d3e52568d57": (
        "https://www.ebay.it/itm/133588510845", "Angel Teddy Bear",
        12.99, "GBP", "shaabasr", "Hayes, Regno Unito", 2, None, "Unbranded",
    ),
    "ebay.ca_361022ee4199": (
        "https://www.ebay.ca/itm/123808916008",
        "1Pair Hips Thigh Pads Enhancing Hips Contour Sponge Pads Self-adhesive Padded",
        11.19, "GBP", "newshop201616", "CN, China", 14, "10 sold", "Unbranded",
    ),
    "ebay.fr_ccc114af83c7": (
        "https://www.ebay.fr/itm/293565036718",
        "4x Duracell CR2032 3V Lithium Coin Cell Battery 2032 button DL2032. 066",
        5.95, "EUR", "hightowershop", "Galway , Irlande (Eire)", 4, "325 objets déjà vendus",
        "Duracell",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", EBAY)
def test_ebay_item_page(name: str) -> None:
    url, title, price, currency, seller, location, gallery, sales, brand = EBAY[name]
    listing = ebay.extract(read(f"ebay/{name}.html.gz"), url)
    assert listing is not None
    assert listing.listing_id == url.rsplit("/", 1)[-1]
    assert listing.title == title  # no "Details about", no "show original title" link
    assert (listing.price, listing.currency) == (price, currency)
    assert listing.seller_name == listing.seller_id == seller
    assert listing.seller_url == f"https://{url.split('/')[2]}/usr/{seller}"
    assert listing.seller_location == location
    # MANIFEST.md counts 12 and 17 image URLs on the .com and .ca pages; the gallery carousel
    # (imgArr, and the #vi_main_img_fs thumbnails) holds 10 and 14 pictures.
    assert len(listing.image_urls) == gallery
    assert all(
        re.search(r"i\.ebayimg\.com/images/g/.+/s-l1600\.(?:jpg|png)$", u)
        for u in listing.image_urls
    )
    assert listing.sales == sales
    assert listing.brand == brand


def test_ebay_auction_bid_price_not_the_converted_one() -> None:
    listing = ebay.extract(
        read("ebay/ebay.co.uk_359ca699f879.html.gz"), EBAY["ebay.co.uk_359ca699f879"][0]
    )
    assert (listing.price, listing.currency) == (115.0, "GBP")  # £115.00 in #prcIsum_bidPrice
    html = read("ebay/ebay.it_2d3e52568d57.html.gz")
    assert "EUR 14,43" in html  # #convbidPrice, the price converted for an Italian visitor
    listing = ebay.extract(html, EBAY["ebay.it_2d3e52568d57"][0])
    assert (listing.price, listing.currency) == (12.99, "GBP")


def test_ebay_gallery_falls_back_to_thumbnails() -> None:
    html = read("ebay/ebay.com_21e72a8e6d24.html.gz").replace('"imgArr"', '"noArr"')
    listing = ebay.extract(html, EBAY["ebay.com_21e72a8e6d24"][0])
    assert len(listing.image_urls) == 10


def test_etsy_shop_is_the_seller() -> None:
    url = "https://www.etsy.com/es/listing/550571276/el-original-he-y-hay-calabaza-decoracion"
    listing = structured.extract(
        read("etsy/etsy.com_listing-550571276_metascraper-shopping.html.gz"), url
    )
    assert listing.brand == listing.seller_name == "OliveCreativeCompany"
    assert listing.seller_url == "https://www.etsy.com/es/shop/OliveCreativeCompany"
    # JSON-LD's AggregateOffer (43.90 EUR) wins over OpenGraph's 48,00 USD.
    assert (listing.price, listing.currency) == (43.90, "EUR")
    assert listing.listing_id == "550571276"
    assert '"hey there pumpkin"' in listing.description  # &quot; inside JSON-LD decoded


def test_structured_only_on_etsy_makes_brand_the_seller() -> None:
    html = read("etsy/etsy.com_listing-550571276_metascraper-shopping.html.gz")
    listing = structured.extract(html, "https://shop.example.org/listing/550571276")
    assert listing.brand == "OliveCreativeCompany" and listing.seller_name is None


def test_shopify_microdata_is_cleaned() -> None:
    url = "https://mediamarkt.pt/products/micro-ondas-panasonic-nn-k35hwmebg-800w-23l"
    listing = structured.extract(read("shopify/mediamarkt.pt_4d2ce26fa4b8.html.gz"), url)
    assert listing.brand == "Panasonic"  # "Ver mais artigos da Marca: Panasonic"
    assert (listing.price, listing.currency) == (109.0, "EUR")  # "109€\n109€\n109"
    assert len(listing.image_urls) == 7
    assert all(u.startswith("https://cdn.shopify.com/") for u in listing.image_urls)


@pytest.mark.parametrize(
    ("name", "url", "expected"),
    [
        (
            "retail-jsonld/johnlewis.com_1bb3781745f7.html.gz",  # "@type": "product"
            "https://www.johnlewis.com/google-nest-mini-hands-free-smart-speaker-2nd-gen/chalk/p4781720",
            {"brand": "Google", "seller_name": "John Lewis & Partners", "price": 49.0},
        ),
        (
            "alibaba/alibaba.com_d8830de9c46d.html.gz",  # AggregateOffer lowPrice
            "https://www.alibaba.com/product-detail/x_62320522213.html",
            {"price": 11.99, "currency": "USD", "listing_id": "62320522213"},
        ),
        (
            "marketplaces-other/zalando.ie_4f4a8f8ddd03.html.gz",  # a list of offers
            "https://www.zalando.ie/versace-jeans-couture-bull-baroque-slim-fit-jeans-azzurro-scuro-vei22g013-k11.html",
            # The listing is named by its URL, not the SKU (sellers share SKUs on marketplaces).
            {
                "brand": "Versace Jeans Couture",
                "listing_id": "versace-jeans-couture-bull-baroque-slim-fit-jeans-azzurro-scuro-vei22g013-k11",
                "price": 344.0,
            },
        ),
        (
            "marketplaces-other/pokupki.market.yandex.ru_08b51541ad98.html.gz",  # "RUR"
            "https://pokupki.market.yandex.ru/product/x/140212369",
            {"currency": "RUB", "price": 249.0, "brand": "Luminarc"},
        ),
        (
            "marketplaces-other/olx.com.pk_0d1c8923ac06.html.gz",  # offers.seller as text
            "https://www.olx.com.pk/item/x-iid-1021493409",
            {"seller_name": "Only call no sms", "currency": "PKR", "listing_id": "1021493409"},
        ),
        (
            "marketplaces-other/emag.ro_2fa16d14a9e3.html.gz",
            "https://www.emag.ro/x/pd/DWFWKMMBM/",
            {"seller_name": "eMAG", "currency": "RON", "brand": "Jack Daniel's"},
        ),
        (
            "marketplaces-other/manchester.craigslist.org_3d3ee8ebe156.html.gz",  # a Place
            "https://manchester.craigslist.org/app/d/salford-indesit-washing-machine-6kg/7235216655.html",
            {"seller_location": "Salford, ENG, GB", "listing_id": "7235216655", "price": 50.0},
        ),
        (
            "wayfair/wayfair.com_metascraper-shopping.html.gz",
            "https://www.wayfair.com/furniture/pdp/x-w005759888.html",
            {"brand": "Wade Logan®", "price": 111.99, "currency": "USD"},
        ),
        (
            "retail-jsonld/argos.co.uk_25910052eef8.html.gz",  # main Product among recommendations
            "https://www.argos.co.uk/product/4667999",
            {"title": "TP-Link Tapo C200 Pan/Tilt 1080P Wi-Fi Smart Indoor Camera", "price": 34.99},
        ),
    ],
)
def test_structured_real_world_shapes(name: str, url: str, expected: dict) -> None:
    listing = structured.extract(read(name), url)
    assert listing is not None
    for field, value in expected.items():
        assert getattr(listing, field) == value, field


@pytest.mark.parametrize(
    "name",
    [
        "extruct_schema.org_product",
        "extruct_schema.org_product-ref",
        "extruct_misc_opengraph_ns_product_test",
    ],
)
def test_structured_agrees_with_extruct_expected_output(name: str) -> None:
    expected = json.loads((PAGES / "schemaorg" / f"{name}.json").read_text(encoding="utf-8"))
    text = json.dumps(expected)
    listing = structured.extract(read(f"schemaorg/{name}.html.gz"), "https://www.example.com/p")
    assert listing.title and listing.title in text
    assert f"{listing.price:g}" in text and listing.currency in text
    assert listing.image_urls


def test_structured_microdata_seller_and_relative_images() -> None:
    listing = structured.extract(
        read("schemaorg/extruct_schema.org_product-ref.html.gz"), "https://shop.example/p/1"
    )
    assert listing.seller_name == "Executive Objects"
    assert listing.image_urls == [
        "https://shop.example/p/anvil_executive.jpg",
        "https://shop.example/p/img-2.jpg",
    ]
    assert listing.listing_id == "1"  # the URL names the listing; the mpn names the product


def test_structured_none_without_a_product() -> None:
    # A real Amazon page embeds no schema.org Product and no product OpenGraph.
    assert (
        structured.extract(
            read("amazon/amazon.de_95f9586d43ea.html.gz"), "https://www.amazon.de/dp/B006V2OP48"
        )
        is None
    )


# Hostile and malformed input: never an exception, None where there is no listing.
_HOSTILE_PAGE = "marketplaces-other/manchester.craigslist.org_3d3ee8ebe156.html.gz"


@pytest.mark.parametrize("extract", [structured.extract, amazon.extract, ebay.extract])
@pytest.mark.parametrize(
    "html",
    [
        "",
        "   \n",
        "<html><body><p>No product here.</p></body></html>",
        "\x00\x01\x02 <html",
        (PAGES / _HOSTILE_PAGE).read_bytes().decode("latin-1"),  # gzip bytes as text: garbage
        read(_HOSTILE_PAGE)[:5000],  # a page cut off mid-way
    ],
    ids=["empty", "blank", "no-product", "nul-bytes", "binary", "truncated"],
)
def test_hostile_input_never_raises(extract, html: str) -> None:
    result = extract(html, "https://www.example.com/itm/123456789012")
    assert result is None or isinstance(result, Listing)


@pytest.mark.parametrize("extract", [structured.extract, amazon.extract, ebay.extract])
def test_non_string_input_is_no_listing(extract) -> None:
    assert extract(None, "https://www.example.com/") is None  # type: ignore[arg-type]


def test_broken_json_ld_block_does_not_hide_the_product() -> None:
    html = read(_HOSTILE_PAGE)
    broken = '<script type="application/ld+json">{"@type": "Product", "name": "x",,, </script>'
    listing = structured.extract(
        html.replace("<head>", "<head>" + broken, 1), "https://m.craigslist.org/a/1.html"
    )
    assert listing.title == "Indesit Washing Machine 6kg"
    assert listing.price == 50.0


def test_only_broken_json_ld_is_no_listing() -> None:
    html = '<html><head><script type="application/ld+json">{"@type": "Product", "name": </script></head></html>'
    assert structured.extract(html, "https://www.example.com/p/1") is None


def test_script_in_json_ld_title_stays_text() -> None:
    # Inside a <script> block a raw "</script>" would end the block, so JSON writes it escaped.
    injected = '"name":"\\u003cscript\\u003ealert(1)\\u003c/script\\u003e Indesit"'
    html = read(_HOSTILE_PAGE).replace('"name":"Indesit Washing Machine 6kg"', injected)
    assert injected in html
    listing = structured.extract(html, "https://m.craigslist.org/a/1.html")
    assert listing.title == "<script>alert(1)</script> Indesit"


def test_script_in_amazon_title_stays_text() -> None:
    html = read("amazon/amazon.com_01efbb747904.html.gz")
    html = re.sub(
        r'(<span id="productTitle"[^>]*>)',
        r"\1&lt;script&gt;alert(1)&lt;/script&gt; ",
        html,
        count=1,
    )
    listing = amazon.extract(html, "https://www.amazon.com/dp/B01GOH7PKA")
    assert listing.title.startswith("<script>alert(1)</script> Gothamite")


def test_script_in_ebay_title_stays_text() -> None:
    html = read("ebay/ebay.fr_ccc114af83c7.html.gz").replace(
        "</span>4x Duracell", "</span>&lt;img src=x onerror=alert(1)&gt; 4x Duracell", 1
    )
    listing = ebay.extract(html, "https://www.ebay.fr/itm/293565036718")
    assert listing.title.startswith("<img src=x onerror=alert(1)> 4x Duracell")


# The shared helpers.


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        ("£48.99", (48.99, "GBP")),
        ("8,71 €", (8.71, "EUR")),
        ("US $1.99", (1.99, "USD")),
        ("C $19.38", (19.38, "CAD")),
        ("AU $5.00", (5.0, "AUD")),
        ("GBP 12,99", (12.99, "GBP")),
        ("$10.99 - $15.99", (10.99, "USD")),
        ("109€\n109€\n109", (109.0, "EUR")),
        ("173,34 Lei", (173.34, "RON")),
        ("n/a", None),
        ("", None),
        ("-5 €", None),
    ],
)
def test_price_amount(shown: str, expected: tuple | None) -> None:
    assert price_amount(shown) == expected


def test_currency_by_domain_only_when_shared() -> None:
    assert currency_iso("$", url="https://www.amazon.com/dp/x") == "USD"
    assert currency_iso("$", url="https://www.ebay.ca/itm/1") == "CAD"
    assert currency_iso("$", url="https://www.amazon.com.au/dp/x") == "AUD"
    assert currency_iso("£", url="https://www.ebay.ca/itm/1") == "GBP"  # not shared: as written
    assert currency_iso("Rs", url="https://www.olx.com.pk/item/1") == "PKR"
    assert currency_iso("Rs", url="https://www.example.com/") is None
    assert currency_iso("RUR") == "RUB"
    assert currency_iso("¥", url="https://www.amazon.co.jp/dp/x") == "JPY"
    assert currency_iso("¥") is None
    assert currency_iso("XX") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://schema.org/InStock", "InStock"),
        ("http://schema.org/OutOfStock", "OutOfStock"),
        ("instock", "InStock"),
        ("in stock", "InStock"),
        ("Only 1 left in stock.", "InStock"),
        ("Disponibilità immediata.", "InStock"),
        ("Currently unavailable.", "OutOfStock"),
        ("Derzeit nicht verfügbar.", "OutOfStock"),
        (["", "http://schema.org/PreOrder"], "PreOrder"),
        ("Ships in 2 days", None),
        (None, None),
    ],
)
def test_availability(value: object, expected: str | None) -> None:
    assert availability(value) == expected


def test_json_after_matches_brackets_inside_strings() -> None:
    text = 'var data = {"initial": [{"u": "a]b"}, {"u": "c[d"}], "other": [1]};'
    assert json_after(text, r'"initial"\s*:') == [{"u": "a]b"}, {"u": "c[d"}]
    assert json_after(text, r'"missing"\s*:') is None
    assert json_after('"initial": [{"u": "unterminated', r'"initial"\s*:') is None


def test_urls_absolute_http_only_in_order() -> None:
    base = "https://www.example.com/p/1"
    urls = [
        "//cdn.example.com/a.jpg",
        "/b.jpg",
        "javascript:alert(1)",
        "//cdn.example.com/a.jpg",
        None,
        "data:x",
    ]
    assert unique_urls(urls, base) == [
        "https://cdn.example.com/a.jpg",
        "https://www.example.com/b.jpg",
    ]
    assert absolute_url("http://[::1", base) is None


def test_after_label() -> None:
    assert after_label("Ver mais artigos da Marca: Panasonic") == "Panasonic"
    assert after_label("Marque : Duracell") == "Duracell"
    assert after_label("Gothamite") == "Gothamite"
