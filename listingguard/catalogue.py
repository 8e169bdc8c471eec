"""Import the owner's product catalogue sheet: products with their photos, copy and list prices.

Brand owners think in products, and a finding should say "a copy of the Chaz Kangeroo Hoodie
(list price 52 USD)". Each row becomes a ``products`` row; its photos become image assets and its
description a copy asset, all pointing at the product. Rows are independent: a bad row is
reported with its line number and the others are imported.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import re
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from listingguard import store
from listingguard.assets import DEFAULT_LIMITS, Outcome, register_files, register_text
from listingguard.config import Assets, Catalogue
from listingguard.configschema import Loader
from listingguard.errors import ListingGuardError
from listingguard.files import FileRefused, read_regular

# Symbols that name one currency; an ambiguous one ("kr", a lone "¢") needs a currency column.
_CURRENCY_SYMBOLS = {
    "$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "CNY", "￥": "CNY", "CN¥": "CNY",
    "RMB": "CNY", "₹": "INR", "R$": "BRL", "₩": "KRW", "A$": "AUD", "C$": "CAD", "CA$": "CAD",
    "MX$": "MXN", "HK$": "HKD", "S$": "SGD", "NZ$": "NZD", "zł": "PLN", "₺": "TRY", "₽": "RUB",
    "฿": "THB", "₫": "VND", "₱": "PHP", "₪": "ILS", "R": "ZAR", "Fr.": "CHF",
}  # fmt: skip
_PRICE = re.compile(
    r"(?P<pre>[^\d\s.,'+-]*)\s*(?P<num>\d[\d.,'\s\u00a0\u202f]*?)\s*(?P<post>[^\d\s,'+-]*)"
)


class CatalogueError(ListingGuardError):
    """The sheet as a whole cannot be read (encoding, missing columns)."""


@dataclass
class RowResult:
    """What one catalogue row produced."""

    line: int
    sku: str
    product_id: int | None = None
    status: str = "added"  # added, updated, refused
    reason: str = ""
    assets: list[Outcome] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "sku": self.sku,
            "product_id": self.product_id,
            "status": self.status,
            "reason": self.reason,
            "assets": [a.as_dict() for a in self.assets],
        }


def with_columns(columns: Catalogue, overrides: dict[str, str]) -> Catalogue:
    """The configured column names with command-line ``key=column`` overrides, checked as config is."""
    loader = Loader(Path.cwd())
    merged = loader.load(Catalogue, dataclasses.asdict(columns) | overrides, "--column")
    if merged is None or loader.problems:
        raise CatalogueError("; ".join(loader.problems))
    return merged


MAX_SHEET_BYTES = 200_000_000


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and every row with its line number, all parsed before anything is imported.

    A sheet that cannot be parsed (an unterminated quote, a NUL byte, a field larger than any
    product text) is refused whole, so a half-read sheet never leaves half a catalogue.
    """
    try:
        raw = read_regular(path, MAX_SHEET_BYTES)
    except FileRefused as exc:
        raise CatalogueError(f"{path}: {exc}") from None
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CatalogueError(
            f"{path}: line {line}: not UTF-8 text; save the sheet as UTF-8 CSV"
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise CatalogueError(
            f"{path}: line {line}: holds a NUL byte (binary data, not a CSV sheet)"
        )
    skipped = len(text) - len(text.lstrip("\r\n"))
    offset = text[:skipped].count("\n")
    reader = csv.reader(io.StringIO(text[skipped:], newline=""), strict=True)
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, MAX_SHEET_BYTES))
    try:
        header = [h.strip() for h in next(reader, [])]
        rows: list[tuple[int, dict[str, str]]] = []
        start = 2  # the line a record starts on (a quoted cell may span lines)
        for cells in reader:
            if any(c.strip() for c in cells):
                rows.append((start + offset, dict(zip(header, cells, strict=False))))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise CatalogueError(
            f"{path}: line {start + offset}: not a well-formed CSV ({exc}); "
            "check this row for an unclosed quote"
        ) from None
    finally:
        csv.field_size_limit(limit)
    if not any(header):
        raise CatalogueError(f"{path}: the sheet is empty (no header row)")
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:
        raise CatalogueError(f"{path}: the header names {', '.join(map(repr, twice))} twice")
    return header, rows


def parse_price(
    text: str, currency_cell: str, columns: Catalogue
) -> tuple[float | None, str | None]:
    """Amount and ISO currency of a list-price cell: ``52``, ``$52.00``, ``52 USD``, ``1,234.50``.

    Parsing is deterministic: ``catalogue.decimal_separator`` says which of "." and "," marks
    decimals, and the other may only group thousands in threes. A guess would turn "1.234"
    into 1234 in one sheet and 1.234 in the next, and list prices drive the low-price signal.

    >>> parse_price("$1,234.50", "", Catalogue())
    (1234.5, 'USD')
    """
    text = text.strip()
    if not text:
        return None, None
    if re.search(r"-\s*\d", text):
        raise ValueError(f"price {text!r} is below zero")
    m = _PRICE.fullmatch(text)
    if not m:
        raise ValueError(f"price {text!r} is not a number")
    decimal = columns.decimal_separator
    group = "," if decimal == "." else "."
    num = re.sub(r"[\s\u00a0\u202f']", "", m["num"])
    whole, _, fraction = num.partition(decimal)
    if (
        decimal in fraction
        or group in fraction
        or not re.fullmatch(rf"\d+|[1-9]\d{{0,2}}(\{group}\d{{3}})+", whole)
    ):
        raise ValueError(
            f"price {text!r} is not a number with {decimal!r} as the decimal separator "
            "(catalogue.decimal_separator)"
        )
    amount = float(whole.replace(group, "") + ("." + fraction if fraction else ""))
    if amount <= 0:
        raise ValueError(f"price {text!r} is not above zero")
    code = _currency(text, m["pre"], m["post"], currency_cell, columns.default_currency)
    return amount, code


def _currency(text: str, pre: str, post: str, cell: str, default: str) -> str:
    if pre and post:
        raise ValueError(f"price {text!r} has two currency marks")
    symbol = pre or post
    from_price = None
    if symbol:
        # In a price, an ISO code is written in capitals ("52 SEK"); "52abc" is no price.
        from_price = _CURRENCY_SYMBOLS.get(symbol) or (
            symbol if re.fullmatch(r"[A-Z]{3}", symbol) else None
        )
        if from_price is None:
            raise ValueError(
                f"price {text!r}: unknown currency symbol {symbol!r}; give an ISO code "
                "(e.g. SEK) in the currency column"
            )
    cell = cell.strip()
    if cell and not re.fullmatch(r"[A-Za-z]{3}", cell):
        raise ValueError(f"currency {cell!r} is not an ISO 4217 code (e.g. USD)")
    if cell and from_price and cell.upper() != from_price:
        raise ValueError(f"price {text!r} is in {from_price}, the currency column says {cell}")
    return cell.upper() or from_price or default


def import_catalogue(
    db: Database,
    path: Path,
    columns: Catalogue,
    *,
    limits: Assets = DEFAULT_LIMITS,
    images_dir: Path | None = None,
    executor: Executor | None = None,
) -> Iterator[RowResult]:
    """Import every row of a CSV catalogue; yields one RowResult per row, in order."""
    header, rows = _read_rows(path)
    for key in ("sku", "name"):
        column = getattr(columns, key)
        if column not in header:
            raise CatalogueError(
                f"{path}: no column {column!r} for the product {key} (catalogue.{key} in "
                f"config.toml, or --column {key}=NAME); the sheet has: {', '.join(header)}"
            )
    folder = images_dir or (path.parent / columns.images_dir)
    first_line: dict[str, int] = {}
    for line, row in rows:
        sku = _cell(row, columns.sku)
        if sku in first_line:
            reason = f"SKU {sku!r} is already on line {first_line[sku]} of this sheet"
            yield RowResult(line=line, sku=sku, status="refused", reason=reason)
            continue
        if sku:
            first_line[sku] = line
        yield _import_row(db, line, row, columns, folder, limits, executor)


def _cell(row: dict[str, str], column: str) -> str:
    value = row.get(column)
    return html.unescape(value).strip() if value else ""


def _import_row(
    db: Database,
    line: int,
    row: dict[str, str],
    columns: Catalogue,
    folder: Path,
    limits: Assets,
    executor: Executor | None,
) -> RowResult:
    sku, name = _cell(row, columns.sku), _cell(row, columns.name)
    result = RowResult(line=line, sku=sku)
    if not sku or not name:
        result.status, result.reason = "refused", f"empty {'SKU' if not sku else 'name'}"
        return result
    try:
        amount, currency = parse_price(
            _cell(row, columns.price), _cell(row, columns.currency), columns
        )
    except ValueError as exc:
        result.status, result.reason = "refused", str(exc)
        return result
    description = _cell(row, columns.description)
    with store.transaction(db):
        existed = db["products"].count_where("sku = ?", [sku]) > 0
        result.product_id = store.save_product(
            db,
            {
                "sku": sku,
                "name": name,
                "list_price": amount,
                "currency": currency,
                "category": _cell(row, columns.category) or None,
                "description": description or None,
            },
        )
    result.status = "updated" if existed else "added"
    photos = [p.strip() for p in _cell(row, columns.images).split(columns.image_separator)]
    for photo in filter(None, photos):
        if re.match(r"^[a-z][a-z0-9+.-]*://", photo, re.I):
            result.assets.append(
                Outcome(photo, "refused", "a URL: download the photo and name the file")
            )
            continue
        if Path(photo).is_absolute() or ".." in Path(photo).parts:
            result.assets.append(
                Outcome(photo, "refused", "outside the images folder (catalogue.images_dir)")
            )
            continue
        for outcome in register_files(
            db,
            [folder / photo],
            kind="image",
            limits=limits,
            product_id=result.product_id,
            source="catalogue",
            executor=executor,
        ):
            _claim(db, outcome, result.product_id)
            result.assets.append(outcome)
    if description:
        outcome = register_text(
            db,
            description,
            kind="copy",
            name=f"{sku} description",
            product_id=result.product_id,
            source="catalogue",
            max_bytes=limits.max_text_bytes,
        )
        _claim(db, outcome, result.product_id)
        result.assets.append(outcome)
    return result


def _claim(db: Database, outcome: Outcome, product_id: int | None) -> None:
    """An asset registered earlier without a product now belongs to this row's product."""
    if outcome.status == "exists" and outcome.asset_id is not None and product_id is not None:
        with store.transaction(db):
            db.execute(
                "UPDATE assets SET product_id = ? WHERE id = ? AND product_id IS NULL",
                [product_id, outcome.asset_id],
            )
