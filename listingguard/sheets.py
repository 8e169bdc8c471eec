"""Listings a seller is about to publish, read from JSON, TOML, CSV and XLSX files or folders.

A seller's listings come as marketplace bulk-upload sheets whose columns differ by platform
(Amazon's ``item_name`` and ``bullet_point1..5``, eBay's ``Title`` and ``PicURL``, Shopify's
``Body (HTML)`` and one ``Image Src`` row per photo), so columns are found by name, in the order
``[selfcheck.columns]`` gives. A sheet that cannot be read at all (no title column, not a sheet)
is one error naming the file; a row that cannot be read (undecodable bytes) is an error of that
row, and the other rows are still checked.
"""

from __future__ import annotations

import codecs
import csv
import fnmatch
import io
import json
import re
import tomllib
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from listingguard.assets import shown, walk
from listingguard.config import Columns
from listingguard.files import FileRefused, read_regular

SUFFIXES = frozenset({".json", ".toml", ".csv", ".tsv", ".txt", ".xlsx", ".xlsm"})
MAX_SHEET_BYTES = 50_000_000
MAX_ROWS = 100_000
MAX_CELL = 100_000  # characters kept of one cell
HEADER_ROWS = 10  # Amazon's flat files put two rows of template notes above the header
FIELDS = ("id", "title", "description", "bullets", "brand", "images", "platform", "territory")
MULTI = frozenset({"bullets", "images"})
_SPLIT = re.compile(r"[|\n\r]+")


class SheetError(Exception):
    """A listing file that cannot be read at all; the message says why and what to do."""


@dataclass
class Draft:
    """One listing as the seller means to publish it, with the problems of reading it."""

    source: str
    row: int | None  # spreadsheet row (the header is row 1 of a headed sheet), None for a file
    id: str = ""
    title: str = ""
    description: str = ""
    bullets: tuple[str, ...] = ()
    brand: str = ""
    images: tuple[str, ...] = ()
    platform: str = ""
    territories: tuple[str, ...] = ()
    base: Path = Path(".")  # where relative image paths start
    errors: list[str] = field(default_factory=list)


def squash(name: str) -> str:
    """A column name for comparison: lower case, letters and digits only ("Image Src" -> "imagesrc")."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _squash_pattern(pattern: str) -> str:
    """A column pattern squashed like the names it is compared with, its wildcards kept."""
    return "".join(
        part if part in ("*", "[0-9]") else squash(part)
        for part in re.split(r"(\*|\[0-9\])", pattern)
    )


def resolve_columns(headers: list[str], columns: Columns) -> dict[str, list[int]]:
    """Which header positions hold each field: the first name in ``columns`` that some header
    has wins; a list field (bullets, images) takes every header that name matches."""
    squashed = [squash(h) for h in headers]
    found: dict[str, list[int]] = {}
    taken: set[int] = set()
    for name in FIELDS:
        for pattern in getattr(columns, name):
            want = _squash_pattern(pattern)
            hits = [
                i
                for i, h in enumerate(squashed)
                if h and i not in taken and fnmatch.fnmatchcase(h, want)
            ]
            if hits:
                # A single field takes every column of the same name (a second "brand").
                same = [i for i in hits if squashed[i] == squashed[hits[0]]]
                found[name] = hits if name in MULTI else same
                taken.update(found[name])
                break
    return found


def read(paths: Iterable[Path], columns: Columns, encoding: str | None = None) -> Iterator[Draft]:
    """Every listing in ``paths`` (files or folders), in order; a file that cannot be read at
    all is one Draft holding the error, so one bad file never hides the others."""
    for item in walk(paths, SUFFIXES):
        if not isinstance(item, Path):
            if item.status == "refused":
                yield Draft(item.item, None, errors=[item.reason])
            continue
        try:
            yield from read_file(item, columns, encoding)
        except SheetError as exc:
            yield Draft(shown(item), None, errors=[str(exc)])


def read_file(path: Path, columns: Columns, encoding: str | None = None) -> Iterator[Draft]:
    try:
        data = read_regular(path, MAX_SHEET_BYTES)
    except FileRefused as exc:
        raise SheetError(str(exc)) from None
    except OSError as exc:
        raise SheetError(f"cannot read: {exc.strerror or exc}") from None
    suffix = path.suffix.lower()
    source = shown(path)
    if suffix == ".json":
        yield from _records(_parsed(data, "JSON"), source, path.parent, columns)
    elif suffix == ".toml":
        yield from _records(_parsed(data, "TOML"), source, path.parent, columns)
    elif suffix in (".xlsx", ".xlsm"):
        yield from _xlsx(data, source, path.parent, columns)
    else:
        yield from _table(_csv_rows(data, encoding), source, path.parent, columns)


# -- one listing per file: JSON and TOML ---------------------------------------------------------


def _parsed(data: bytes, kind: str) -> list[dict[str, Any]]:
    """The listing objects of a JSON or TOML file."""
    loads, error = (
        (json.loads, json.JSONDecodeError)
        if kind == "JSON"
        else (tomllib.loads, tomllib.TOMLDecodeError)
    )
    try:
        value = loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise SheetError(f"not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    except (error, RecursionError) as exc:
        raise SheetError(f"not valid {kind}: {exc}") from None
    return _listing_objects(value)


def _listing_objects(value: Any) -> list[dict[str, Any]]:
    """One listing object, a list of them, or ``{"listings": [...]}``."""
    if isinstance(value, dict) and isinstance(value.get("listings"), list):
        value = value["listings"]
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, dict) for v in items):
        raise SheetError("expected a listing object (title, description, images, ...)")
    return items


def _records(
    items: list[dict[str, Any]], source: str, base: Path, columns: Columns
) -> Iterator[Draft]:
    for n, item in enumerate(items, start=1):
        keys = list(item)
        found = resolve_columns(keys, columns)
        values = {
            name: [_cells(item[keys[i]], name, columns) for i in where]
            for name, where in found.items()
        }
        draft = _draft(values, source, n if len(items) > 1 else None, base)
        if not draft.title:
            draft.errors.append(_no_title(keys))
        yield draft


def _cells(value: Any, name: str, columns: Columns) -> list[str]:
    """A JSON/TOML value as cell texts: a list gives one per item (never split further); a
    string is split like a sheet's cell."""
    if isinstance(value, list):
        return [str(v)[:MAX_CELL] for v in value if v is not None and not isinstance(v, dict)]
    if value is None or isinstance(value, dict):
        return []
    return _split(str(value)[:MAX_CELL], name, columns)


# -- many listings per file: CSV and XLSX ---------------------------------------------------------


def _csv_rows(data: bytes, encoding: str | None) -> Iterator[tuple[int, list[str], str | None]]:
    """(row number, cells, problem) of a CSV; a row with bytes that do not decode keeps them as
    escapes and says so, instead of failing the sheet."""
    if encoding:
        try:
            text = data.decode(encoding, "surrogateescape")
        except LookupError:
            raise SheetError(f"unknown encoding {encoding!r}") from None
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", "replace")
    elif (utf16 := _utf16_without_bom(data[:4096])) is not None:
        text = data.decode(utf16, "replace")
    else:
        text = data.decode("utf-8-sig", "surrogateescape")
    if "\0" in text[:4096]:
        raise SheetError("not a text sheet (it holds NUL bytes): export it as CSV or XLSX")
    # The delimiter is the one the header line uses most (csv.Sniffer guesses quoting too, and
    # guesses it wrong on descriptions with quotes and line breaks); quoting is Excel's.
    header = text[: text.find("\n")] if "\n" in text else text
    delimiter = max(",;\t", key=header.count)
    # Strict: a quote left open would otherwise swallow every later row into one cell.
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter, strict=True)
    csv.field_size_limit(MAX_SHEET_BYTES)  # a long cell is cut to MAX_CELL, not the sheet's end
    try:
        # Rows are numbered as a spreadsheet shows them: a cell with line breaks is one row.
        for line, cells in enumerate(reader, start=1):
            if line > MAX_ROWS + 1:
                raise SheetError(f"more than {MAX_ROWS} rows: split the sheet")
            cells = [c[:MAX_CELL] for c in cells]
            bad = next((c for c in cells if _undecodable(c)), None)
            problem = None
            if bad is not None:
                problem = (
                    f"not {encoding or 'UTF-8'} text ({_bad_bytes(bad)}): save the sheet as "
                    "UTF-8, or give its encoding with --encoding"
                )
                cells = [
                    c.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for c in cells
                ]
            yield line, cells, problem
    except csv.Error as exc:
        raise SheetError(
            f"not readable as CSV from line {reader.line_num} on ({exc}; a quote left open?): "
            "the rows above it were checked, the rest were not"
        ) from None


def _utf16_without_bom(head: bytes) -> str | None:
    """ "utf-16-le" or "-be" for text saved as UTF-16 without a byte order mark (every other
    byte NUL), else None."""
    if len(head) < 4 or b"\0" not in head:
        return None
    odd, even = head[1::2].count(0), head[0::2].count(0)
    if odd > 0.9 * len(head[1::2]) and even < 0.1 * len(head[0::2]):
        return "utf-16-le"
    if even > 0.9 * len(head[0::2]) and odd < 0.1 * len(head[1::2]):
        return "utf-16-be"
    return None


def _undecodable(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _bad_bytes(text: str) -> str:
    raw = [f"0x{ord(ch) - 0xDC00:02x}" for ch in text if "\udc80" <= ch <= "\udcff"]
    return "byte " + raw[0] if len(raw) == 1 else f"bytes {', '.join(raw[:3])}"


def _workbook(data: bytes) -> Any:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(i.file_size for i in archive.infolist())
        if inflated > 20 * MAX_SHEET_BYTES:
            raise SheetError("the workbook inflates to more than 1 GB: refused")
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except SheetError:
        raise
    except Exception as exc:  # openpyxl raises many kinds on a broken or foreign file
        raise SheetError(f"not a readable XLSX workbook ({type(exc).__name__})") from None


def _xlsx(data: bytes, source: str, base: Path, columns: Columns) -> Iterator[Draft]:
    """The listings of every worksheet with a title column (Amazon's flat files keep them on
    "Template", after "Instructions" and "Data Definitions"); its "Example" sheet is skipped."""
    book = _workbook(data)
    try:
        sheets = [ws for ws in book.worksheets if not ws.title.casefold().startswith("example")]
        problems = []
        found = False
        for sheet in sheets:
            name = f"{source}[{sheet.title}]" if len(book.worksheets) > 1 else source
            try:
                for draft in _table(_sheet_rows(sheet), name, base, columns):
                    found = True
                    yield draft
            except SheetError as exc:
                problems.append(f"sheet {sheet.title!r}: {exc}")
        if not found:
            raise SheetError("; ".join(problems) or "the workbook has no worksheet")
    finally:
        book.close()


def _sheet_rows(sheet: Any) -> Iterator[tuple[int, list[str], str | None]]:
    for n, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        if n > MAX_ROWS + 1:
            raise SheetError(f"more than {MAX_ROWS} rows: split the sheet")
        yield n, ["" if v is None else str(v)[:MAX_CELL] for v in row], None


def _table(
    rows: Iterator[tuple[int, list[str], str | None]], source: str, base: Path, columns: Columns
) -> Iterator[Draft]:
    """Drafts from rows under a header found in the first rows (the first with a title column).

    A row is held until the next one is read (a Shopify row of one more photo joins it), and is
    still checked when the sheet breaks off after it.
    """
    found: dict[str, list[int]] | None = None
    seen: list[list[str]] = []
    previous: Draft | None = None
    try:
        for n, cells, problem in rows:
            if found is None:
                candidate = resolve_columns(cells, columns)
                if "title" in candidate:
                    found = candidate
                    continue
                seen.append(cells)
                if len(seen) >= HEADER_ROWS:
                    break
                continue
            if not any(c.strip() for c in cells):
                continue
            values = {
                name: [_split(cells[i], name, columns) for i in where if i < len(cells)]
                for name, where in found.items()
            }
            draft = _draft(values, source, n, base)
            if problem:
                draft.errors.append(problem)  # before joining: a broken row never joins
            if previous is not None and _continues(previous, draft):
                previous.images += draft.images  # Shopify: one row per further photo
                continue
            if not draft.title:
                draft.errors.append("no title in this row")
            if previous is not None:
                yield previous
            previous = draft
    except SheetError:
        if previous is not None:
            yield previous
        raise
    if previous is not None:
        yield previous
    if found is None:
        header = next((r for r in seen if any(c.strip() for c in r)), [])
        names = ", ".join(repr(c) for c in header[:12] if c.strip()) or "none"
        raise SheetError(
            f"no title column (columns found: {names}); name it in "
            "[selfcheck.columns] title of config.toml"
        )


def _continues(previous: Draft, draft: Draft) -> bool:
    return (
        not draft.title
        and not draft.description
        and not draft.bullets
        and bool(draft.images)
        and (not draft.id or draft.id == previous.id)
        and not draft.errors
    )


def _split(cell: str, name: str, columns: Columns) -> list[str]:
    if name == "images":
        parts = _SPLIT.split(cell.replace(columns.separator, "\n"))
    elif name == "territory":
        parts = re.split(r"[,;\s]+", cell)
    else:
        return [cell.strip()] if cell.strip() else []
    return [p.strip() for p in parts if p.strip()]


def _draft(values: dict[str, list[list[str]]], source: str, row: int | None, base: Path) -> Draft:
    """A draft from each field's cells (already split into items where a field has many)."""

    def one(name: str) -> str:
        return " ".join(c.strip() for cells in values.get(name, []) for c in cells if c.strip())

    def many(name: str) -> tuple[str, ...]:
        return tuple(c.strip() for cells in values.get(name, []) for c in cells if c.strip())

    return Draft(
        source=source,
        row=row,
        id=one("id"),
        title=one("title"),
        description=one("description"),
        bullets=many("bullets"),
        brand=one("brand"),
        images=many("images"),
        platform=one("platform").casefold(),
        territories=tuple(t.upper() for t in many("territory")),
        base=base,
    )


def _no_title(keys: list[str]) -> str:
    names = ", ".join(repr(k) for k in keys[:12]) or "none"
    return f"no title (keys found: {names}); name it in [selfcheck.columns] title of config.toml"
