"""Build the bundled demo catalogue from the shared Luma data (a developer tool, not run by users).

The demo must run on a fresh machine without ``../shared``, so a small subset of the Luma
catalogue is copied into the package, photos downscaled to 800 px on the long side.

    python scripts/make_demo_catalogue.py ../shared/data/luma listingguard/demo/catalogue
"""

from __future__ import annotations

import csv
import html
import shutil
import sys
from pathlib import Path

from PIL import Image

# Owned families (the demo brand's catalogue) and how many of their photos to keep.
OWNED = {
    "MH01": 4,
    "MJ01": 3,
    "MS09": 3,
    "MT02": 3,
    "MP02": 3,
    "MSH01": 3,
    "24-MB02": 2,
    "24-MB04": 2,
    "24-UG02": 1,
    "24-WG088": 1,
    "24-WG081-gray": 1,
    "24-WG09": 1,
}
# Families held out as other sellers' genuinely different products (unrelated listings).
OTHERS = {"MH02": 2, "MJ02": 2, "24-MG01": 1}
LONG_SIDE = 800


def _write(
    rows: list[dict[str, str]], keep: dict[str, int], src: Path, dst: Path, name: str
) -> None:
    (dst / "images").mkdir(parents=True, exist_ok=True)
    out = []
    for row in rows:
        if row["family"] not in keep:
            continue
        images = row["images"].split(";")[: keep[row["family"]]]
        for file_name in images:
            with Image.open(src / "images" / file_name) as im:
                im = im.convert("RGB")
                im.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
                im.save(dst / "images" / file_name, "JPEG", quality=85, optimize=True)
        out.append(
            {
                "family": row["family"],
                "name": html.unescape(row["name"]).strip(),
                "price": row["price"],
                "currency": "USD",
                "category": row["category"],
                "images": ";".join(images),
                "description": html.unescape(row["description"]).strip(),
            }
        )
    with open(dst / name, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(out[0]))
        writer.writeheader()
        writer.writerows(out)


def main(src: Path, dst: Path) -> None:
    with open(src / "products.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    _write(rows, OWNED, src, dst, "products.csv")
    _write(rows, OTHERS, src, dst, "others.csv")
    shutil.copy(src / "LICENSE-OSL-3.0.txt", dst / "LICENSE-OSL-3.0.txt")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
