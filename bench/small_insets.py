"""Spot check: a product photo inset at a half, 0.4, a third and a quarter of the listing image's side.

    python bench/small_insets.py

Uses the bundled demo photos (the first 12), each on a desaturated background of another photo,
at a random position; prints how many of the 12 still score >= 0.5 at each size.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageEnhance

from listingguard.demo import catalogue_source
from matcher.fingerprint import fingerprint
from matcher.imagematch import compare


def main() -> None:
    photos = sorted((catalogue_source() / "images").glob("*.jpg"))
    rng = np.random.default_rng(0)
    found: dict[float, int] = {}
    background = Image.open(photos[-1]).convert("RGB")
    for path in photos[:12]:
        src = Image.open(path).convert("RGB")
        w, h = src.size
        owned = fingerprint(np.asarray(src))
        for frac in (0.5, 0.4, 0.33, 0.25):
            canvas = ImageEnhance.Color(background.resize((w, h))).enhance(0.3)
            small = src.resize((int(w * frac), int(h * frac)))
            at = (int(rng.integers(0, w - small.width)), int(rng.integers(0, h - small.height)))
            canvas.paste(small, at)
            score = compare(fingerprint(np.asarray(canvas)), owned).score
            found[frac] = found.get(frac, 0) + (score >= 0.5)
    for frac, n in found.items():
        print(f"inset at {frac:.2f} of the side: {n}/12 matched")


if __name__ == "__main__":
    main()
