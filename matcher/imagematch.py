"""Image copy matching: candidates from the index, verified, scored on a calibrated 0-1 scale.

The score is 0.5 exactly where the evidence crosses the decision threshold, so "score >= 0.5"
means "a copy of this photo" for every caller; the detail says why (hash distances, inliers,
correlation, mirrored, the region in the listing image) and which thresholds applied.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from matcher import hashes
from matcher.fingerprint import Fingerprint
from matcher.index import ImageIndex
from matcher.verify import Alignment, alignments


@dataclass(frozen=True)
class ImageThresholds:
    """Decision parameters, with defaults measured by bench/images.py (docs/benchmarks.md).

    ``correlation`` is where the score is 0.5; ``slope`` how fast it moves around it (per unit
    of correlation). A verified alignment needs ``min_inliers`` RANSAC inliers over at least
    ``min_tiles`` compared tiles. Without one, a near-identical global hash (PDQ distance at
    most ``pdq_distance``) still scores, for photos too plain to hold local features.
    """

    correlation: float = 0.77
    slope: float = 25.0
    min_inliers: int = 10
    min_tiles: int = 3
    pdq_distance: int = 16
    candidates: int = 5


@dataclass(frozen=True)
class ImageMatch:
    key: int
    score: float
    detail: dict[str, object] = field(default_factory=dict)


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-max(-60.0, min(60.0, x))))


MIN_PDQ_QUALITY = 50  # Meta's guidance: PDQ hashes of quality 49 or less are not to be trusted


def score(
    found: list[Alignment], pdq_distance: int, thresholds: ImageThresholds, pdq_quality: int = 100
) -> tuple[float, str, Alignment | None]:
    """The calibrated score, the evidence it rests on ("aligned" or "hash") and the alignment used.

    An alignment counts with enough inliers over enough compared tiles; the best counting one
    gives the score. Without one, a hash-only score: 0.5 at the PDQ threshold distance, and
    none at all when either image is too plain for its PDQ hash to mean anything (``pdq_quality``,
    the lower of the two, under 50): two blank white images are not copies of each other.
    """
    t = thresholds
    usable = [a for a in found if a.inliers >= t.min_inliers and a.tiles >= t.min_tiles]
    best = max(usable, key=lambda a: (round(a.correlation, 6), a.inliers), default=None)
    hash_score = (
        _sigmoid((t.pdq_distance + 0.5 - pdq_distance) / 2.0)
        if pdq_quality >= MIN_PDQ_QUALITY
        else 0.0
    )
    if best is not None:
        aligned = _sigmoid(t.slope * (best.correlation - t.correlation))
        if aligned >= hash_score:
            return aligned, "aligned", best
    shown = max(found, key=lambda a: (a.inliers, a.correlation), default=None)
    return hash_score, "hash", shown


def compare(
    a: Fingerprint, b: Fingerprint, thresholds: ImageThresholds = ImageThresholds()
) -> ImageMatch:
    """Score two fingerprints against each other; symmetric in ``a`` and ``b``."""
    pdq = hashes.hamming(a.pdq, b.pdq)
    quality = min(a.pdq_quality, b.pdq_quality)
    value, basis, alignment = score(alignments(a, b), pdq, thresholds, quality)
    return ImageMatch(-1, value, _detail(alignment, a, b, pdq, basis, thresholds))


def _detail(
    alignment: Alignment | None,
    query: Fingerprint,
    owned: Fingerprint,
    pdq: int,
    basis: str,
    t: ImageThresholds,
) -> dict[str, object]:
    detail: dict[str, object] = {
        "basis": basis,
        "phash_distance": hashes.hamming(query.phash, owned.phash),
        "edge_hash_distance": hashes.hamming(query.edge_hash, owned.edge_hash),
        "pdq_distance": pdq,
        "thresholds": {
            "correlation": t.correlation,
            "min_inliers": t.min_inliers,
            "pdq_distance": t.pdq_distance,
        },
    }
    if alignment:
        detail.update(alignment.as_dict())
    return detail


def match(
    query: Fingerprint,
    index: ImageIndex,
    fetch: Callable[[int], Fingerprint | None],
    thresholds: ImageThresholds = ImageThresholds(),
    *,
    min_score: float = 0.0,
) -> list[ImageMatch]:
    """Verify the index's candidates for ``query``; matches at or above ``min_score``, best first.

    ``fetch`` returns an owned image's full fingerprint by key (from the store). Only the
    orientations the index voted for are verified, which halves the work; ``compare`` tries
    both and is exactly symmetric.
    """
    found = []
    for key, orientations in index.candidates(query, limit=thresholds.candidates):
        owned = fetch(key)
        if owned is None:
            continue
        pdq = hashes.hamming(query.pdq, owned.pdq)
        quality = min(query.pdq_quality, owned.pdq_quality)
        value, basis, alignment = score(
            alignments(query, owned, orientations), pdq, thresholds, quality
        )
        if value >= min_score:
            found.append(
                ImageMatch(key, value, _detail(alignment, query, owned, pdq, basis, thresholds))
            )
    return sorted(found, key=lambda m: -m.score)
