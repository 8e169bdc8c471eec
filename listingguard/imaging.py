"""Images between the store and the matcher: analyse files in worker processes, build the owned index, match.

Decoding and fingerprinting are CPU-bound (about 30 ms a photo), so they run in a process pool
over all cores; the store is written by the main process only (one writer, as SQLite wants).
"""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from sqlite_utils import Database

from listingguard import store
from listingguard.files import FileRefused, read_regular
from matcher import fingerprint as fp_mod
from matcher.fingerprint import Fingerprint, fingerprint
from matcher.hashes import from_signed, to_signed
from matcher.imagefile import ImageRejected, decode
from matcher.imagematch import ImageMatch, ImageThresholds, match
from matcher.index import ImageIndex, index_descriptors

R = TypeVar("R")
DECODE_SIDE = 640
FETCHED_LIMIT = 4096  # owned fingerprints kept in memory (~40 KB each)  # JPEG draft decoding down to at least the size features are found at


@dataclass(frozen=True)
class Analysis:
    """What a worker learnt of an image: its media facts and its stored fingerprint."""

    media: dict[str, Any]
    data: bytes
    phash: int
    edge_hash: int
    pdq: bytes
    descriptors: bytes  # what the index holds of the image


def analyse(data: bytes, max_bytes: int, max_pixels: int) -> Analysis | str:
    """Decode (safely) and fingerprint image bytes; a one-line reason when the image is refused.

    Runs in worker processes: it takes and returns plain data only.
    """
    try:
        rgb, info = decode(data, max_bytes=max_bytes, max_pixels=max_pixels, max_side=DECODE_SIDE)
        fp = fingerprint(np.asarray(rgb))
    except ImageRejected as exc:
        return exc.reason
    except Exception as exc:  # the worker boundary: any failure is this file's
        return f"could not be analysed ({type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''})"
    return Analysis(
        info.as_dict(),
        fp.to_bytes(),
        fp.phash,
        fp.edge_hash,
        fp.pdq,
        index_descriptors(fp).tobytes(),
    )


def save(db: Database, sha256: str, analysis: Analysis) -> None:
    store.save_fingerprint(
        db,
        sha256,
        version=fp_mod.VERSION,
        phash=to_signed(analysis.phash),
        edge_hash=to_signed(analysis.edge_hash),
        pdq=analysis.pdq,
        descriptors=analysis.descriptors,
        data=analysis.data,
    )


def outcome(job: Future | Analysis | str) -> Analysis | str:
    """The result of an analysis run in a pool; a pool that died (a worker killed by the
    system, a native crash) becomes a refusal of this file, not the end of the command."""
    if not isinstance(job, Future):
        return job
    try:
        return job.result()
    except Exception as exc:  # BrokenProcessPool and anything a worker raised
        return f"could not be analysed ({type(exc).__name__})"


def run_in(executor: Executor | None, fn: Callable[..., R], *args: Any) -> Future | R:
    """``fn(*args)`` in ``executor`` (a Future), or here when there is none or it has broken down."""
    if executor is not None:
        try:
            return executor.submit(fn, *args)
        except RuntimeError:  # BrokenProcessPool, or a pool shut down: carry on in this process
            pass
    return fn(*args)


def submit(executor: Executor | None, data: bytes, limits: Any) -> Future | Analysis | str:
    """Analyse in ``executor`` (or here when there is none, or it has broken down)."""
    return run_in(executor, analyse, data, limits.max_image_bytes, limits.max_image_pixels)


@contextmanager
def workers(n: int | None = None) -> Iterator[Executor | None]:
    """A process pool over ``n`` (default: all) cores, or None where one core would do."""
    n = n or os.cpu_count() or 1
    if n <= 1:
        yield None
        return
    # Not fork: a process with threads (the demo's HTTP server, a live progress display) can
    # fork while another thread holds a lock, and the child then waits on it for ever.
    with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("forkserver")) as pool:
        yield pool


def in_order(
    jobs: Iterable[tuple[Any, ...]], finish: Callable[..., R], executor: Executor | None
) -> Iterator[R]:
    """``finish(*job)`` for every job, in the order given, while the pool works ahead.

    A job whose last item is a Future is still running; up to four per worker are kept in
    flight, and a finished job at the head is handed on at once.
    """
    pending: deque[tuple[Any, ...]] = deque()
    depth = 4 * getattr(executor, "_max_workers", 1)
    for job in jobs:
        pending.append(job)
        while pending and (len(pending) > depth or not isinstance(pending[0][-1], Future)):
            yield finish(*pending.popleft())
    while pending:
        yield finish(*pending.popleft())


def has_fingerprint(db: Database, sha256: str) -> bool:
    """Whether a fingerprint of the current recipe is stored (without loading it)."""
    return store.fingerprint_data(db, sha256, fp_mod.VERSION, exists=True) is not None


def load_fingerprint(db: Database, sha256: str) -> Fingerprint | None:
    data = store.fingerprint_data(db, sha256, fp_mod.VERSION)
    return Fingerprint.from_bytes(data) if data else None


def missing_fingerprints(db: Database) -> list[dict[str, Any]]:
    """Image assets in service whose fingerprint is absent or of an older recipe."""
    return list(
        db.query(
            "SELECT a.id, a.sha256, a.path FROM assets a LEFT JOIN fingerprints f "
            "ON f.sha256 = a.sha256 AND f.version = ? "
            "WHERE a.kind IN ('image', 'logo') AND a.retired_at IS NULL AND f.sha256 IS NULL",
            [fp_mod.VERSION],
        )
    )


class OwnedImages:
    """The index of every image asset in service, with their fingerprints loaded on demand."""

    def __init__(self, db: Database) -> None:
        self.db = db
        rows = list(
            db.query(
                "SELECT a.id, a.name, a.rights, a.kind, a.sha256, a.product_id, "
                "f.phash, f.edge_hash, f.pdq, f.descriptors "
                "FROM assets a JOIN fingerprints f ON f.sha256 = a.sha256 AND f.version = ? "
                "WHERE a.kind IN ('image', 'logo') AND a.retired_at IS NULL ORDER BY a.id",
                [fp_mod.VERSION],
            )
        )
        self._fetched: dict[int, Fingerprint | None] = {}
        keep = ("id", "name", "rights", "kind", "sha256", "product_id")
        self.assets = {r["id"]: {k: r[k] for k in keep} for r in rows}
        self.index = ImageIndex.build_from_parts(
            (
                r["id"],
                from_signed(r["phash"]),
                from_signed(r["edge_hash"]),
                r["pdq"],
                np.frombuffer(r["descriptors"], np.uint8).reshape(-1, 32),
            )
            for r in rows
        )

    def fetch(self, key: int) -> Fingerprint | None:
        """An owned photo's full fingerprint; kept once loaded, since a sweep verifies the same
        few owned photos against thousands of listing images."""
        if key in self._fetched:
            return self._fetched[key]
        asset = self.assets.get(key)
        fp = load_fingerprint(self.db, asset["sha256"]) if asset else None
        if len(self._fetched) >= FETCHED_LIMIT:
            self._fetched.pop(next(iter(self._fetched)))
        self._fetched[key] = fp
        return fp

    def match(
        self, query: Fingerprint, thresholds: ImageThresholds, min_score: float = 0.0
    ) -> list[ImageMatch]:
        return match(query, self.index, self.fetch, thresholds, min_score=min_score)


def thresholds_from(config: Any) -> ImageThresholds:
    """The matcher's thresholds from ``[matching.image]`` of config.toml."""
    return ImageThresholds(**dataclasses.asdict(config.matching.image))


def backfill(db: Database, limits: Any, executor: Executor | None = None) -> list[str]:
    """Fingerprint image assets registered before fingerprints existed (or of an older recipe).

    Returns one problem line per asset whose file is gone or no longer decodes; those stay
    out of the index until added again.
    """
    problems = []
    for row in missing_fingerprints(db):
        try:
            data = read_regular(row["path"], limits.max_image_bytes)
        except (OSError, FileRefused, TypeError) as exc:
            problems.append(f"asset {row['id']}: cannot read {row['path']}: {exc}; add it again")
            continue
        if hashlib.sha256(data).hexdigest() != row["sha256"]:
            problems.append(
                f"asset {row['id']}: {row['path']} has changed since it was registered; "
                "add the original again"
            )
            continue
        result = outcome(submit(executor, data, limits))
        if isinstance(result, str):
            problems.append(f"asset {row['id']}: {row['path']}: {result}")
            continue
        save(db, row["sha256"], result)
    return problems


def match_files(
    db: Database,
    paths: list[str],
    owned: OwnedImages,
    thresholds: ImageThresholds,
    *,
    limits: Any,
    min_score: float,
    executor: Executor | None = None,
) -> Iterator[dict[str, Any]]:
    """One result per file, in order: its SHA-256 and the owned images it copies, best first.

    Each file's fingerprint is stored by SHA-256, so matching it again costs no decoding.
    """

    def finish(path: str, *state: Any) -> dict[str, Any]:
        if len(state) == 1:  # the file could not be read
            return {"file": path, "error": state[0], "matches": []}
        sha, result = state
        if not isinstance(result, Fingerprint):
            result = outcome(result)
        if isinstance(result, str):
            return {"file": path, "sha256": sha, "error": result, "matches": []}
        if isinstance(result, Analysis):
            save(db, sha, result)
            result = Fingerprint.from_bytes(result.data)
        found = owned.match(result, thresholds, min_score=min_score)
        return {"file": path, "sha256": sha, "matches": [_as_json(m, owned) for m in found]}

    def start(path: str) -> tuple[Any, ...]:
        try:
            data = read_regular(path, limits.max_image_bytes)
        except FileRefused as exc:
            return (path, str(exc))
        except OSError as exc:
            return (path, exc.strerror or str(exc))
        sha = hashlib.sha256(data).hexdigest()
        stored = load_fingerprint(db, sha)
        return (path, sha, stored if stored is not None else submit(executor, data, limits))

    return in_order((start(p) for p in paths), finish, executor)


def _as_json(m: ImageMatch, owned: OwnedImages) -> dict[str, Any]:
    asset = owned.assets[m.key]
    return {
        "asset": asset["name"],
        "asset_id": m.key,
        "rights": asset["rights"],
        "kind": "image_copy",
        "score": round(m.score, 4),
        "detail": m.detail,
    }
