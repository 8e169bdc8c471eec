"""The matching stage of a sweep: stored listings in, findings out.

It runs after the crawl, over what is new: images without a fingerprint are decoded and
fingerprinted once per SHA-256 (however many listings show them), then listings that are new
or changed since they were last matched (``matched_at`` is empty) are matched against the
owner's marks, copy and photos. Both steps run in a process pool; only this process writes.

A listing's findings and its ``matched_at`` are written in one transaction, and findings are
upserted by listing, asset and kind, so a stage killed and run again neither loses nor
duplicates a finding. Listings of authorised sellers get their findings marked ``authorised``:
kept as a record, never queued for review or reported.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from crawler.evidence import read_payload
from listingguard import imaging, store, texting
from listingguard.allowlist import authorised_seller
from listingguard.config import Config, load
from listingguard.explain import image_finding, text_finding
from matcher import fingerprint as fp_mod

BATCH = 25
IMAGE_CACHE = 50_000  # listing images whose matches a worker keeps (a few hundred bytes each)
Tick = Callable[[int], None]


@dataclass
class StageResult:
    images: int = 0
    image_errors: int = 0
    listings: int = 0
    new_findings: int = 0
    updated_findings: int = 0
    authorised: int = 0
    new_ids: list[int] = field(default_factory=list)


def images_to_fingerprint(db: Database) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT i.sha256, c.warc_file, c.warc_offset FROM images i "
            "JOIN captures c ON c.id = i.capture_id "
            "LEFT JOIN fingerprints f ON f.sha256 = i.sha256 AND f.version = ? "
            "WHERE f.sha256 IS NULL AND i.error IS NULL ORDER BY i.first_seen",
            [fp_mod.VERSION],
        )
    )


def fingerprint_images(
    db: Database,
    config: Config,
    executor: Executor | None,
    tick: Tick | None = None,
    stop: threading.Event | None = None,
) -> tuple[int, int]:
    """Fingerprint every stored image that has none; (fingerprinted, refused). Once ``stop``
    is set no more are started (the rest wait for the next sweep)."""
    limits = config.crawler
    root = config.workspace.evidence

    def start(row: dict[str, Any]) -> tuple[Any, ...]:
        try:
            _, data = read_payload(
                root / row["warc_file"], row["warc_offset"], limits.max_image_bytes
            )
        except (OSError, ValueError) as exc:
            return (row["sha256"], f"evidence unreadable: {exc}")
        return (row["sha256"], imaging.submit(executor, data, limits))

    def finish(sha: str, job: Any) -> bool:
        result = imaging.outcome(job)
        if isinstance(result, str):
            with store.transaction(db):
                db.execute("UPDATE images SET error = ? WHERE sha256 = ?", [result[:300], sha])
            ok = False
        else:
            imaging.save(db, sha, result)
            ok = True
        if tick:
            tick(1)
        return ok

    rows = images_to_fingerprint(db)
    done = list(imaging.in_order((start(r) for r in _until(rows, stop)), finish, executor))
    return sum(done), len(done) - sum(done)


# -- matching listings: the worker side ----------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _setup(config_path: str) -> None:
    """Load the owner's marks, copy and photo index once per worker process."""
    config = load(Path(config_path))
    db = store.open_store(config.workspace.database)
    _WORKER.update(
        config=config,
        db=db,
        text=texting.owned_text(db, config),
        images=imaging.OwnedImages(db),
        thresholds=imaging.thresholds_from(config),
    )


def _price_text(row: dict[str, Any]) -> str | None:
    if row.get("price") is None:
        return None
    return f"{row['price']} {row.get('currency') or ''}".strip()


def listing_text(row: dict[str, Any]) -> str:
    """What the text matchers read: the title, the brand as shown, the description."""
    brand = f"Brand: {row['brand']}" if row.get("brand") else ""
    return "\n".join(x for x in (row.get("title"), brand, row.get("description")) if x)


def match_batch(config_path: str, ids: list[int]) -> list[tuple[int, list[dict[str, Any]]]]:
    """The findings of each listing in ``ids`` (runs in a worker; plain data in and out)."""
    if _WORKER.get("path") != config_path:
        _setup(config_path)
        _WORKER["path"] = config_path
    config: Config = _WORKER["config"]
    db: Database = _WORKER["db"]
    marks = ",".join("?" for _ in ids)
    rows = {r["id"]: r for r in db.query(f"SELECT * FROM listings WHERE id IN ({marks})", ids)}
    images: dict[int, list[str]] = {}
    for lid, sha in db.execute(
        f"SELECT listing_id, image_sha256 FROM listing_images WHERE listing_id IN ({marks}) "
        "ORDER BY listing_id, position",
        ids,
    ):
        images.setdefault(lid, []).append(sha)
    out = []
    for lid in ids:
        row = rows.get(lid)
        if row is None:
            continue
        out.append((lid, _match_listing(config, row, images.get(lid, []))))
    return out


def _match_listing(config: Config, row: dict[str, Any], shas: list[str]) -> list[dict[str, Any]]:
    min_score = config.matching.min_score
    found: dict[tuple[int | None, str], dict[str, Any]] = {}
    text = listing_text(row)
    if text:
        result = _WORKER["text"].match(
            text,
            seller=row.get("seller_name") or row.get("seller_id"),
            price=_price_text(row),
            min_score=min_score,
        )
        for m in result["matches"]:
            kind = {"trademark": "trademark", "copy": "text_copy"}.get(m["kind"])
            if kind is None:  # a mention ("compatible with") is fair use, not a finding
                continue
            own = m["detail"].get("signals", [])
            signals = own + [s for s in result["signals"] if s not in own]
            detail = {**m["detail"], "span": m.get("span"), "signals": signals}
            _keep(found, m.get("asset_id"), kind, m["score"], text_finding(m), detail)
    for sha in shas:
        for m in _image_matches(sha, min_score):
            asset = _WORKER["images"].assets[m.key]
            match = {"asset": asset["name"], "detail": m.detail}
            detail = {**m.detail, "image_sha256": sha, "rights": asset["rights"]}
            _keep(found, m.key, "image_copy", m.score, image_finding(match), detail)
    return list(found.values())


def _image_matches(sha: str, min_score: float) -> list[Any]:
    """The owned photos one listing image copies; computed once per SHA-256 and worker, as
    counterfeiters reuse one photo across many listings."""
    cache: dict[str, list[Any]] = _WORKER.setdefault("image_matches", {})
    if sha not in cache:
        fp = imaging.load_fingerprint(_WORKER["db"], sha)
        found = [] if fp is None else _WORKER["images"].match(fp, _WORKER["thresholds"], min_score)
        if len(cache) >= IMAGE_CACHE:
            cache.pop(next(iter(cache)))
        cache[sha] = found
    return cache[sha]


def _keep(
    found: dict[tuple[int | None, str], dict[str, Any]],
    asset_id: int | None,
    kind: str,
    score: float,
    explanation: str,
    detail: dict[str, Any],
) -> None:
    """One finding per asset and kind: the best-scoring evidence."""
    key = (asset_id, kind)
    if key in found and found[key]["score"] >= score:
        return
    found[key] = {
        "asset_id": asset_id,
        "kind": kind,
        "score": round(float(score), 4),
        "severity": detail.get("severity") or ("high" if score >= 0.9 else "medium"),
        "explanation": explanation,
        "detail": detail,
    }


# -- matching listings: the writer side ----------------------------------------------------------


def listings_to_match(db: Database) -> list[int]:
    return [
        r[0]
        for r in db.execute(
            "SELECT id FROM listings WHERE matched_at IS NULL AND status = 'active' ORDER BY id"
        )
    ]


def match_listings(
    db: Database,
    config: Config,
    executor: Executor | None,
    sweep_ids: dict[str, int] | None = None,
    tick: Tick | None = None,
    stop: threading.Event | None = None,
) -> StageResult:
    """Match every new or changed listing and write its findings; once ``stop`` is set no
    more batches are started (the listings left are matched by the next sweep)."""
    result = StageResult()
    ids = listings_to_match(db)
    batches = [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]
    path = str(Path(config.path).resolve())

    def start(batch: list[int]) -> tuple[Any, ...]:
        return (imaging.run_in(executor, match_batch, path, batch),)

    def finish(job: Any) -> None:
        batch = job.result() if isinstance(job, Future) else job
        for lid, findings in batch:
            _write(db, config, lid, findings, result, sweep_ids or {})
            if tick:
                tick(1)

    for _ in imaging.in_order((start(b) for b in _until(batches, stop)), finish, executor):
        pass
    return result


def _write(
    db: Database,
    config: Config,
    listing_id: int,
    findings: list[dict[str, Any]],
    result: StageResult,
    sweep_ids: dict[str, int],
) -> None:
    row = db["listings"].get(listing_id)
    entry = authorised_seller(config, row)
    with store.transaction(db):
        for f in findings:
            record = {**f, "listing_id": listing_id, "detail": json.dumps(f["detail"], default=str)}
            record["sweep_id"] = sweep_ids.get(row["marketplace"], row.get("sweep_id"))
            if entry is not None:
                record["status"] = "authorised"
                record["explanation"] += f" (authorised: {entry.name})"
            fid, created = store.save_finding(db, record)
            if entry is not None:
                db.execute("UPDATE findings SET status = 'authorised' WHERE id = ?", [fid])
                result.authorised += 1
            elif created:
                result.new_findings += 1
                result.new_ids.append(fid)
            else:
                result.updated_findings += 1
        db.execute("UPDATE listings SET matched_at = ? WHERE id = ?", [store.now(), listing_id])
    result.listings += 1


def run_stage(
    db: Database,
    config: Config,
    executor: Executor | None,
    sweep_ids: dict[str, int] | None = None,
    on_images: Tick | None = None,
    on_listings: Tick | None = None,
    stop: threading.Event | None = None,
) -> StageResult:
    done, refused = fingerprint_images(db, config, executor, on_images, stop)
    result = match_listings(db, config, executor, sweep_ids, on_listings, stop)
    result.images, result.image_errors = done, refused
    return result


def _until(items: list[Any], stop: threading.Event | None) -> Iterator[Any]:
    """``items`` one by one until ``stop`` is set."""
    for item in items:
        if stop is not None and stop.is_set():
            return
        yield item


def pending(db: Database) -> tuple[int, int]:
    """(images to fingerprint, listings to match): the progress bars' totals."""
    return len(images_to_fingerprint(db)), len(listings_to_match(db))


def iter_findings(db: Database, status: str | None = None) -> Iterator[dict[str, Any]]:
    where, args = ("WHERE f.status = ?", [status]) if status else ("", [])
    yield from db.query(
        "SELECT f.id, f.kind, f.score, f.severity, f.status, f.explanation, f.first_seen, "
        "f.last_seen, f.asset_id, a.name AS asset, l.marketplace, l.listing_id, l.url, l.title, "
        "l.seller_name, l.seller_id, l.price, l.currency FROM findings f "
        "JOIN listings l ON l.id = f.listing_id LEFT JOIN assets a ON a.id = f.asset_id "
        f"{where} ORDER BY f.score DESC, f.id",
        args,
    )


REVIEWABLE = {
    "confirmed": ("new", "dismissed"),
    "dismissed": ("new", "confirmed"),
    "new": ("confirmed", "dismissed"),
}
"""A reviewer's moves: a reported or resolved finding belongs to its case now, and a finding on
an authorised seller can never be confirmed."""


def review(db: Database, config: Config, ids: list[int], status: str) -> list[str]:
    """Confirm, dismiss or reopen findings; returns the problems (nothing changes if any)."""
    rows = {
        r["id"]: r
        for r in db.query(
            "SELECT f.id, f.status, l.marketplace, l.url, l.seller_id, l.seller_name, l.seller_url, "
            "(SELECT n.id || ' (' || n.status || ')' FROM notice_findings nf JOIN notices n "
            " ON n.id = nf.notice_id WHERE nf.finding_id = f.id "
            " AND n.status IN ('draft', 'approved')) AS in_notice "
            f"FROM findings f JOIN listings l ON l.id = f.listing_id WHERE f.id IN "
            f"({','.join('?' * len(ids))})",
            ids,
        )
    }
    problems = []
    for i in ids:
        row = rows.get(i)
        if row is None:
            problems.append(f"no finding {i} (see `listingguard findings`)")
        elif row["status"] == "authorised" or (
            status == "confirmed" and authorised_seller(config, row)
        ):
            problems.append(f"finding {i} is on an authorised seller: it is never reported")
        elif row["in_notice"] and status != "confirmed":
            problems.append(
                f"finding {i} is in notice {row['in_notice']}: discard the notice first "
                "(listingguard takedown discard N), so that it is not filed"
            )
        elif row["status"] not in REVIEWABLE[status]:
            problems.append(f"finding {i} is {row['status']}: it cannot be marked {status}")
    if not problems:
        with store.transaction(db):
            db.conn.executemany(
                "UPDATE findings SET status = ?, reviewed_at = ? WHERE id = ?",
                [(status, store.now(), i) for i in ids],
            )
    return problems
