"""Benchmark: finding copies of owned product photos, against pHash and PDQ at the same false-match rate.

Half the product designs of a catalogue are registered as owned, the other half play other
sellers' products. Positive queries are edited copies of owned photos (bench/edits.py, 16 kinds
of edit, parameters drawn at random); negative queries are the other designs' photos, lightly
re-encoded. A false match is a negative scored >= 0.5 against any owned photo. Colour variants
of one design (same product name) stay on one side, since a match between them is no error.

    python bench/images.py [--luma ../shared/data/luma] [--per-edit 50] [--owned 10000]

Speed figures follow the quality table, each beside its baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import pickle
import random
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import imagehash
import numpy as np
import pdqhash
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from edits import EDITS, light_reencode

from listingguard.imaging import DECODE_SIDE
from matcher.fingerprint import Fingerprint, fingerprint
from matcher.imagefile import decode
from matcher.imagematch import ImageThresholds, match
from matcher.index import ImageIndex, brute_force_hamming

ROOT = Path(__file__).resolve().parents[1]


def designs(luma: Path) -> dict[str, list[str]]:
    """Photo file names by design (product name): colour variants share a name."""
    out: dict[str, list[str]] = defaultdict(list)
    with open(luma / "products.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out[row["name"].strip().lower()] += row["images"].split(";")
    return dict(out)


def jpeg(im: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def fp_bytes(data: bytes) -> Fingerprint:
    """What registering or matching does to a file's bytes: safe decode, then fingerprint."""
    rgb, _ = decode(data, max_side=DECODE_SIDE)
    return fingerprint(np.asarray(rgb))


def _fp_file(path: str) -> Fingerprint:
    return fp_bytes(Path(path).read_bytes())


def quality(
    luma: Path, per_edit: int, seed: int, only: list[str] | None = None
) -> tuple[dict[str, list[float]], list[float], dict]:
    rng = random.Random(seed)
    by_design = designs(luma)
    names = sorted(by_design)
    owned_designs, other_designs = names[0::2], names[1::2]
    owned_files = [(d, f) for d in owned_designs for f in by_design[d]]
    other_files = [f for d in other_designs for f in by_design[d]]
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        owned_fps = list(
            pool.map(_fp_file, [str(luma / "images" / f) for _, f in owned_files], chunksize=8)
        )
    index = ImageIndex.build(enumerate(owned_fps))
    design_of = {i: d for i, (d, _) in enumerate(owned_files)}
    fetch = owned_fps.__getitem__
    t = ImageThresholds()

    def load(name: str) -> Image.Image:
        im = Image.open(luma / "images" / name)
        im.draft("RGB", (1100, 1100))
        return im.convert("RGB")

    positives: dict[str, list[float]] = defaultdict(list)
    base: dict[str, list[tuple[str, int, int]]] = defaultdict(
        list
    )  # edit -> (design, phash d, pdq d)
    owned_phash = [imagehash.phash(load(f)) for _, f in owned_files]
    owned_pdq = [pdqhash.compute(np.asarray(load(f)))[0] for _, f in owned_files]
    sample = [rng.randrange(len(owned_files)) for _ in range(per_edit)]
    for name, edit in EDITS.items():
        if only and name not in only:
            continue
        for i in sample:
            design = owned_files[i][0]
            others = [load(rng.choice(other_files)) for _ in range(3)]
            data = jpeg(edit(load(owned_files[i][1]), rng, others))
            q = fp_bytes(data)
            found = [m.score for m in match(q, index, fetch, t) if design_of[m.key] == design]
            positives[name].append(max(found, default=0.0))
            base[name].append(
                (design, *_baseline_distances(data, owned_files, owned_phash, owned_pdq, design))
            )
    negatives, neg_base = [], []
    for f in other_files:
        data = jpeg(light_reencode(load(f), rng), quality=85)
        q = fp_bytes(data)
        negatives.append(max((m.score for m in match(q, index, fetch, t)), default=0.0))
        neg_base.append(_baseline_distances(data, owned_files, owned_phash, owned_pdq, None))
    return positives, negatives, {"positives": base, "negatives": neg_base}


def _baseline_distances(data, owned_files, owned_phash, owned_pdq, design) -> tuple[int, int]:
    """Smallest pHash and PDQ distance to the right design (positives) or to any owned photo."""
    im = Image.open(io.BytesIO(data)).convert("RGB")
    ph = imagehash.phash(im)
    pq = pdqhash.compute(np.asarray(im))[0]
    rows = [i for i, (d, _) in enumerate(owned_files) if design is None or d == design]
    return (
        min(ph - owned_phash[i] for i in rows),
        min(int(np.count_nonzero(pq != owned_pdq[i])) for i in rows),
    )


def _threshold_at(neg: list[int], max_rate: float) -> int:
    """The largest distance threshold whose false-match rate stays within ``max_rate``."""
    best = -1
    for t in range(0, 257):
        if sum(d <= t for d in neg) / len(neg) <= max_rate:
            best = t
    return best


def report_quality(pos: dict[str, list[float]], neg: list[float], base: dict) -> None:
    fm = sum(s >= 0.5 for s in neg)
    rate = fm / len(neg)
    budget = max(rate, 0.005)
    neg_ph = [d[0] for d in base["negatives"]]
    neg_pq = [d[1] for d in base["negatives"]]
    t_ph, t_pq = _threshold_at(neg_ph, budget), _threshold_at(neg_pq, budget)
    print(
        f"negatives: {len(neg)} photos of other designs; listingguard false matches {fm} ({rate:.2%})"
    )
    print(
        f"baselines at a false-match rate <= {budget:.2%}: pHash distance <= {t_ph}, PDQ distance <= {t_pq}"
    )
    print(f"{'edit':22s} {'listingguard':>12s} {'pHash':>8s} {'PDQ':>8s}")
    total = [0, 0, 0, 0]
    for name, scores in pos.items():
        ours = sum(s >= 0.5 for s in scores)
        ph = sum(d[1] <= t_ph for d in base["positives"][name])
        pq = sum(d[2] <= t_pq for d in base["positives"][name])
        n = len(scores)
        total = [total[0] + ours, total[1] + ph, total[2] + pq, total[3] + n]
        print(f"{name:22s} {ours / n:12.2f} {ph / n:8.2f} {pq / n:8.2f}")
    print(
        f"{'all edits':22s} {total[0] / total[3]:12.2f} {total[1] / total[3]:8.2f} {total[2] / total[3]:8.2f}"
    )


def speed(luma: Path, owned_target: int, seed: int, cache: Path | None = None) -> None:
    photos = sorted((luma / "images").glob("*.jpg"))
    rng = random.Random(seed)
    # the largest photos (1274x1580 in the Luma set), as the target names
    sample = sorted(photos, key=lambda p: -np.prod(Image.open(p).size))[:60]
    start = time.perf_counter()
    for p in sample:
        imagehash.phash(Image.open(p))
    naive = len(sample) / (time.perf_counter() - start)
    start = time.perf_counter()
    fps = [_fp_file(str(p)) for p in sample]
    ours = len(sample) / (time.perf_counter() - start)
    w, h = Image.open(sample[0]).size
    print(
        f"\nregistering ({w}x{h} JPEGs, one core): {ours:.1f} photos/s (decode + hashes + features); "
        f"baseline imagehash.phash(Image.open(f)): {naive:.1f} photos/s; ratio {ours / naive:.2f}"
    )
    size = np.mean([len(f.to_bytes()) for f in fps])
    print(f"stored fingerprint: {size / 1024:.0f} KB a photo (in the database, not in memory)")

    # An owned catalogue of owned_target photos: the real photos, each also cropped, turned,
    # mirrored and recoloured into distinct images, so that the index holds realistic descriptors.
    jobs = []
    for i in range(owned_target):
        jobs.append((str(photos[i % len(photos)]), i // len(photos), seed + i))
    start = time.perf_counter()
    if cache and cache.exists():
        owned = [Fingerprint.from_bytes(b) for b in pickle.loads(cache.read_bytes())]
    else:
        with ProcessPoolExecutor(os.cpu_count()) as pool:
            owned = list(pool.map(_variant_fp, jobs, chunksize=16))
        if cache:
            cache.write_bytes(pickle.dumps([f.to_bytes() for f in owned]))
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    index = ImageIndex.build(enumerate(owned))
    print(
        f"owned catalogue: {len(owned)} photos fingerprinted in {build_s:.0f} s on {os.cpu_count()} cores; "
        f"index built in {time.perf_counter() - start:.1f} s"
    )
    per_photo = index.memory_bytes() / len(owned)
    print(
        f"index memory: {per_photo / 1024:.1f} KB a photo; 100,000 photos: {per_photo * 100_000 / 1e9:.2f} GB"
    )

    queries = [photos[rng.randrange(len(photos))] for _ in range(40)]
    datas = [
        jpeg(
            EDITS[rng.choice(list(EDITS))](
                Image.open(q).convert("RGB"), rng, [Image.open(photos[0]).convert("RGB")] * 3
            )
        )
        for q in queries
    ]
    start = time.perf_counter()
    for d in datas:
        fp = fp_bytes(d)
        match(fp, index, owned.__getitem__)
    rate = len(datas) / (time.perf_counter() - start)
    start = time.perf_counter()
    for d in datas:
        imagehash.phash(Image.open(io.BytesIO(d)))
    base = len(datas) / (time.perf_counter() - start)
    print(
        f"matching against {len(owned)} owned photos (one core, decode + fingerprint + candidates + verification): "
        f"{rate:.1f} listing images/s; baseline pHash of the query alone: {base:.1f}/s"
    )

    hashes_1m = np.random.default_rng(seed).integers(0, 2**63, size=1_000_000, dtype=np.uint64)
    probe = [int(x) for x in hashes_1m[:200]]
    start = time.perf_counter()
    for h in probe:
        brute_force_hamming(hashes_1m, h, 10)
    ms = (time.perf_counter() - start) / len(probe) * 1000
    objs = [
        imagehash.ImageHash(
            np.unpackbits(np.array([x], ">u8").view(np.uint8)).astype(bool).reshape(8, 8)
        )
        for x in hashes_1m[:20_000]
    ]
    start = time.perf_counter()
    q = objs[0]
    _ = [o for o in objs if q - o <= 10]
    naive_ms = (time.perf_counter() - start) * (1_000_000 / 20_000) * 1000
    print(
        f"candidate lookup over 1,000,000 64-bit hashes: {ms:.2f} ms a query (numpy XOR + popcount); "
        f"baseline imagehash loop: {naive_ms:.0f} ms a query (extrapolated from 20,000); ratio {naive_ms / ms:.0f}x"
    )


def _variant_fp(job: tuple[str, int, int]) -> Fingerprint:
    path, variant, seed = job
    im = Image.open(path)
    im.draft("RGB", (700, 700))
    im = im.convert("RGB")
    if variant:
        rng = random.Random(seed)
        edit = rng.choice(["crop15", "rotate7", "hue_shift", "mirror", "crop35", "stretch", "pad"])
        im = EDITS[edit](im, rng, [im])
    return fingerprint(np.asarray(im))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--luma", type=Path, default=ROOT.parent / "shared" / "data" / "luma")
    parser.add_argument("--per-edit", type=int, default=50)
    parser.add_argument("--owned", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--edits", nargs="*", help="only these edits (default: all)")
    parser.add_argument(
        "--cache", type=Path, help="keep the owned catalogue's fingerprints here between runs"
    )
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    if not args.skip_quality:
        pos, neg, base = quality(args.luma, args.per_edit, args.seed, args.edits)
        report_quality(pos, neg, base)
    if not args.skip_speed:
        speed(args.luma, args.owned, args.seed, args.cache)


if __name__ == "__main__":
    main()
