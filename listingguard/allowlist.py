"""The allowlist: is this listing's seller one of the owner's own shops or a licensee?

Reporting an authorised seller costs the owner twice: a genuine listing comes down, and the
platform counts the notice as inaccurate. So every finding on a listing is checked here, by
seller id, seller name or the shop's domain, within the marketplaces and dates config allows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from listingguard.config import Authorised, Config


def _host(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url).hostname
    return host.lower().removeprefix("www.") if host else None


def authorised_seller(
    config: Config, listing: dict[str, Any], today: dt.date | None = None
) -> Authorised | None:
    """The ``[[authorised]]`` entry covering this listing's seller, or None."""
    today = today or dt.date.today()
    seller_id = (listing.get("seller_id") or "").strip().casefold()
    seller_name = (listing.get("seller_name") or "").strip().casefold()
    hosts = {_host(listing.get("url")), _host(listing.get("seller_url"))} - {None}
    for entry in config.authorised:
        if entry.marketplaces and listing.get("marketplace") not in entry.marketplaces:
            continue
        if entry.until is not None and today > entry.until:
            continue
        if seller_id and seller_id in {s.casefold() for s in entry.seller_ids}:
            return entry
        if seller_name and seller_name in {s.casefold() for s in entry.seller_names}:
            return entry
        domains = {d.lower().removeprefix("www.") for d in entry.domains}
        if any(h == d or h.endswith("." + d) for h in hosts for d in domains):
            return entry
    return None
