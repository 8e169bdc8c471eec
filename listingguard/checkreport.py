"""The self-check's three outputs: a terminal table, JSON for pipelines, an HTML report.

Listing texts are the seller's but often pasted from suppliers and other sellers, so they are
treated as hostile everywhere: never rich markup in the terminal (``Text`` cells), always
autoescaped in HTML, and thumbnails decoded by the same guarded decoder as everything else.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import PackageLoader
from jinja2.sandbox import SandboxedEnvironment
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlite_utils import Database

from crawler.evidence import read_payload
from listingguard.config import Config
from listingguard.files import FileRefused, read_regular
from listingguard.selfcheck import Report, summary
from matcher.imagefile import ImageRejected, decode
from takedown import packhtml
from takedown.sidebyside import to_jpeg

THUMB_SIDE = 160
_BIDI = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def safe(text: str) -> str:
    """Listing text for a terminal: control characters (escape sequences that clear the screen,
    hide text, retitle the window or make links) and bidi overrides shown as escapes."""
    return "".join(
        c
        if (c.isprintable() or c == " ") and c not in _BIDI
        else f"\\x{ord(c):02x}"
        if ord(c) < 0x100
        else f"\\u{ord(c):04x}"
        for c in text
    )


STYLES = {"block": "bold red", "warn": "yellow", "info": "cyan", "ok": "green", "error": "magenta"}


def print_table(reports: Sequence[Report], console: Console, *, verbose: bool = False) -> None:
    """One row per listing with its problems (warnings and blocks; info with ``verbose``),
    then the counts."""
    table = Table(show_lines=True, expand=False)
    table.add_column("listing", overflow="fold", max_width=32)
    table.add_column("verdict")
    table.add_column("problems", overflow="fold")
    for r in reports:
        cell = Text()
        for p in (p for p in r.problems if verbose or p.severity != "info"):
            if cell:
                cell.append("\n")
            cell.append(p.severity, style=STYLES[p.severity])
            cell.append(f" {p.check} ({p.field or 'listing'})" if p.field else f" {p.check}")
            if p.text:
                cell.append(f" {safe(p.text[:60])!r}")
            cell.append(f": {safe(p.reason)}")
        d = r.draft
        where = Path(d.source).name + (f":{d.row}" if d.row else "")
        listing = Text(safe(f"{where} ({d.id})" if d.id else where))  # JSON: the whole path
        if r.draft.title:
            listing.append("\n" + safe(r.draft.title[:60]), style="dim")
        table.add_row(listing, Text(r.verdict, style=STYLES[r.verdict]), cell)
    console.print(table)
    counts = summary(reports)
    console.print(
        f"{counts['listings']} listings: {counts['block']} blocked, {counts['warn']} with "
        f"warnings, {counts['ok']} clean; {counts['unread']} not read whole",
        markup=False,
    )


def as_json(reports: Sequence[Report], seconds: float) -> dict[str, Any]:
    return {
        "listings": [r.as_dict() for r in reports],
        "summary": summary(reports) | {"seconds": round(seconds, 2)},
    }


@functools.cache
def _environment() -> SandboxedEnvironment:
    return packhtml.environment(PackageLoader("listingguard", "templates"))


def thumbnail(data: bytes | None, config: Config) -> str | None:
    """A small JPEG ``data:`` URI of image bytes, or None when they do not decode safely."""
    if not data:
        return None
    try:
        image, _ = decode(
            data,
            max_bytes=config.assets.max_image_bytes,
            max_pixels=config.assets.max_image_pixels,
            max_side=THUMB_SIDE,
        )
        small = to_jpeg(image, quality=80, max_side=THUMB_SIDE)
    except (ImageRejected, OSError, ValueError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(small).decode("ascii")


def _matched_bytes(db: Database, config: Config, match: dict[str, Any]) -> bytes | None:
    """The bytes of what a photo matched: the asset's file, or the captured listing photo."""
    try:
        if match.get("path"):
            return read_regular(match["path"], config.assets.max_image_bytes)
        row = db.execute(
            "SELECT c.warc_file, c.warc_offset FROM images i JOIN captures c "
            "ON c.id = i.capture_id WHERE i.sha256 = ?",
            [match.get("sha256")],
        ).fetchone()
        if row:
            path = config.workspace.evidence / row[0]
            return read_payload(path, row[1], config.crawler.max_image_bytes)[1]
    except (OSError, ValueError, FileRefused):
        return None
    return None


def write_html(
    reports: Sequence[Report], path: Path, db: Database, config: Config, seconds: float
) -> None:
    """A self-contained report: every listing, its problems, each photo beside what it matched."""
    cache: dict[str, str | None] = {}

    def matched_thumb(match: dict[str, Any]) -> str | None:
        key = match.get("sha256") or ""
        if key not in cache:
            cache[key] = thumbnail(_matched_bytes(db, config, match), config)
        return cache[key]

    listings = []
    for r in reports:
        photos = []
        for p in r.photos:
            best = p.matches[0] if p.matches else None
            photos.append(
                {
                    "ref": p.ref,
                    "source": p.source,
                    "error": p.error,
                    "thumb": thumbnail(p.data, config),
                    "match": best,
                    "match_thumb": matched_thumb(best) if best else None,
                    "match_name": (best or {}).get("asset")
                    or ((best or {}).get("listing") or {}).get("url"),
                }
            )
        listings.append({"report": r.as_dict(), "photos": photos})
    html = (
        _environment()
        .get_template("check.html.j2")
        .render(
            listings=listings,
            summary=summary(reports),
            seconds=round(seconds, 1),
            generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        )
    )
    path.write_text(html, "utf-8")
