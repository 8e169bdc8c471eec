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

# Parallelism is by processes (one matcher per core); faiss's own OpenMP threads on top of that
# oversubscribe the cores: measured on 2 cores, a self-check's searches ran 5 times slower.
faiss.omp_set_num_threads(1)

PER_IMAGE = 224
QUERY_DESCRIPTORS = 600  # per orientation: all (a collage cell holds a quarter of them)
MIN_VOTES = 3
VOTE_DISTANCE = 64  # bits of 256: nearer descriptors vote
IVF_FROM = 100_000
PHASH_CANDIDATE = 12
PDQ_CANDIDATE = 70


class ImageIndex:
    """Owned images by key (asset id): hashes in numpy arrays, descriptors in a faiss index."""

    def __init__(self) -> None:
        self.keys: list[int] = []
        self._phash = np.zeros(0, np.uint64)
        self._edge = np.zeros(0, np.uint64)
        self._pdq = np.zeros((0, 32), np.uint8)
        self._owner: np.ndarray | None = None
        self._descriptors: list[np.ndarray] = []
        self._faiss: faiss.IndexBinary | None = None

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def build(cls, items: Iterable[tuple[int, Fingerprint]]) -> ImageIndex:
        """An index of ``(key, fingerprint)`` pairs; rebuilt whole when the owned set changes."""
        return cls.build_from_parts(
            (key, fp.phash, fp.edge_hash, fp.pdq, index_descriptors(fp)) for key, fp in items
        )

    @classmethod
    def build_from_parts(
        cls, items: Iterable[tuple[int, int, int, bytes, np.ndarray]]
    ) -> ImageIndex:
        """An index from stored parts: key, pHash, edge hash, PDQ, indexed descriptors.

        This is what the store keeps in columns, so loading needs no fingerprint decoding.
        """
        index = cls()
        phash, edge, pdq, owner, desc = [], [], [], [], []
        for key, ph, eh, pq, d in items:
            row = len(index.keys)
            index.keys.append(key)
            phash.append(ph)
            edge.append(eh)
            pdq.append(np.frombuffer(pq, np.uint8))
            desc.append(d)
            owner.append(np.full(len(d), row, np.int32))
        if not index.keys:
            return index
        index._phash = np.array(phash, np.uint64)
        index._edge = np.array(edge, np.uint64)
        index._pdq = np.stack(pdq)
        owners = np.concatenate(owner)
        index._faiss = _descriptor_index(np.ascontiguousarray(np.concatenate(desc)), owners)
        # A flat index numbers descriptors 0..n-1 and needs the owner array; the IVF index
        # stores each descriptor's owner as its id.
        index._owner = owners if isinstance(index._faiss, faiss.IndexBinaryFlat) else None
        return index

    def memory_bytes(self) -> int:
        """Bytes held for the owned images (hashes, descriptors, ids), for the benchmark."""
        if self._faiss is None:
            return 0
        n = self._faiss.ntotal
        per_descriptor = 32 + (4 if self._owner is not None else 8)
        lists = 0 if self._owner is not None else self._faiss.nlist * (32 + 64)
        return int(self._phash.nbytes * 2 + self._pdq.nbytes + n * per_descriptor + lists)

    def candidates(
        self, query: Fingerprint, *, limit: int = 5
    ) -> list[tuple[int, tuple[bool, ...]]]:
        """Owned images most likely copied in ``query``, best first, each with the orientations
        (False: as shown, True: mirrored) worth verifying."""
        if not self.keys:
            return []
        votes: dict[bool, Counter[int]] = {False: Counter(), True: Counter()}
        for mirrored, feats in ((False, query.features), (True, query.mirrored)):
            d = np.ascontiguousarray(feats.descriptors[:QUERY_DESCRIPTORS])
            if len(d) == 0 or self._faiss is None:
                continue
            dist, nn = self._faiss.search(d, 1)
            hit = (dist[:, 0] <= VOTE_DISTANCE) & (nn[:, 0] >= 0)
            rows = nn[hit, 0] if self._owner is None else self._owner[nn[hit, 0]]
            votes[mirrored].update(rows.tolist())
        total = votes[False] + votes[True]
        found: dict[int, tuple[bool, ...]] = {}
        for row, n in total.most_common(limit):
            if n < MIN_VOTES:
                break
            best = max(votes[False][row], votes[True][row])
            # an orientation is verified when it drew at least a third of the leading one's votes
            found[row] = tuple(m for m in (False, True) if votes[m][row] * 3 >= best)
        for row in self.hash_neighbours(query):
            found.setdefault(row, (False, True))
        return [(self.keys[r], o) for r, o in found.items()]

    def hash_neighbours(self, query: Fingerprint, *, limit: int = 3) -> list[int]:
        """Rows whose pHash, edge hash or PDQ is near the query's, nearest first."""
        ph = hamming_distances(self._phash, query.phash)
        eh = hamming_distances(self._edge, query.edge_hash)
        pq = np.bitwise_count(self._pdq ^ np.frombuffer(query.pdq, np.uint8)).sum(axis=1)
        near = (ph <= PHASH_CANDIDATE) | (eh <= PHASH_CANDIDATE) | (pq <= PDQ_CANDIDATE)
        rows = np.flatnonzero(near)
        return rows[np.argsort(pq[rows], kind="stable")][:limit].tolist()


def index_descriptors(fp: Fingerprint) -> np.ndarray:
    """The descriptors of an owned photo that go into the index: its strongest, as shown."""
    return np.ascontiguousarray(fp.features.descriptors[:PER_IMAGE])


def _descriptor_index(descriptors: np.ndarray, owners: np.ndarray) -> faiss.IndexBinary:
    """Exact search while small; past that an inverted file whose lists are centred on
    descriptors drawn at random (k-means training took 40 s for 10,000 photos, and changed
    little: binary descriptors of photos spread evenly enough)."""
    n = len(descriptors)
    if n < IVF_FROM:
        flat = faiss.IndexBinaryFlat(256)
        flat.add(descriptors)
        return flat
    nlist = int(min(4096, 4 * np.sqrt(n)))
    rng = np.random.default_rng(0)
    quantizer = faiss.IndexBinaryFlat(256)
    quantizer.add(np.ascontiguousarray(descriptors[rng.choice(n, size=nlist, replace=False)]))
    ivf = faiss.IndexBinaryIVF(quantizer, 256, nlist)
    ivf.is_trained = True
    ivf.add_with_ids(descriptors, owners.astype(np.int64))
    ivf.nprobe = 8
    ivf._quantizer = quantizer  # keep the quantizer alive as long as the index
    return ivf


def hamming_distances(hashes: np.ndarray, query: int) -> np.ndarray:
    """Bits between ``query`` and every 64-bit hash of an array (numpy XOR + popcount)."""
    return np.bitwise_count(hashes ^ np.uint64(query))


def brute_force_hamming(hashes: np.ndarray, query: int, radius: int) -> np.ndarray:
    """Rows of a uint64 hash array within ``radius`` bits of ``query``."""
    return np.flatnonzero(hamming_distances(hashes, query) <= radius)
