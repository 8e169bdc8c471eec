"""A listing price far below the owner's list price: a counterfeit signal (price-parser).

Prices are compared only in one currency: with no exchange rates at hand (matching is offline),
a price in another currency is reported as not comparable rather than guessed at. A listing price
without a currency is taken to be in the list price's currency, and the signal says so.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from price_parser import Price

# Symbols and the currency they name. A bare "$" is taken as USD (marketplaces show other
# dollars with a prefix: C$, A$, MX$); "¥" names both yen and yuan.
_SYMBOLS = {
    "US$": "USD", "$": "USD", "€": "EUR", "£": "GBP", "R$": "BRL", "C$": "CAD", "CA$": "CAD",
    "A$": "AUD", "AU$": "AUD", "MX$": "MXN", "₹": "INR", "zł": "PLN", "₩": "KRW", "₺": "TRY",
    "CHF": "CHF", "RMB": "CNY", "元": "CNY", "円": "JPY", "￥": "JPY/CNY", "¥": "JPY/CNY",
}  # fmt: skip


def currency_code(symbol: str | None) -> str | None:
    """ISO 4217 code of a currency as written ("€", "eur", "US$"), or None when unknown."""
    if not symbol:
        return None
    s = symbol.strip()
    if s in _SYMBOLS:
        return _SYMBOLS[s]
    return s.upper() if len(s) == 3 and s.isalpha() else None


def parse_price(value: str | float | Decimal) -> tuple[Decimal, str | None] | None:
    """(amount, ISO currency or None) of a price as shown, or None when it holds no amount.

    >>> parse_price("$12.99"), parse_price("12,50 €"), parse_price("n/a")
    ((Decimal('12.99'), 'USD'), (Decimal('12.50'), 'EUR'), None)
    """
    if isinstance(value, int | float | Decimal):
        amount = Decimal(str(value))
        return (amount, None) if amount.is_finite() and amount > 0 else None
    text = str(value)[:200]
    if re.search(r"\d[\d.,]*\s*[eE][+-]?\d", text) or re.search(r"(^|[^\w])-\s*[$€£¥]?\s*\d", text):
        return None  # "1e308", "-5": not a price a listing shows
    price = Price.fromstring(text)
    if price.amount is None or not price.amount.is_finite() or price.amount <= 0:
        return None
    return price.amount, currency_code(price.currency)


def price_signal(price: str | float, reference: str, *, ratio: float) -> dict[str, Any] | None:
    """A ``low_price`` signal when ``price`` is under ``ratio`` of ``reference``; else None.

    >>> price_signal("$9.99", "52 USD", ratio=0.5)["signal"]
    'low_price'
    >>> price_signal("$45", "52 USD", ratio=0.5) is None
    True
    """
    shown, listed = parse_price(price), parse_price(reference)
    if not shown or not listed or listed[0] <= 0:
        return None
    (amount, currency), (list_amount, list_currency) = shown, listed
    if currency == "JPY/CNY" and list_currency in ("JPY", "CNY"):
        currency = list_currency  # "¥" beside a yen or yuan list price
    if currency and list_currency and currency != list_currency:
        return {
            "signal": "price",
            "note": f"{currency} price not comparable with the {list_currency} list price",
        }
    share = float(amount / list_amount)
    if share >= ratio:
        return None
    return {
        "signal": "low_price",
        "price": f"{amount} {currency or list_currency or ''}".strip(),
        "list_price": f"{list_amount} {list_currency or ''}".strip(),
        "share": round(share, 3),
        "ratio": ratio,
        "currency_assumed": currency is None,
    }
