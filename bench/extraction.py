"""Benchmark: our page extractors on real saved product pages, against extruct + price-parser alone.

    python bench/extraction.py [PAGES_DIR]      (default: tests/pages)

Pages and truth: every page of ``ground-truth.json`` (a subset of Zyte's product-extraction-
benchmark, keyed by page id; the page file is ``<folder>/<site>_<first 12 of the id>.html.gz``).
The extractor is chosen by host: ``amazon.*`` → amazon, ``ebay.*`` → ebay, else structured.

The baseline, measured in the same run, is what a crawler gets from the libraries alone: the
first schema.org Product that ``extruct.extract(html, uniform=True)`` finds, its name and image,
and its offer's ``price`` (the first offer of a list) read by price-parser with ``priceCurrency``.

Scoring:
- price: over pages whose truth has a price. Right when the amount matches to the cent and the
  currency is the truth's. The truth writes currencies as the page shows them ("$", "£", "Lei",
  "Rs"); they become ISO codes by ``crawler.extract.common.currency_iso`` (``matcher.prices.
  currency_code`` plus a few symbols it lacks), and a symbol several currencies share ("$", "Rs")
  is the currency of the domain's country when that is one of them (CAD on ebay.ca, PKR on
  olx.com.pk), else USD for "$". Where the truth has no currency (four eBay pages), the amount
  alone is scored and the row says so. The truth's amount is read like a shown price, so "23.450"
  with "Rs" is 23450 (a dot thousands separator).
- title, image: a non-empty title, at least one image URL, on every truth page.
- seller: on every Amazon, eBay and Etsy page of ``SELLERS`` (the truth has no seller field; the
  names were read off the pages, see tests/pages/README.md), including the Etsy and raw-2019
  Amazon pages, which are not in the truth. Right when the name matches exactly (a page that
  shows no seller is right when we give none).

Targets: price right on >= 95% of priced pages; a title and an image on every page; the seller on
every seller page. Every miss is listed with its reason.
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import extruct  # noqa: E402
from price_parser import Price  # noqa: E402

from crawler.extract import amazon, ebay, structured  # noqa: E402
from crawler.extract.common import currency_iso  # noqa: E402
from crawler.items import Listing  # noqa: E402
from matcher.prices import currency_code, parse_price  # noqa: E402

# The seller each Amazon, eBay and Etsy page shows (None: the page shows none, out of stock).
SELLERS: dict[str, str | None] = {
    "amazon/amazon.com_01efbb747904.html.gz": "Gothamite",
    "amazon/amazon.co.uk_27021c0c0aea.html.gz": "Amazon Warehouse",
    "amazon/amazon.de_95f9586d43ea.html.gz": "Amazon",
    "amazon/amazon.it_871a0c6c919b.html.gz": "RetevisDirect",
    "amazon/amazon.fr_64915d8c2251.html.gz": "Amazon",
    "amazon/amazon.com_0094967f37c6.html.gz": None,
    "amazon/amazon.com_raw-2019_metascraper-shopping.html.gz": "Direct ChangM",
    "ebay/ebay.com_21e72a8e6d24.html.gz": "phoenixemporium",
    "ebay/ebay.co.uk_359ca699f879.html.gz": "clipclopthriftshop",
    "ebay/ebay.it_2d3e52568d57.html.gz": "shaabasr",
    "ebay/ebay.ca_361022ee4199.html.gz": "newshop201616",
    "ebay/ebay.fr_ccc114af83c7.html.gz": "hightowershop",
    "etsy/etsy.com_listing-550571276_metascraper-shopping.html.gz": "OliveCreativeCompany",
}
# URLs of the pages outside the truth (the extractors need the page's own URL).
_EXTRA_URLS = {
    "amazon/amazon.com_raw-2019_metascraper-shopping.html.gz": "https://www.amazon.com/dp/B07G2L3JMM",
    "etsy/etsy.com_listing-550571276_metascraper-shopping.html.gz": (
        "https://www.etsy.com/es/listing/550571276/el-original-he-y-hay-calabaza-decoracion"
    ),
}
PRICE_TARGET = 0.95


def extractor_for(url: str) -> tuple[str, Callable[[str, str], Listing | None]]:
    """Our extractor for a page URL, by host: amazon.* and ebay.* have their own, others structured."""
    labels = (urlsplit(url).hostname or "").lower().split(".")
    if "amazon" in labels:
        return "amazon", amazon.extract
    if "ebay" in labels:
        return "ebay", ebay.extract
    return "structured", structured.extract


def baseline(html: str, url: str) -> Listing | None:
    """extruct (uniform) + price-parser alone: the first Product and its first offer's price."""
    try:
        data = extruct.extract(html, base_url=url, uniform=True, errors="ignore")
    except Exception:  # the baseline has no error handling of its own
        return None
    for items in data.values():
        for item in items:
            if isinstance(item, dict) and item.get("@type") == "Product":
                offers = item.get("offers")
                offer = offers[0] if isinstance(offers, list) and offers else offers
                offer = offer if isinstance(offer, dict) else {}
                price = Price.fromstring(str(offer.get("price", "")))
                image = item.get("image")
                images = image if isinstance(image, list) else [image] if image else []
                seller = offer.get("seller")
                return Listing(
                    listing_id=url,
                    url=url,
                    title=item.get("name") if isinstance(item.get("name"), str) else None,
                    price=float(price.amount) if price.amount is not None else None,
                    currency=currency_code(offer.get("priceCurrency") or price.currency),
                    image_urls=[i for i in images if isinstance(i, str)],
                    seller_name=seller.get("name") if isinstance(seller, dict) else seller,
                )
    return None


def _read(path: Path) -> str:
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        return f.read()


def _truth_pages(pages_dir: Path) -> list[tuple[str, Path, dict[str, Any]]]:
    truth = json.loads((pages_dir / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id, fields in truth.items():
        found = sorted(pages_dir.glob(f"*/*_{page_id[:12]}.html.gz"))
        if not found:
            raise FileNotFoundError(f"no page file for ground-truth id {page_id} in {pages_dir}")
        pages.append((found[0].relative_to(pages_dir).as_posix(), found[0], fields))
    return pages


def _price_verdict(listing: Listing | None, fields: dict[str, Any]) -> tuple[bool, str]:
    """(right, reason) for a priced truth page."""
    url = fields["url"]
    parsed = parse_price(fields["price"][0])
    want_amount = float(parsed[0]) if parsed else None
    symbol = (fields.get("currency") or [None])[0]
    want_currency = currency_iso(symbol, url=url) if symbol else None
    if listing is None or listing.price is None:
        return False, "no price"
    if want_amount is None or abs(listing.price - want_amount) > 0.005:
        return False, f"amount {listing.price} != {want_amount}"
    if symbol is None:
        return True, "amount only (truth has no currency)"
    if listing.currency != want_currency:
        return False, f"currency {listing.currency} != {want_currency} ({symbol})"
    return True, ""


def _show_price(listing: Listing | None) -> str:
    if listing is None or listing.price is None:
        return "-"
    return f"{listing.price:g} {listing.currency or '?'}"


def run(pages_dir: Path) -> dict[str, Any]:
    """Score ours and the baseline on the pages in ``pages_dir``; the totals, with per-page rows."""
    rows: list[dict[str, Any]] = []
    totals: dict[str, Any] = {
        "pages": 0,
        "priced_pages": 0,
        "ours": {"price": 0, "title": 0, "image": 0, "seller": 0},
        "baseline": {"price": 0, "title": 0, "image": 0, "seller": 0},
        "misses": [],
    }
    listings: dict[str, tuple[Listing | None, Listing | None]] = {}
    started = time.perf_counter()
    for name, path, fields in _truth_pages(pages_dir):
        html, url = _read(path), fields["url"]
        which, extract = extractor_for(url)
        ours, base = extract(html, url), baseline(html, url)
        listings[name] = (ours, base)
        totals["pages"] += 1
        row: dict[str, Any] = {"page": name, "extractor": which, "truth": "-"}
        for label, listing in (("ours", ours), ("baseline", base)):
            has_title = bool(listing and listing.title)
            has_image = bool(listing and listing.image_urls)
            totals[label]["title"] += has_title
            totals[label]["image"] += has_image
            row[f"{label}_price"] = _show_price(listing)
            row[f"{label}_images"] = len(listing.image_urls) if listing else 0
            if label == "ours" and not has_title:
                totals["misses"].append(f"{name}: no title")
            if label == "ours" and not has_image:
                totals["misses"].append(f"{name}: no image")
        if "price" in fields:
            totals["priced_pages"] += 1
            row["truth"] = f"{fields['price'][0]} {(fields.get('currency') or ['?'])[0]}"
            for label, listing in (("ours", ours), ("baseline", base)):
                right, reason = _price_verdict(listing, fields)
                totals[label]["price"] += right
                row[f"{label}_ok"] = "ok" if right else "MISS"
                if label == "ours":
                    row["note"] = reason
                    if not right:
                        totals["misses"].append(f"{name}: price {reason}")
        rows.append(row)

    seller_rows = []
    for name, want in SELLERS.items():
        path = pages_dir / name
        if name not in listings:
            url = _EXTRA_URLS[name]
            html = _read(path)
            listings[name] = (extractor_for(url)[1](html, url), baseline(html, url))
        ours, base = listings[name]
        got = {"ours": ours.seller_name if ours else None}
        got["baseline"] = base.seller_name if base else None
        for label in ("ours", "baseline"):
            totals[label]["seller"] += got[label] == want
        if got["ours"] != want:
            totals["misses"].append(f"{name}: seller {got['ours']!r} != {want!r}")
        seller_rows.append({"page": name, "want": want, **got})

    totals["seller_pages"] = len(SELLERS)
    for label in ("ours", "baseline"):
        t = totals[label]
        t["price_rate"] = t["price"] / max(totals["priced_pages"], 1)
        t["title_rate"] = t["title"] / max(totals["pages"], 1)
        t["image_rate"] = t["image"] / max(totals["pages"], 1)
        t["seller_rate"] = t["seller"] / max(len(SELLERS), 1)
    totals["ratio"] = {
        key: (totals["ours"][key] / totals["baseline"][key] if totals["baseline"][key] else None)
        for key in ("price_rate", "title_rate", "image_rate", "seller_rate")
    }
    totals["targets_met"] = {
        "price": totals["ours"]["price_rate"] >= PRICE_TARGET,
        "title": totals["ours"]["title_rate"] == 1.0,
        "image": totals["ours"]["image_rate"] == 1.0,
        "seller": totals["ours"]["seller_rate"] == 1.0,
    }
    totals["seconds"] = round(time.perf_counter() - started, 2)
    totals["rows"], totals["seller_rows"] = rows, seller_rows
    return totals


def _print(totals: dict[str, Any], command: str) -> None:
    print(f"$ {command}\n")
    header = (
        f"{'page':66} {'ext':10} {'truth':12} {'ours':14} {'':4} {'baseline':14} {'':4} img(o/b)"
    )
    print(header)
    print("-" * len(header))
    for row in totals["rows"]:
        print(
            f"{row['page']:66} {row['extractor']:10} {row['truth']:12} {row['ours_price']:14} "
            f"{row.get('ours_ok', ''):4} {row['baseline_price']:14} {row.get('baseline_ok', ''):4} "
            f"{row['ours_images']}/{row['baseline_images']}  {row.get('note', '')}"
        )
    print(f"\n{'seller page':62} {'shown':22} {'ours':22} baseline")
    for row in totals["seller_rows"]:
        print(f"{row['page']:62} {row['want']!s:22} {row['ours']!s:22} {row['baseline']!s}")
    ours, base, ratio = totals["ours"], totals["baseline"], totals["ratio"]
    print(f"\n{'measure':34} {'ours':>12} {'baseline':>12} {'ours/base':>10}  target")
    lines = (
        ("price (amount and currency)", "price", "price_rate", totals["priced_pages"], "price"),
        ("title", "title", "title_rate", totals["pages"], "title"),
        ("at least one image", "image", "image_rate", totals["pages"], "image"),
        ("seller (Amazon, eBay, Etsy)", "seller", "seller_rate", totals["seller_pages"], "seller"),
    )
    for label, count, rate, of, target in lines:
        r = ratio[rate]
        print(
            f"{label:34} {ours[count]:>4}/{of:<3} {ours[rate]:4.0%} {base[count]:>4}/{of:<3} "
            f"{base[rate]:4.0%} {(f'{r:.2f}' if r is not None else 'n/a'):>10}  "
            f"{'met' if totals['targets_met'][target] else 'MISSED'}"
        )
    print(f"\n{totals['pages']} pages in {totals['seconds']} s")
    print("misses:" if totals["misses"] else "misses: none")
    for miss in totals["misses"]:
        print(f"  {miss}")


if __name__ == "__main__":
    pages = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "pages"
    _print(run(pages), " ".join(["python", *sys.argv]))
