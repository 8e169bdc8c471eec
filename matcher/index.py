"""Candidate search over every owned image: descriptor votes for crops and collages, hashes for the rest.

Verifying a listing image against 10,000 owned photos one by one would take seconds, so the
index nominates a few candidates first:

- each query descriptor (as shown and mirrored) finds its nearest owned descriptor in a faiss
  binary index (exact ``IndexBinaryFlat`` while small, ``IndexBinaryIVF`` past ``IVF_FROM``
  descriptors), and votes for that descriptor's image: a 35 % crop or one cell of a collage
  still carries a large share of the photo's descriptors;
- pHash, edge hash and PDQ neighbours (vectorised XOR and popcount) add near-duplicates whose
  features are few (plain, textureless products).

Only the strongest ``PER_IMAGE`` descriptors of each owned photo are indexed, which bounds memory
(about 10 KB a photo); verification then uses the full fingerprint from the store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import faiss
import numpy as np

from matcher.fingerprint import Fingerprint

PER_IMAGE = 256
QUERY_DESCRIPTORS = 600  # per orientation: all of them
VOTE_DISTANCE = 64  # bits of 256: nearer descriptors vote
IVF_FROM = 400_000
PHASH_CANDIDATE = 12
PDQ_CANDIDATE = 70


class ImageIndex:
    """Owned images by key (asset id): hashes in numpy arrays, descriptors in a faiss index."""

    def __init__(self) -> None:
        self.keys: list[int] = []
        self._phash = np.zeros(0, np.uint64)
        self._edge = np.zeros(0, np.uint64)
        self._pdq = np.zeros((0, 32), np.uint8)
        self._owner = np.zeros(0, np.int32)
        self._descriptors: list[np.ndarray] = []
        self._faiss: faiss.IndexBinary | None = None

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def build(cls, items: Iterable[tuple[int, Fingerprint]]) -> ImageIndex:
        """An index of ``(key, fingerprint)`` pairs; rebuilt whole when the owned set changes."""
        index = cls()
        phash, edge, pdq, owner, desc = [], [], [], [], []
        for key, fp in items:
            row = len(index.keys)
            index.keys.append(key)
            phash.append(fp.phash)
            edge.append(fp.edge_hash)
            pdq.append(np.frombuffer(fp.pdq, np.uint8))
            d = fp.features.descriptors[:PER_IMAGE]
            desc.append(d)
            owner.append(np.full(len(d), row, np.int32))
        if not index.keys:
            return index
        index._phash = np.array(phash, np.uint64)
        index._edge = np.array(edge, np.uint64)
        index._pdq = np.stack(pdq)
        index._owner = np.concatenate(owner)
        alld = np.ascontiguousarray(np.concatenate(desc))
        index._faiss = _descriptor_index(alld)
        return index

    def memory_bytes(self) -> int:
        """Bytes held for the owned images (hashes, descriptors, ids), for the benchmark."""
        n = len(self._owner)
        return int(self._phash.nbytes * 2 + self._pdq.nbytes + n * (32 + 4 + 8))

    def candidates(self, query: Fingerprint, *, limit: int = 5) -> list[int]:
        """Keys of the owned images most likely copied in ``query``, best first."""
        if not self.keys:
            return []
        votes: Counter[int] = Counter()
        for feats in (query.features, query.mirrored):
            d = np.ascontiguousarray(feats.descriptors[:QUERY_DESCRIPTORS])
            if len(d) == 0 or self._faiss is None:
                continue
            dist, nn = self._faiss.search(d, 1)
            hit = (dist[:, 0] <= VOTE_DISTANCE) & (nn[:, 0] >= 0)
            votes.update(self._owner[nn[hit, 0]].tolist())
        rows = [row for row, n in votes.most_common(limit) if n >= 3]
        for row in self.hash_neighbours(query):
            if row not in rows:
                rows.append(row)
        return [self.keys[r] for r in rows]

    def hash_neighbours(self, query: Fingerprint, *, limit: int = 3) -> list[int]:
        """Rows whose pHash, edge hash or PDQ is near the query's, nearest first."""
        ph = np.bitwise_count(self._phash ^ np.uint64(query.phash))
        eh = np.bitwise_count(self._edge ^ np.uint64(query.edge_hash))
        pq = np.bitwise_count(self._pdq ^ np.frombuffer(query.pdq, np.uint8)).sum(axis=1)
        near = (ph <= PHASH_CANDIDATE) | (eh <= PHASH_CANDIDATE) | (pq <= PDQ_CANDIDATE)
        rows = np.flatnonzero(near)
        return rows[np.argsort(pq[rows], kind="stable")][:limit].tolist()

    def pdq_distance(self, key: int, query: Fingerprint) -> int:
        row = self.keys.index(key)
        return int(np.bitwise_count(self._pdq[row] ^ np.frombuffer(query.pdq, np.uint8)).sum())


def _descriptor_index(descriptors: np.ndarray) -> faiss.IndexBinary:
    n = len(descriptors)
    if n < IVF_FROM:
        flat = faiss.IndexBinaryFlat(256)
        flat.add(descriptors)
        return flat
    nlist = int(4 * np.sqrt(n))
    quantizer = faiss.IndexBinaryFlat(256)
    ivf = faiss.IndexBinaryIVF(quantizer, 256, nlist)
    rng = np.random.default_rng(0)
    sample = descriptors[rng.choice(n, size=min(n, nlist * 40), replace=False)]
    ivf.train(sample)
    ivf.add(descriptors)
    ivf.nprobe = 16
    ivf.own_fields = True
    ivf._quantizer = quantizer  # keep the quantizer alive as long as the index
    return ivf


def brute_force_hamming(hashes: np.ndarray, query: int, radius: int) -> np.ndarray:
    """Rows of a uint64 hash array within ``radius`` bits of ``query`` (numpy XOR + popcount)."""
    return np.flatnonzero(np.bitwise_count(hashes ^ np.uint64(query)) <= radius)
