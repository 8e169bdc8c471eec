"""Suspicious listings for the demo, made from the catalogue the way counterfeiters edit them.

Made by code at demo time (not stored): photos (a mirrored crop, a collage with another seller's
photos, a photo under a sale banner, and a genuinely different product that must not match) and
texts (disguised marks, a mention, a copied description, another brand's copy).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps


def _open(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGB")


def make(catalogue: Path, target: Path) -> list[tuple[str, Path]]:
    """Write the sample listing photos into ``target``; returns (what was done, path) pairs."""
    target.mkdir(parents=True, exist_ok=True)
    images = catalogue / "images"
    hoodie = _open(images / "mh01-gray_main.jpg")
    tee = _open(images / "ms09-black_main.jpg")
    others = [
        _open(images / n) for n in ("mh02-black_main.jpg", "mj02-green_main.jpg", "mg01-bk-0.jpg")
    ]
    w, h = hoodie.size
    samples = []

    crop = ImageOps.mirror(hoodie.crop((int(w * 0.1), int(h * 0.05), int(w * 0.85), int(h * 0.8))))
    samples.append(("mirrored and cropped hoodie photo", crop))

    cell = (w // 2, h // 2)
    collage = Image.new("RGB", (cell[0] * 2, cell[1] * 2), "white")
    for i, im in enumerate([others[0], tee, others[1], others[2]]):
        collage.paste(im.resize(cell), ((i % 2) * cell[0], (i // 2) * cell[1]))
    samples.append(("collage with the tee among other sellers' photos", collage))

    banner = hoodie.rotate(8, expand=True, fillcolor="white")
    draw = ImageDraw.Draw(banner)
    draw.rectangle((0, banner.height * 0.85, banner.width, banner.height), fill=(200, 20, 20))
    draw.text((banner.width * 0.05, banner.height * 0.88), "HOT SALE -70%", fill="white")
    samples.append(("hoodie photo turned 8 degrees under a sale banner", banner))

    samples.append(("a different product from another seller", others[0]))
    out = []
    for i, (what, im) in enumerate(samples, 1):
        path = target / f"listing-{i}.jpg"
        im.save(path, "JPEG", quality=85)
        out.append((what, path))
    return out


def _descriptions(sheet: Path) -> dict[str, str]:
    with sheet.open(encoding="utf-8", newline="") as f:
        return {row["family"]: row["description"] for row in csv.DictReader(f)}


def texts(catalogue: Path) -> list[dict[str, str | None]]:
    """Suspicious listing texts for the demo: disguised marks, a mention, copied copy, a clean one.

    Each is what a counterfeit listing on a marketplace does to the demo brand "Luma": spread or
    look-alike letters, a typo, the Chinese alias beside "replica" words, a seller name and a
    price; the catalogue's own description pasted into a longer text with words changed.
    """
    own = _descriptions(catalogue / "products.csv")
    other = _descriptions(catalogue / "others.csv")
    words = own["MH01"].split()
    rng = random.Random(4)
    for i in rng.sample(range(len(words)), len(words) // 10):  # one word in ten changed
        words[i] = rng.choice(["great", "soft", "warm", "best", "new"])
    copied = "Hot sale, free shipping! " + " ".join(words) + " Ask us for bulk prices."
    return [
        {"what": "spread-out letters, 1:1", "text": "L.U.M.A Chaz hoodie 1:1 mirror quality",
         "seller": None, "price": "$6.50"},
        {"what": "fullwidth letters", "text": "Ｌｕｍａ yoga strap", "seller": None, "price": None},
        {"what": "a Cyrillic letter inside", "text": "Lumа Kangeroo hoodie men",
         "seller": "LumaOfficialOutlet", "price": None},
        {"what": "a typo", "text": "Lumma sport watch", "seller": None, "price": None},
        {"what": "Chinese alias and 高仿", "text": "露玛 高仿 瑜伽垫 包邮", "seller": None,
         "price": None},
        {"what": "a mention", "text": "Foam roller compatible with Luma stability balls",
         "seller": None, "price": None},
        {"what": "copied description", "text": copied, "seller": None, "price": None},
        {"what": "another brand's own copy", "text": other["MH02"], "seller": None,
         "price": None},
    ]  # fmt: skip
