"""Which scraped addresses may become links: the one rule of the report, the review page and the
alerts' HTML.

A listing's URL comes from a seller's page, so it may be ``javascript:alert(1)``, a ``data:``
page, a protocol-relative ``//evil.example`` or an address with a tab or newline that a browser
silently drops. Only an absolute http(s) URL without whitespace or control characters is a link;
anything else is shown as text.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def http_url(value: Any) -> str | None:
    """``value`` when it is an absolute http(s) URL fit to be a link; None otherwise.

    >>> http_url("https://shop.example/item/1")
    'https://shop.example/item/1'
    >>> http_url("javascript:alert(1)") is None, http_url("https://a.example/\\nx") is None
    (True, True)
    """
    if not isinstance(value, str) or any(c.isspace() or ord(c) < 0x20 for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme.lower() in ("http", "https") and parts.netloc else None
