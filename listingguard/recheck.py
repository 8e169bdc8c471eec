"""Rechecks: fetch reported listings again, per marketplace, and record whether each is gone.

``listingguard takedown recheck`` asks here about the listings of submitted cases. Each
marketplace's listings are fetched by the ``recheck`` spider in a crawl process of its own
(``python -m listingguard.crawl --recheck``), with that marketplace's settings from config.toml
(``local``, delay, concurrency, the owner's user agent) and the lock its sweeps take, so a
recheck never doubles the load of a sweep on the same site. The answer that decided each
listing is kept in the WARC evidence and in ``captures`` (kind ``recheck``): a removal is proven
like a finding is. A bot wall or an unreachable site is never a removal.

Only ``listings.status`` is written here; the cases are the caller's.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from crawler.evidence import Capture
from crawler.spiders.recheck import STATUSES
from listingguard import store
from listingguard.config import Config, Marketplace
from listingguard.crawl import safe_name
from listingguard.ingest import save_capture
from listingguard.sweep import crawl_process
from listingguard.workspace import Workspace


@dataclass(frozen=True)
class RecheckTarget:
    """A listing to recheck: its ``listings`` row id, its marketplace (a config.toml name) and URL."""

    listing_id: int
    marketplace: str
    url: str


@dataclass(frozen=True)
class RecheckResult:
    """What a recheck found. ``status`` is "removed", "active", "blocked" or "error" (a bot
    wall or an unreachable site never means removed); ``capture_id`` is the ``captures`` row of
    the answer that decided it (None when nothing answered); ``checked_at`` is UTC ISO 8601;
    ``reason`` says why in a few words ("HTTP 404", "page says 'this listing has ended'")."""

    status: str
    http_status: int | None
    capture_id: int | None
    checked_at: str
    reason: str

    @classmethod
    def error(cls, reason: str) -> RecheckResult:
        return cls("error", None, None, store.now(), reason)


def targets_for(db: Database, listing_ids: Iterable[int]) -> list[RecheckTarget]:
    """The targets of these ``listings`` rows (ids with no row are left out)."""
    ids = list(dict.fromkeys(listing_ids))
    rows = db.execute(
        f"SELECT id, marketplace, url FROM listings WHERE id IN ({', '.join('?' for _ in ids)})",
        ids,
    ).fetchall()
    return [RecheckTarget(int(i), str(m), str(u)) for i, m, u in rows]


def check(
    ws: Workspace, targets: list[RecheckTarget], stop: threading.Event | None = None
) -> dict[int, RecheckResult]:
    """Recheck ``targets``, one crawl per marketplace; results by listings row id. Once
    ``stop`` is set the crawl running is asked to stop and no other starts (the rest keep
    their status, to be rechecked next time).

    Listings found removed get ``status = 'removed'``, listings found active ``'active'`` again
    (and a new ``last_seen``); blocked and unreadable ones keep theirs.
    """
    config, db = ws.config, ws.db
    by_market: dict[str, list[RecheckTarget]] = {}
    for target in targets:
        by_market.setdefault(target.marketplace, []).append(target)
    results: dict[int, RecheckResult] = {}
    for name, group in by_market.items():
        if stop is not None and stop.is_set():
            break
        market = config.marketplaces.get(name)
        if market is None:
            known = ", ".join(config.marketplaces) or "none"
            reason = f"no marketplace {name!r} in {config.path} (known: {known})"
            results |= {t.listing_id: RecheckResult.error(reason) for t in group}
            continue
        results |= _check_marketplace(config, db, name, market, group, stop)
    return results


def _check_marketplace(
    config: Config,
    db: Database,
    name: str,
    market: Marketplace,
    targets: list[RecheckTarget],
    stop: threading.Event | None = None,
) -> dict[int, RecheckResult]:
    jobs = config.workspace.database.parent / ".crawl-jobs"
    jobs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"recheck-{safe_name(name)}-", dir=jobs) as tmp:
        targets_file, out = Path(tmp) / "targets.json", Path(tmp) / "outcomes.jsonl"
        entries = [_entry(db, config, market, t) for t in targets]
        targets_file.write_text(json.dumps(entries, ensure_ascii=False), "utf-8")
        code, summary, log = _crawl(config, name, targets_file, out, stop)
        outcomes = _read(out)
    results = _store(db, targets, outcomes)
    if summary.get("finish_reason") == "locked":
        why = f"a crawl of {name} is running (a sweep?); recheck again when it ends"
    else:
        why = f"the recheck crawl of {name} ended without an answer (exit {code}; log {log})"
    for target in targets:
        results.setdefault(target.listing_id, RecheckResult.error(why))
    return results


def _entry(db: Database, config: Config, market: Marketplace, target: RecheckTarget) -> dict:
    """A spider target: the Store API needs the product id and the shop's base URL as well."""
    entry: dict[str, Any] = {"id": target.listing_id, "url": target.url, "kind": market.kind}
    if market.kind in ("shopify", "woocommerce"):
        row = db.execute("SELECT listing_id FROM listings WHERE id = ?", [target.listing_id])
        found = row.fetchone()
        bases = [u if u.endswith("/") else u + "/" for u in market.start_urls]
        entry["listing_id"] = found[0] if found else None
        entry["base"] = next((b for b in bases if target.url.startswith(b)), None)
    return entry


def _crawl(
    config: Config, name: str, targets: Path, out: Path, stop: threading.Event | None = None
) -> tuple[int, dict, Path]:
    """Run the recheck crawl in a subprocess, as a sweep's crawl runs; its exit code, its
    summary line and its log file."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    log_path = config.workspace.reports / "logs" / f"recheck-{stamp}-{safe_name(name)}.log"
    mode = ["--recheck", str(targets), "--out", str(out)]
    code, summary = crawl_process(config, name, mode, log_path, stop=stop)
    return code, summary, log_path


def _read(path: Path) -> list[dict[str, Any]]:
    """The outcomes the spider wrote; a torn last line (a killed crawl) is left out."""
    if not path.exists():
        return []
    outcomes = []
    for line in path.read_text("utf-8", "replace").splitlines():
        try:
            outcomes.append(json.loads(line))
        except ValueError:
            continue
    return outcomes


def _store(
    db: Database, targets: list[RecheckTarget], outcomes: list[dict[str, Any]]
) -> dict[int, RecheckResult]:
    """Each outcome's capture and its listing's status, in one transaction."""
    wanted = {t.listing_id for t in targets}
    results: dict[int, RecheckResult] = {}
    with store.transaction(db):
        for outcome in outcomes:
            listing = outcome.get("target")
            if listing not in wanted or outcome.get("status") not in STATUSES:
                continue
            exists = db.execute("SELECT 1 FROM listings WHERE id = ?", [listing]).fetchone()
            capture_id = None
            if outcome.get("capture"):
                capture = Capture(**outcome["capture"])
                capture_id = save_capture(
                    db, capture, "recheck", None, note=outcome["reason"][:500]
                )
                if exists:
                    db.execute(
                        "UPDATE captures SET listing_id = ? WHERE id = ? AND listing_id IS NULL",
                        [listing, capture_id],
                    )
            status = outcome["status"]
            if exists and status == "removed":
                db.execute("UPDATE listings SET status = 'removed' WHERE id = ?", [listing])
            elif exists and status == "active":
                db.execute(
                    "UPDATE listings SET status = 'active', last_seen = ? WHERE id = ?",
                    [store.now(), listing],
                )
            results[listing] = RecheckResult(
                status=status,
                http_status=outcome.get("http_status"),
                capture_id=capture_id,
                checked_at=outcome.get("checked_at") or store.now(),
                reason=outcome.get("reason") or status,
            )
    return results
