"""The Shopify and WooCommerce storefront JSON parsers on their fixtures and on broken input."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from crawler.extract import ExtractError, shopify, woocommerce

API = Path(__file__).parent / "pages" / "api"
SHOP = "https://trailwise.example"


def load(name: str) -> Any:
    return json.loads((API / name).read_text(encoding="utf-8"))


@pytest.fixture
def products() -> dict[str, Any]:
    return load("shopify-products.json")


@pytest.fixture
def woo() -> list[dict[str, Any]]:
    return load("store-api-v1-products.docs-example.json")


def test_shopify_products_json(products: dict[str, Any]) -> None:
    socks, beanie = shopify.parse_products(products, SHOP, currency="USD", shop_name="Trailwise")
    assert socks.listing_id == "8012345678901"
    assert socks.url == "https://trailwise.example/products/merino-hiking-socks-3-pack"
    assert socks.title == "Merino Hiking Socks - 3 Pack"
    assert socks.brand == "Trailwise"
    # The lowest *available* variant: S at 17.50 is sold out, M at 19.99 is not.
    assert (socks.price, socks.currency) == (19.99, "USD")
    assert socks.availability == "InStock"
    assert socks.description == (
        "Cushioned merino wool socks for long days on the trail.\n"
        "70% merino, 28% nylon, 2% elastane\nReinforced heel & toe\n"
        "Machine wash cold.\nMade in Portugal."
    )
    # By position, the protocol-relative one made https.
    assert socks.image_urls == [
        "https://cdn.shopify.com/s/files/1/0612/3456/7890/files/merino-socks-front.jpg?v=1709046218",
        "https://cdn.shopify.com/s/files/1/0612/3456/7890/files/merino-socks-detail.jpg?v=1709046220",
    ]
    assert (socks.seller_name, socks.seller_url) == ("Trailwise", "https://trailwise.example/")
    # Nothing available: out of stock, at the price shown.
    assert (beanie.availability, beanie.price, beanie.description) == ("OutOfStock", 29.0, None)


def test_shopify_one_product_and_the_shop_as_seller(products: dict[str, Any]) -> None:
    (listing,) = shopify.parse_products(
        {"product": products["products"][1]}, SHOP + "/", currency=None, shop_name=None
    )
    assert listing.url == "https://trailwise.example/products/trail-beanie"
    assert listing.currency is None
    assert listing.seller_name == "trailwise.example"


def test_shopify_malformed_products_are_skipped(products: dict[str, Any]) -> None:
    data = copy.deepcopy(products)
    broken = copy.deepcopy(data["products"][0])
    del broken["handle"]
    data["products"][:0] = [
        "not a product",
        broken,
        {"id": True, "handle": "x"},
        {"id": 5, "handle": "odd", "variants": "none", "images": {"src": 1}, "title": ["x"]},
    ]
    listings = shopify.parse_products(data, SHOP, currency="USD", shop_name=None)
    assert [item.listing_id for item in listings] == ["5", "8012345678901", "8012345678902"]
    odd = listings[0]
    assert (odd.title, odd.price, odd.image_urls, odd.availability) == (None, None, [], None)


@pytest.mark.parametrize("body", [[], "<html>", None, {"errors": "Not Found"}, {"products": {}}])
def test_shopify_wrong_shape(body: Any) -> None:
    with pytest.raises(ExtractError, match="not a Shopify products response"):
        shopify.parse_products(body, SHOP, currency="USD", shop_name=None)


def test_shopify_hostile_strings_stay_text(products: dict[str, Any]) -> None:
    product = copy.deepcopy(products["products"][0])
    product["title"] = "<script>alert(1)</script> Socks"
    product["body_html"] = "<p>Nice</p><script>alert(2)</script><p>&lt;img onerror=x&gt;</p>"
    product["images"] = [{"position": 1, "src": "javascript:alert(3)"}]
    (listing,) = shopify.parse_products({"product": product}, SHOP, currency="USD", shop_name=None)
    assert listing.title == "<script>alert(1)</script> Socks"
    assert listing.description == "Nice\n<img onerror=x>"
    assert listing.image_urls == []


def test_shopify_suggest_and_meta() -> None:
    suggest = {
        "resources": {
            "results": {
                "products": [
                    {"handle": "merino-hiking-socks-3-pack", "title": "Merino Hiking Socks"},
                    {"title": "no handle"},
                    {"handle": "merino-hiking-socks-3-pack"},
                    {"handle": "trail-beanie"},
                ]
            }
        }
    }
    assert shopify.suggest_handles(suggest) == ["merino-hiking-socks-3-pack", "trail-beanie"]
    with pytest.raises(ExtractError, match=r"resources\.results\.products"):
        shopify.suggest_handles({"resources": []})
    assert shopify.shop_currency({"name": "Trailwise", "currency": "USD"}) == "USD"
    assert shopify.shop_currency({"currency": "dollars"}) is None
    assert shopify.shop_currency("<html>") is None


def test_woocommerce_docs_example(woo: list[dict[str, Any]]) -> None:
    (listing,) = woocommerce.parse_products(woo, "https://local.wordpress.test")
    assert listing.listing_id == "34"
    assert listing.url == "https://local.wordpress.test/product/wordpress-pennant/"
    assert listing.title == "WordPress Pennant"
    # "1105" in minor units, currency_minor_unit 2.
    assert (listing.price, listing.currency) == (11.05, "GBP")
    assert listing.description.startswith("Pellentesque habitant morbi tristique")
    assert listing.image_urls == [
        "https://local.wordpress.test/wp-content/uploads/2020/03/pennant-1.jpg"
    ]
    assert listing.availability == "InStock"
    assert listing.brand is None


def test_woocommerce_minor_units_brands_and_stock(woo: list[dict[str, Any]]) -> None:
    yen = copy.deepcopy(woo[0])
    yen["prices"].update(currency_code="JPY", currency_minor_unit=0, price="1500")
    yen["brands"] = [{"id": 3, "name": "Pennant &amp; Co", "slug": "pennant-co"}]
    yen["is_in_stock"] = False
    bhd = copy.deepcopy(woo[0])
    bhd["prices"].update(currency_code="BHD", currency_minor_unit=3, price="12345")
    bhd["is_purchasable"] = False
    listings = woocommerce.parse_products([yen, bhd], "https://local.wordpress.test/")
    assert [(x.price, x.currency, x.availability) for x in listings] == [
        (1500.0, "JPY", "OutOfStock"),
        (12.345, "BHD", "OutOfStock"),
    ]
    assert listings[0].brand == "Pennant & Co"


def test_woocommerce_malformed_products_are_skipped(woo: list[dict[str, Any]]) -> None:
    no_link = copy.deepcopy(woo[0])
    no_link["permalink"] = "javascript:alert(1)"
    bad_price = copy.deepcopy(woo[0])
    bad_price.update(id=35, prices={"price": "12.99abc"}, images="none", name=None)
    listings = woocommerce.parse_products([None, no_link, bad_price, woo[0]], "https://w.test/")
    assert [x.listing_id for x in listings] == ["35", "34"]
    assert (listings[0].price, listings[0].title, listings[0].image_urls) == (None, None, [])


@pytest.mark.parametrize(
    "body", [{"code": "rest_no_route", "message": "No route", "data": {"status": 404}}, "x", None]
)
def test_woocommerce_wrong_shape(body: Any) -> None:
    with pytest.raises(ExtractError, match="not a WooCommerce Store API product list"):
        woocommerce.parse_products(body, "https://w.test/")


def test_woocommerce_hostile_strings_stay_text(woo: list[dict[str, Any]]) -> None:
    product = copy.deepcopy(woo[0])
    product["name"] = "<script>alert(1)</script> Pennant"
    product["description"] = "<p>Flag</p><script>alert(2)</script>"
    (listing,) = woocommerce.parse_products([product], "https://local.wordpress.test/")
    assert listing.title == "<script>alert(1)</script> Pennant"
    assert listing.description == "Flag"
