"""False matches of mark detection on real titles, with random sets of other real brands as marks.

The hardest benign text for a mark matcher is the listing of a neighbouring brand: the marks
are drawn at random from the brand column of the real Walmart/Amazon titles, and every title
whose normalised text (case folded, non-alphanumerics removed) names none of them is benign.
A false match is any match scoring >= 0.5. The plain baseline, ``fuzz.ratio >= 80`` per word, is
measured on the same titles. Run: ``python bench/text_other_brands.py [--sets 6] [--marks 30]``.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
from collections import Counter
from pathlib import Path

from rapidfuzz import fuzz

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matcher.marks import MarkMatcher, MarkSpec  # noqa: E402


def squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def baseline_hits(title: str, marks: list[str]) -> bool:
    words = re.findall(r"[a-z0-9]+", title.lower())
    return any(fuzz.ratio(w, m) >= 80 for w in words for m in marks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--sets", type=int, default=6)
    parser.add_argument("--marks", type=int, default=30)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    print(f"command: python bench/text_other_brands.py --sets {args.sets} --marks {args.marks}")
    rows = []
    for table in ("tableA.csv", "tableB.csv"):
        with (args.data / "titles" / table).open(encoding="utf-8") as f:
            rows += list(csv.DictReader(f))
    titles = [r["title"] for r in rows]
    brands = [
        b
        for b, _ in Counter(r["brand"].lower().strip() for r in rows if r["brand"]).most_common(500)
        if len(b) >= 3 and b.isalpha()
    ]
    rng = random.Random(args.seed)
    ours_total = base_total = benign_total = 0
    collisions: Counter[tuple[str, str]] = Counter()
    for n in range(args.sets):
        marks = rng.sample(brands, args.marks)
        squashed = [squash(m) for m in marks]
        benign = [t for t in titles if not any(m in squash(t) for m in squashed)]
        matcher = MarkMatcher([MarkSpec(m) for m in marks])
        found = matcher.find_many(benign)
        ours = 0
        for matches in found:
            hits = [m for m in matches if m.score >= 0.5]
            ours += bool(hits)
            for m in hits:
                collisions[(m.asset, m.detail["matched"].lower())] += 1
        base = sum(baseline_hits(t, marks) for t in benign[:3000]) * len(benign) / 3000
        ours_total += ours
        base_total += base
        benign_total += len(benign)
        print(
            f"set {n}: {len(benign)} benign titles; ours {100 * ours / len(benign):.2f}%, "
            f"baseline {100 * base / len(benign):.2f}% (on 3,000 of them)"
        )
    ours_rate, base_rate = 100 * ours_total / benign_total, 100 * base_total / benign_total
    print(
        f"all sets: ours {ours_rate:.2f}%, baseline {base_rate:.2f}%, "
        f"ratio {base_rate / max(ours_rate, 1e-9):.1f}x fewer false matches"
    )
    print("most frequent collisions (mark, word):", collisions.most_common(10))


if __name__ == "__main__":
    main()
