"""Where a seller's listing photo comes from: its own, licensed, someone else's, or unknown.

Each distinct photo (by SHA-256) is read once, fingerprinted once — in the process pool, and
kept in the store, so a photo used by many listings or checked again costs nothing — and then
looked up twice: among the registered assets (owned, licensed, third-party), and among the
photos captured from other sellers' listings by sweeps. A photo that matches an asset is
judged by that asset's rights; one that matches only another seller's listing was taken from
that listing; one that matches nothing has an unknown source.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlite_utils import Database

from listingguard import imaging, store
from listingguard.allowlist import authorised_seller
from listingguard.config import Config, load
from listingguard.files import FileRefused, read_regular
from matcher import fingerprint as fp_mod
from matcher.fingerprint import Fingerprint
from matcher.hashes import from_signed
from matcher.imagematch import ImageMatch, ImageThresholds, match
from matcher.index import ImageIndex

FETCH_TIMEOUT = 20.0  # seconds without a byte
FETCH_DEADLINE = 60.0  # seconds for one photo in all
FETCH_THREADS = 8
USER_AGENT = "listingguard-selfcheck (own listing photos)"


@dataclass
class Photo:
    """One image reference of a listing and what was found of it."""

    ref: str
    sha256: str | None = None
    error: str | None = None
    source: str = "unknown"  # owned, licensed, third_party, captured, unknown, error
    matches: list[dict[str, Any]] = field(default_factory=list)  # best first
    data: bytes | None = None  # kept only for the HTML report's thumbnails


def _fetch(url: str, limit: int) -> bytes:
    """An image URL's bytes (http and https only), refusing bodies over ``limit`` and any
    fetch that takes longer than ``FETCH_DEADLINE`` in all (a server trickling bytes)."""
    deadline = time.monotonic() + FETCH_DEADLINE
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    chunks, size = [], 0
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:
            while chunk := response.read(64 * 1024):
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    raise FileRefused(f"larger than {limit:,} bytes")
                if time.monotonic() > deadline:
                    raise FileRefused(f"{url} took more than {FETCH_DEADLINE:.0f} s")
    except urllib.error.HTTPError as exc:
        raise FileRefused(f"HTTP {exc.code} from {url}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FileRefused(f"cannot fetch {url}: {reason}") from None
    return b"".join(chunks)


def _reads(
    keys: Iterable[tuple[str, Path]], limit: int
) -> Iterator[tuple[tuple[str, Path], bytes | FileRefused]]:
    """The bytes of each reference, in order, read by a few threads ahead of the consumer (a
    sheet of photo URLs would otherwise wait for each server in turn)."""
    ahead: deque[tuple[tuple[str, Path], Future]] = deque()

    def one(key: tuple[str, Path]) -> bytes | FileRefused:
        try:
            return read_image(key[0], key[1], limit)
        except FileRefused as exc:
            return exc

    with ThreadPoolExecutor(FETCH_THREADS) as pool:
        for key in keys:
            ahead.append((key, pool.submit(one, key)))
            if len(ahead) >= 4 * FETCH_THREADS:
                k, job = ahead.popleft()
                yield k, job.result()
        while ahead:
            k, job = ahead.popleft()
            yield k, job.result()


def read_image(ref: str, base: Path, limit: int) -> bytes:
    """The bytes of an image given by path (relative to the listing file) or http(s) URL."""
    if ref[:8].casefold().startswith(("http://", "https://")):
        return _fetch(ref, limit)
    if "://" in ref:
        raise FileRefused("only file paths and http(s) URLs are read")
    path = Path(ref).expanduser()
    path = path if path.is_absolute() else base / path
    try:
        return read_regular(path, limit)
    except FileNotFoundError:
        raise FileRefused(f"no such file: {path}") from None
    except OSError as exc:
        raise FileRefused(f"cannot read {path}: {exc.strerror or exc}") from None


class Captured:
    """An index of the photos of listings that sweeps captured: a photo found in another
    seller's listing was taken from it; one found in a listing of the owner's own shops or
    authorised sellers (``own``) is the owner's."""

    def __init__(self, db: Database, config: Config) -> None:
        self.db = db
        rows = db.query(
            "SELECT i.sha256, f.phash, f.edge_hash, f.pdq, f.descriptors, "
            "l.id AS listing, l.marketplace, l.url, l.seller_id, l.seller_name, l.seller_url, "
            "l.title FROM listing_images li JOIN images i ON i.sha256 = li.image_sha256 "
            "JOIN fingerprints f ON f.sha256 = i.sha256 AND f.version = ? "
            "JOIN listings l ON l.id = li.listing_id ORDER BY l.first_seen, l.id",
            [fp_mod.VERSION],
        )
        self.keys: list[str] = []
        self._fetched: dict[int, Fingerprint | None] = {}
        self.listings: dict[str, dict[str, Any]] = {}
        parts = []
        for r in rows:
            own = authorised_seller(config, r) is not None
            known = self.listings.get(r["sha256"])
            if known is not None:
                known["own"] = known["own"] or own  # the owner's shop shows it too
                continue
            self.listings[r["sha256"]] = {
                k: r[k]
                for k in ("listing", "marketplace", "url", "seller_id", "seller_name", "title")
            } | {"own": own}
            parts.append(
                (
                    len(self.keys),
                    from_signed(r["phash"]),
                    from_signed(r["edge_hash"]),
                    r["pdq"],
                    np.frombuffer(r["descriptors"], np.uint8).reshape(-1, 32),
                )
            )
            self.keys.append(r["sha256"])
        self.index = ImageIndex.build_from_parts(parts)

    def __len__(self) -> int:
        return len(self.keys)

    def match(self, query: Fingerprint, thresholds: ImageThresholds) -> list[ImageMatch]:
        if not self.keys:
            return []
        return match(query, self.index, self._fetch, thresholds, min_score=0.5)

    def _fetch(self, key: int) -> Fingerprint | None:
        """A captured photo's full fingerprint, kept once loaded (the same few are verified
        against many of the seller's photos)."""
        if key not in self._fetched:
            if len(self._fetched) >= imaging.FETCHED_LIMIT:
                self._fetched.pop(next(iter(self._fetched)))
            self._fetched[key] = imaging.load_fingerprint(self.db, self.keys[key])
        return self._fetched[key]


class PhotoSources:
    """Registered assets and captured listing photos, built once per process that matches."""

    def __init__(self, db: Database, config: Config) -> None:
        self.db = db
        self.config = config
        self.thresholds = imaging.thresholds_from(config)
        self.assets = imaging.OwnedImages(db)
        self.captured = Captured(db, config)
        self.rows = {
            r["id"]: r
            for r in db.query(
                "SELECT id, name, rights, path, sha256, licensor, territories, platforms, "
                "licence_expires FROM assets WHERE kind IN ('image', 'logo')"
            )
        }

    def judge(self, fp: Fingerprint) -> tuple[str, list[dict[str, Any]]]:
        """(source, matches best first) of one photo's fingerprint."""
        found = self.assets.match(fp, self.thresholds, min_score=0.5)
        if found:
            matches = [self._asset_match(m) for m in found[:3]]
            return matches[0]["rights"], matches
        taken = [
            {"listing": self.captured.listings[sha], "sha256": sha,
             "score": round(m.score, 4), "detail": m.detail}
            for m in self.captured.match(fp, self.thresholds)
            for sha in (self.captured.keys[m.key],)
        ]  # fmt: skip
        own = [t for t in taken if t["listing"]["own"]]
        if own:  # shown in the owner's own shop listing: the owner's photo
            return "owned", own[:1]
        return ("captured", taken[:1]) if taken else ("unknown", [])

    def _asset_match(self, m: ImageMatch) -> dict[str, Any]:
        row = self.rows[m.key]
        return {
            "asset": row["name"],
            "asset_id": m.key,
            "rights": row["rights"],
            "path": row["path"],
            "sha256": row["sha256"],
            "score": round(m.score, 4),
            "detail": m.detail,
            "licence": _licence(row) if row["rights"] == "licensed" else None,
        }


_WORKER: dict[str, Any] = {}


def judge(config_path: str, sha: str, data: bytes | None) -> tuple[Any, str, list[dict]] | str:
    """Fingerprint (unless stored) and judge one photo; runs in a worker, which builds the
    indexes once. Returns (the analysis to store or None, source, matches), or why the photo
    was refused."""
    if _WORKER.get("path") != config_path:
        config = load(Path(config_path))
        db = store.open_store(config.workspace.database)
        _WORKER.update(path=config_path, db=db, sources=PhotoSources(db, config), config=config)
    sources: PhotoSources = _WORKER["sources"]
    analysis = None
    fp = imaging.load_fingerprint(_WORKER["db"], sha) if data is None else None
    if fp is None:
        if data is None:
            return "its fingerprint is gone from the store; check it again"
        limits = _WORKER["config"].assets
        analysis = imaging.analyse(data, limits.max_image_bytes, limits.max_image_pixels)
        if isinstance(analysis, str):
            return analysis
        fp = Fingerprint.from_bytes(analysis.data)
    source, matches = sources.judge(fp)
    return analysis, source, matches


def look_up(
    db: Database,
    config: Config,
    refs: Iterable[tuple[str, Path]],
    executor: Executor | None,
    *,
    keep_data: bool = False,
) -> dict[tuple[str, Path], Photo]:
    """Every distinct reference read once, and every distinct photo fingerprinted (unless
    stored) and judged once, in the pool; fingerprints are stored for the next run."""
    limits = config.assets
    path = str(Path(config.path).resolve())
    photos: dict[tuple[str, Path], Photo] = {}
    first: dict[str, Photo] = {}

    def start(key: tuple[str, Path], data: bytes | FileRefused) -> tuple[Any, ...]:
        photo = Photo(key[0])
        photos[key] = photo
        if isinstance(data, FileRefused):
            photo.error, photo.source = str(data), "error"
            return (photo, None)
        photo.sha256 = hashlib.sha256(data).hexdigest()
        if keep_data:
            photo.data = data
        if photo.sha256 in first:
            return (photo, first[photo.sha256])
        first[photo.sha256] = photo
        stored = imaging.has_fingerprint(db, photo.sha256)
        return (
            photo,
            imaging.run_in(executor, judge, path, photo.sha256, None if stored else data),
        )

    def finish(photo: Photo, job: Any) -> None:
        if job is None:
            return
        if isinstance(job, Photo):  # the same bytes as an earlier reference, judged before
            photo.source, photo.matches, photo.error = job.source, job.matches, job.error
            return
        result = imaging.outcome(job)
        if isinstance(result, str):
            photo.error, photo.source = result, "error"
            return
        analysis, photo.source, photo.matches = result
        if analysis is not None:
            imaging.save(db, photo.sha256 or "", analysis)

    # Jobs finish in the order they started, so a reference whose bytes an earlier one had is
    # finished after that one was judged.
    reads = _reads(dict.fromkeys(refs), limits.max_image_bytes)
    for _ in imaging.in_order((start(k, data) for k, data in reads), finish, executor):
        pass
    return photos


def _licence(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "licensor": row["licensor"],
        "territories": json.loads(row["territories"] or "[]"),
        "platforms": json.loads(row["platforms"] or "[]"),
        "expires": row["licence_expires"],
    }
