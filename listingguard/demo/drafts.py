"""The demo's self-check: the brand's next listings, checked before they go live.

The demo brand drafts a small bulk-upload sheet as a seller would: its own product with its own
photos and copy, an accessory that names another brand to say what it fits, and three drafts a
busy team might produce — a supplier's photo that is really another seller's (captured by the
sweep), a description pasted from another seller's listing, and a title that borrows a famous
brand. The sheet is written into the workspace (``drafts/``), so ``listingguard check
drafts/listings.csv`` can be run again by hand.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

from crawler.evidence import read_payload
from listingguard import imaging
from listingguard.selfcheck import Checker, Report, summary
from listingguard.sheets import read
from listingguard.workspace import Workspace

COLUMNS = ("sku", "title", "brand", "description", "bullet_point1", "images")


def _other_seller(ws: Workspace) -> dict[str, Any] | None:
    """A listing of another seller's own product (no finding on it), with a photo and text."""
    return next(
        iter(
            ws.db.query(
                "SELECT l.title, l.description, l.seller_name, c.warc_file, c.warc_offset "
                "FROM listings l JOIN listing_images li ON li.listing_id = l.id "
                "JOIN images i ON i.sha256 = li.image_sha256 "
                "JOIN captures c ON c.id = i.capture_id "
                "WHERE NOT EXISTS (SELECT 1 FROM findings f WHERE f.listing_id = l.id) "
                "AND l.description IS NOT NULL AND length(l.description) > 120 "
                "AND l.title NOT LIKE '%Luma%' ORDER BY l.id LIMIT 1"
            )
        ),
        None,
    )


def write_sheet(ws: Workspace, catalogue: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    product = next(iter(ws.db.query(
        "SELECT p.sku, p.name, a.text FROM products p JOIN assets a ON a.product_id = p.id "
        "AND a.kind = 'copy' ORDER BY p.id LIMIT 1"
    )))  # fmt: skip
    photo = next(iter(ws.db.query(
        "SELECT path FROM assets WHERE kind = 'image' AND product_id = "
        "(SELECT id FROM products WHERE sku = ?) ORDER BY id LIMIT 1", [product["sku"]]
    )))["path"]  # fmt: skip
    shutil.copy(photo, folder / "own-photo.jpg")
    rows = [
        ("LUMA-NEW-1", f"Luma {product['name']}", "Luma", product["text"], "Machine wash cold",
         "own-photo.jpg"),
        ("LUMA-NEW-2", "Luma replacement strap compatible with Garmin Forerunner", "Luma",
         "A soft silicone strap in our colours.", "Quick-release pins", "own-photo.jpg"),
        ("LUMA-NEW-5", "Luma running shoes, Nike style, AAA quality", "Luma",
         "Light mesh trainers.", "Sizes 38-46", "own-photo.jpg"),
    ]  # fmt: skip
    other = _other_seller(ws)
    if other is not None:
        _, data = read_payload(ws.config.workspace.evidence / other["warc_file"],
                               other["warc_offset"])  # fmt: skip
        (folder / "supplier-photo.jpg").write_bytes(data)
        rows[2:2] = [
            ("LUMA-NEW-3", "Luma warm pullover for cold mornings", "Luma",
             "Soft brushed fleece inside.", "Kangaroo pocket", "supplier-photo.jpg"),
            ("LUMA-NEW-4", "Luma all-weather shell jacket", "Luma", other["description"],
             "Taped seams", "own-photo.jpg"),
        ]  # fmt: skip
    sheet = folder / "listings.csv"
    with sheet.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return sheet


def run(ws: Workspace, catalogue: Path) -> tuple[list[Report], dict[str, Any]]:
    """Write the demo's draft sheet and self-check it; the reports and a JSON summary."""
    sheet = write_sheet(ws, catalogue, catalogue.parent / "drafts")
    checker = Checker(ws)
    drafts = list(read([sheet], ws.config.selfcheck.columns))
    with imaging.workers() as executor:
        reports = list(checker.check_all(drafts, executor))
    return reports, {
        "sheet": str(sheet),
        "platform": checker.platform,
        "territories": list(checker.territories),
        "summary": summary(reports),
        "listings": [{"id": r.draft.id, "title": r.draft.title, "verdict": r.verdict,
                      "problems": [p.as_dict() for p in r.problems]} for r in reports],
    }  # fmt: skip
