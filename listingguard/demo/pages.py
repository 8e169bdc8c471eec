"""What the demo storefronts show: HTML pages and storefront JSON for each listing.

Every string that reaches HTML passes through ``html.escape`` in ``render``; only fragments that
``render`` itself made (``Safe``) skip it. The listings include hostile titles on purpose, so an
extractor or an evidence viewer that trusts a page would show it. JSON inside a ``<script>`` has
``</`` escaped so a title cannot close the script.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any
from urllib.parse import urlencode

from listingguard.demo.fakes import Fake, Photo, Seller

Sizes = Mapping[str, tuple[int, int]]  # photo name -> (width, height)
ROBOTS = b"User-agent: *\nDisallow: /jsonld/private/\n"
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


class Safe(str):
    """HTML that ``render`` already escaped: the one way a fragment skips escaping."""


def render(template: str, **values: object) -> Safe:
    """``template`` with each ``{name}`` replaced by its value, escaped unless it is ``Safe``."""
    return Safe(
        template.format_map(
            {k: v if isinstance(v, Safe) else escape(str(v), quote=True) for k, v in values.items()}
        )
    )


def join(parts: Iterable[Safe]) -> Safe:
    return Safe("".join(parts))


def listing_path(f: Fake) -> str:
    """The path of a listing's own page on its storefront (what ``Truth.url`` points at)."""
    if f.marketplace == "demo-jsonld":
        return "/jsonld/private/item-secret" if f.private else f"/jsonld/item/{f.listing_id}"
    if f.marketplace == "demo-html":
        return f"/html/listing/{f.listing_id}"
    if f.marketplace == "demo-shopify":
        return f"/shopify/products/{f.handle}"
    if f.marketplace == "demo-woo":
        return f"/woo/product/{f.handle}/"
    raise ValueError(f"{f.marketplace!r} is not a demo storefront")


def image_url(photo: Photo, base: str = "") -> str:
    return base + photo.path + (f"?{photo.query}" if photo.query else "")


def money(price: float, currency: str) -> str:
    """The price as a marketplace shows it: 'US $12.99', '€ 9,99'."""
    if currency == "EUR":
        return f"€ {price:.2f}".replace(".", ",")
    if currency == "USD":
        return f"US ${price:.2f}"
    return f"{currency} {price:.2f}"


def description_html(text: str) -> Safe:
    """The description's first line as a paragraph and the rest (bullet lines) as a list."""
    lines = [line.strip().lstrip("•").strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return Safe("")
    items = join(render("<li>{x}</li>", x=x) for x in lines[1:])
    return render("<p>{p}</p>{ul}", p=lines[0], ul=render("<ul>{i}</ul>", i=items) if items else "")


def _stamp(f: Fake) -> str:
    """A fixed timestamp per listing (Shopify and WooCommerce show them)."""
    n = zlib.crc32(f.listing_id.encode())
    return f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00-05:00"


PAGE = (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width"><title>{title}</title>{head}</head>\n'
    '<body><header><a href="{home}">{site}</a></header>\n<main>{body}</main></body></html>\n'
)


NO_HEAD = Safe("")


def page(title: str, body: Safe, *, site: str, home: str, head: Safe = NO_HEAD) -> bytes:
    return render(PAGE, title=title, body=body, site=site, home=home, head=head).encode()


def _query(path: str, **params: object) -> str:
    return f"{path}?{urlencode(params)}"


# --- JSON-LD marketplace ---------------------------------------------------------------------


def jsonld_search(results: list[Fake], *, q: str, page_no: int, more: bool) -> bytes:
    items = join(
        render(
            '<li><a class="result" href="{href}">{title}</a> <span class="price">{price}</span></li>\n',
            href=listing_path(f),
            title=f.title,
            price=money(f.price, f.currency),
        )
        for f in results
    )
    next_href = _query("/jsonld/search", q=q, page=page_no + 1)
    head = render('<link rel="next" href="{h}">', h=next_href) if more else Safe("")
    nav = render('<a class="next" rel="next" href="{h}">Next page</a>', h=next_href) if more else ""
    body = render(
        '<h1>Results for “{q}”</h1><p>Page {n}</p><ol class="results">{items}</ol><nav>{nav}</nav>',
        q=q,
        n=page_no,
        items=items,
        nav=nav,
    )
    return page(
        f"{q} — page {page_no} — Demo Market",
        body,
        site="Demo Market",
        home="/jsonld/search?q=",
        head=head,
    )


def jsonld_product(f: Fake, base: str) -> dict[str, Any]:
    """The schema.org Product of an item page."""
    url = base + listing_path(f)
    availability = "InStock" if f.in_stock else "OutOfStock"
    product: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": f.title,
        "description": f.description,
        "sku": f.sku,
        "url": url,
        "image": [image_url(p, base) for p in f.photos],
        "offers": {
            "@type": "Offer",
            "url": url,
            "price": f"{f.price:.2f}",
            "priceCurrency": f.currency,
            "availability": f"https://schema.org/{availability}",
            "seller": {
                "@type": "Organization",
                "name": f.seller.name,
                "identifier": f.seller.id,
                "url": f"{base}/jsonld/seller/{f.seller.id}",
            },
        },
    }
    if f.brand:
        product["brand"] = {"@type": "Brand", "name": f.brand}
    return product


def script_json(data: object) -> Safe:
    """JSON for inside a ``<script>``: ``</`` escaped, so no string in it can end the script."""
    return Safe(json.dumps(data, ensure_ascii=False).replace("</", "<\\/"))


def gallery(f: Fake, base: str = "") -> Safe:
    return join(
        render('<img src="{src}" alt="{alt}" width="400">', src=image_url(p, base), alt=p.alt)
        for p in f.photos
    )


def jsonld_item(f: Fake, base: str) -> bytes:
    url = base + listing_path(f)
    head = render(
        '<link rel="canonical" href="{url}"><script type="application/ld+json">{ld}</script>',
        url=url,
        ld=script_json(jsonld_product(f, base)),
    )
    body = render(
        '<article class="product"><h1>{title}</h1><div class="photos">{gallery}</div>'
        '<p class="price">{price}</p><p class="stock">{stock}</p>'
        '<p class="seller">Sold by <a href="/jsonld/seller/{sid}">{sname}</a>, ships from '
        '<span class="seller-location">{loc}</span></p><p class="sold">{sales} sold</p>'
        '<section class="description">{desc}</section></article>',
        title=f.title,
        gallery=gallery(f, base),
        price=money(f.price, f.currency),
        stock="In stock" if f.in_stock else "Out of stock",
        sid=f.seller.id,
        sname=f.seller.name,
        loc=f.seller.location,
        sales=f"{f.sales:,}",
        desc=description_html(f.description),
    )
    return page(
        f"{f.title} — Demo Market", body, site="Demo Market", home="/jsonld/search?q=", head=head
    )


def seller_page(seller: Seller, listings: list[Fake], *, site: str, home: str) -> bytes:
    items = join(
        render('<li><a href="{h}">{t}</a></li>', h=listing_path(f), t=f.title) for f in listings
    )
    body = render(
        '<h1 class="seller-name">{name}</h1><p class="seller-location">{loc}</p><ul>{items}</ul>',
        name=seller.name,
        loc=seller.location,
        items=items,
    )
    return page(f"{seller.name} — {site}", body, site=site, home=home)


# --- HTML-only marketplace -------------------------------------------------------------------


def html_search(results: list[Fake], *, q: str, page_no: int, more: bool) -> bytes:
    cards = join(
        render(
            '<div class="card"><a class="card-link" href="{href}"><img src="{img}" alt="">'
            '<span class="card-title">{title}</span></a><span class="card-price">{price}</span>'
            "</div>\n",
            href=listing_path(f),
            img=image_url(f.photos[0]) if f.photos else "",
            title=f.title,
            price=money(f.price, f.currency),
        )
        for f in results
    )
    nav = render(
        '<a class="next" href="{h}">Next »</a>', h=_query("/html/search", q=q, p=page_no + 1)
    )
    body = render(
        '<h1>“{q}”</h1><div class="cards">{cards}</div><div class="pager">Page {n} {nav}</div>',
        q=q,
        cards=cards,
        n=page_no,
        nav=nav if more else "",
    )
    return page(f"{q} | Bazaar", body, site="Bazaar", home="/html/search?q=")


def html_listing(f: Fake) -> bytes:
    brand = render('<span class="item-brand">{b}</span>', b=f.brand) if f.brand else ""
    body = render(
        '<div class="item"><h1 class="item-title">{title}</h1>{brand}'
        '<div class="buy"><span class="item-price">{price}</span> <span class="sold">{sales} sold'
        '</span> <span class="stock">{stock}</span></div><div class="gallery">{gallery}</div>'
        '<div class="item-desc">{desc}</div><div class="shop">Shop: <a class="shop-name" '
        'data-shop-id="{sid}" href="/html/shop/{sid}">{sname}</a> '
        '<span class="shop-location">{loc}</span></div></div>',
        title=f.title,
        brand=brand,
        price=money(f.price, f.currency),
        sales=f"{f.sales:,}",
        stock="In stock" if f.in_stock else "Sold out",
        gallery=gallery(f),
        desc=description_html(f.description),
        sid=f.seller.id,
        sname=f.seller.name,
        loc=f.seller.location,
    )
    return page(f"{f.title} | Bazaar", body, site="Bazaar", home="/html/search?q=")


# --- Shopify-style store ---------------------------------------------------------------------


def _options(f: Fake) -> list[str]:
    return ["S", "M", "L", "XL"] if "/Tops/" in f.category or "/Bottoms/" in f.category else []


def shopify_product(f: Fake, base: str, sizes: Sizes) -> dict[str, Any]:
    """A product as Shopify's public ``/products.json`` shows it."""
    pid, stamp = int(f.listing_id), _stamp(f)
    options = _options(f)
    variants = [
        {
            "id": pid * 10 + k,
            "product_id": pid,
            "title": size or "Default Title",
            "option1": size or "Default Title",
            "option2": None,
            "option3": None,
            "sku": f"{f.sku}-{size}" if size else f.sku,
            "requires_shipping": True,
            "taxable": True,
            "featured_image": None,
            "available": f.in_stock,
            "price": f"{f.price:.2f}",
            "grams": 400,
            "compare_at_price": None,
            "position": k,
            "created_at": stamp,
            "updated_at": stamp,
        }
        for k, size in enumerate(options or [""], 1)
    ]
    images = [
        {
            "id": pid * 100 + k,
            "created_at": stamp,
            "position": k,
            "updated_at": stamp,
            "product_id": pid,
            "variant_ids": [],
            # protocol-relative, as Shopify's CDN links are in many themes
            "src": image_url(p, base).removeprefix("http:"),
            "width": sizes.get(p.name, (0, 0))[0],
            "height": sizes.get(p.name, (0, 0))[1],
        }
        for k, p in enumerate(f.photos, 1)
    ]
    return {
        "id": pid,
        "title": f.title,
        "handle": f.handle,
        "body_html": str(description_html(f.description)),
        "published_at": stamp,
        "created_at": stamp,
        "updated_at": stamp,
        "vendor": f.brand or f.seller.name,
        "product_type": f.category.rsplit("/", 1)[-1],
        "tags": [f.category.split("/")[0], "sale"],
        "variants": variants,
        "images": images,
        "options": [
            {
                "name": "Size" if options else "Title",
                "position": 1,
                "values": options or ["Default Title"],
            }
        ],
    }


def shopify_suggestion(f: Fake, base: str) -> dict[str, Any]:
    """A product result of ``/search/suggest.json`` (URLs are relative to the shop's root)."""
    img = image_url(f.photos[0], base) if f.photos else None
    return {
        "id": int(f.listing_id),
        "title": f.title,
        "handle": f.handle,
        "url": f"/products/{f.handle}",
        "vendor": f.brand or f.seller.name,
        "type": f.category.rsplit("/", 1)[-1],
        "available": f.in_stock,
        "price": f"{f.price:.2f}",
        "price_min": f"{f.price:.2f}",
        "price_max": f"{f.price:.2f}",
        "compare_at_price_min": "0.00",
        "compare_at_price_max": "0.00",
        "image": img,
        "featured_image": {"url": img, "alt": f.title} if img else None,
        "body": f.description,
        "tags": [f.category.split("/")[0], "sale"],
    }


def shop_page(f: Fake, base: str, site: str, home: str) -> bytes:
    """The storefront's HTML product page (Shopify and WooCommerce themes), for evidence."""
    url = base + listing_path(f)
    body = render(
        '<div class="product"><h1 class="product_title">{title}</h1><p class="price">{price}</p>'
        '<div class="images">{gallery}</div><div class="description">{desc}</div></div>',
        title=f.title,
        price=money(f.price, f.currency),
        gallery=gallery(f, base),
        desc=description_html(f.description),
    )
    head = render('<link rel="canonical" href="{u}">', u=url)
    return page(f"{f.title} – {site}", body, site=site, home=home, head=head)


# --- WooCommerce-style Store API -------------------------------------------------------------


def woo_product(f: Fake, base: str, sizes: Sizes) -> dict[str, Any]:
    """A product as the WooCommerce Store API (``/wp-json/wc/store/v1/products``) shows it."""
    minor = str(round(f.price * 100))
    symbol = SYMBOLS.get(f.currency, f.currency)
    short = _short(f.description)
    images = []
    for k, p in enumerate(f.photos, 1):
        src = image_url(p, base)
        w = sizes.get(p.name, (0, 0))[0]
        images.append(
            {
                "id": int(f.listing_id) * 100 + k,
                "src": src,
                "thumbnail": src,
                "srcset": f"{src} {w}w" if w else "",
                "sizes": f"(max-width: {w}px) 100vw, {w}px",
                "name": p.name,
                "alt": p.alt,
            }
        )
    category = f.category.rsplit("/", 1)[-1]
    return {
        "id": int(f.listing_id),
        "name": f.title,
        "slug": f.handle,
        "parent": 0,
        "type": "simple",
        "variation": "",
        "permalink": base + listing_path(f),
        "sku": f.sku,
        "summary": str(render("<p>{s}</p>", s=short)),
        "short_description": str(render("<p>{s}</p>", s=short)),
        "description": str(description_html(f.description)),
        "on_sale": False,
        "prices": {
            "price": minor,
            "regular_price": minor,
            "sale_price": minor,
            "price_range": None,
            "currency_code": f.currency,
            "currency_symbol": symbol,
            "currency_minor_unit": 2,
            "currency_decimal_separator": ".",
            "currency_thousand_separator": ",",
            "currency_prefix": symbol,
            "currency_suffix": "",
        },
        "price_html": str(
            render('<span class="amount">{s}{p}</span>', s=symbol, p=f"{f.price:.2f}")
        ),
        "average_rating": "0",
        "review_count": 0,
        "images": images,
        "categories": [
            {
                "id": zlib.crc32(category.encode()) % 1000,
                "name": category,
                "slug": category.lower().replace(" ", "-").replace("&", "and"),
                "link": f"{base}/woo/product-category/{category.lower()}/",
            }
        ],
        "tags": [],
        "attributes": [],
        "variations": [],
        "has_options": False,
        "is_purchasable": True,
        "is_in_stock": f.in_stock,
        "is_on_backorder": False,
        "is_password_protected": False,
        "low_stock_remaining": None,
        "sold_individually": False,
        "add_to_cart": {
            "text": "Add to cart",
            "description": f"Add “{f.title}” to your cart",
            "url": f"?add-to-cart={f.listing_id}",
            "minimum": 1,
            "maximum": 9999,
            "multiple_of": 1,
        },
        "extensions": {},
    }


def _short(description: str) -> str:
    first = description.splitlines()[0] if description else ""
    return first.split(". ")[0].rstrip(".") + "." if first else ""


# --- The rest --------------------------------------------------------------------------------


def index(storefronts: Mapping[str, str]) -> bytes:
    """The root page: a link to each storefront's start page."""
    items = join(render('<li><a href="{u}">{n}</a></li>', u=u, n=n) for n, u in storefronts.items())
    return page("listingguard demo market", render("<ul>{i}</ul>", i=items), site="Demo", home="/")


def not_found(path: str) -> bytes:
    return page(
        "Not found", render("<h1>404</h1><p>No page at {p}</p>", p=path), site="Demo", home="/"
    )


def home(name: str, start: str, *, site_home: str) -> bytes:
    """A store's home page (the Shopify and WooCommerce start URLs)."""
    body = render('<h1>{n}</h1><p><a href="{s}">All products</a></p>', n=name, s=start)
    return page(name, body, site=name, home=site_home)


def html_listing_ended() -> bytes:
    """The HTML marketplace's page for a listing taken down: 200, as many marketplaces answer,
    with the notice a shopper sees and no listing on it."""
    body = render(
        '<div class="notice"><h2>This listing is no longer available</h2>'
        "<p>The seller's listing was removed. Try searching for similar items.</p>"
        '<p><a href="{s}">Search Bazaar</a></p></div>',
        s="/html/search?q=",
    )
    return page("Listing unavailable | Bazaar", body, site="Bazaar", home="/html/search?q=")


def moved() -> bytes:
    """The body of a redirect (the JSON-LD marketplace sends a removed listing to its search)."""
    body = render('<p>Moved to <a href="{s}">the search page</a>.</p>', s="/jsonld/search?q=")
    return page("Moved", body, site="Demo Market", home="/jsonld/search?q=")
