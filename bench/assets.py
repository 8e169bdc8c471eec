"""Benchmark: registering owned photos (read, SHA-256, validate by decoding, store) against a naive baseline.

The baseline is what a plain script would do per photo: ``Image.open(f).load()`` at full size and
a SHA-256 of the bytes. Both run in this process, on the same files, in the same run.

    python bench/assets.py [PHOTO_FOLDER]

PHOTO_FOLDER defaults to ../shared/data/luma/images when present, else the bundled demo photos.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from listingguard import store
from listingguard.assets import register_files
from listingguard.demo import catalogue_source


def naive(paths: list[Path]) -> float:
    start = time.perf_counter()
    for p in paths:
        data = p.read_bytes()
        hashlib.sha256(data).hexdigest()
        with Image.open(p) as im:
            im.load()
    return time.perf_counter() - start


def registry(paths: list[Path], folder: Path) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        db = store.open_store(Path(tmp) / "bench.db", create=True)
        start = time.perf_counter()
        outcomes = list(register_files(db, [folder], kind="image"))
        first = time.perf_counter() - start
        start = time.perf_counter()
        again = list(register_files(db, [folder], kind="image"))
        second = time.perf_counter() - start
        assert all(o.status == "exists" for o in again if o.status != "skipped")
        db.close()
    return first, second, sum(o.status == "added" for o in outcomes)


def main() -> None:
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "luma" / "images"
    folder = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else (shared if shared.is_dir() else catalogue_source() / "images")
    )
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    with Image.open(paths[0]) as im:
        size = im.size
    base = naive(paths)
    first, second, added = registry(paths, folder)
    n = len(paths)
    print(f"photos: {n} from {folder} (first is {size[0]}x{size[1]})")
    print(f"naive open+load+sha256:      {n / base:8.1f} photos/s")
    print(
        f"assets add (new photos):     {added / first:8.1f} photos/s  ratio {base / first:.2f}x the baseline"
    )
    print(
        f"assets add (already there):  {n / second:8.1f} photos/s  ratio {base / second:.2f}x the baseline"
    )


if __name__ == "__main__":
    main()
