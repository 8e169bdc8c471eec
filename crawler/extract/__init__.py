"""Extractors: a page or a storefront API response in, a ``crawler.items.Listing`` out.

Pure functions over text and JSON (no Scrapy, no network), so they are tested on real saved pages
and reused by anything that has a page in hand. One module per page family.
"""


class ExtractError(ValueError):
    """A response of the wrong shape altogether (not a listing page, not the API's JSON)."""
