"""What a spider yields: one listing as the page showed it, or one page that was a bot wall.

Extractors (``crawler/extract/``) fill a ``Listing`` from a page or a storefront API; the spider
sets ``marketplace``; the pipelines fetch the images, write the evidence and store it. Plain
dataclasses, because Scrapy's item adapter takes them and the extractors stay testable without
Scrapy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LISTING_FIELDS = (
    "listing_id",
    "url",
    "canonical_url",
    "title",
    "description",
    "brand",
    "price",
    "currency",
    "seller_id",
    "seller_name",
    "seller_url",
    "seller_location",
    "availability",
    "sales",
)
"""The columns of the ``listings`` table an extractor fills (``image_urls`` go to ``listing_images``)."""


@dataclass
class Listing:
    """One listing. Text fields are as shown (whitespace collapsed), ``None`` where not shown.

    ``price`` is the amount a buyer pays for one item (the lowest offer where there are several),
    ``currency`` its ISO 4217 code; ``availability`` a schema.org ItemAvailability name
    ("InStock", "OutOfStock", ...); ``sales`` the sales figure as the page words it ("1,234 sold").
    ``image_urls`` are absolute, gallery order, without duplicates.
    """

    listing_id: str
    url: str
    canonical_url: str | None = None
    title: str | None = None
    description: str | None = None
    brand: str | None = None
    price: float | None = None
    currency: str | None = None
    image_urls: list[str] = field(default_factory=list)
    seller_id: str | None = None
    seller_name: str | None = None
    seller_url: str | None = None
    seller_location: str | None = None
    availability: str | None = None
    sales: str | None = None
    marketplace: str = ""
    # Set by the spider and the pipelines: the evidence capture of the page or API response the
    # listing came from, and one result per image URL (crawler.pipelines.ListingImages).
    page_capture: Any = None
    images: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Blocked:
    """A page that answered with a CAPTCHA or bot wall instead of content (often with status 200)."""

    url: str
    provider: str
    reason: str
    status: int = 200
    marketplace: str = ""
    page_capture: Any = None


@dataclass
class Page:
    """A search, category or API page the crawl passed through: kept as evidence of where a
    listing was found, and counted in the sweep's pages."""

    url: str
    role: str  # "search", "api" or "listing" (a listing page that held no listing)
    marketplace: str = ""
    page_capture: Any = None
