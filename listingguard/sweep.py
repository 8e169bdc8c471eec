"""A sweep: crawl each marketplace (a subprocess each), match what is new, record the findings.

Every stage reads its work from the store and writes its results there, so a sweep killed at
any point is resumed by running it again: a marketplace whose sweep row is still ``running``
is crawled again under the same sweep (skipping the listing pages already stored), and the
matching stage picks up the listings and images not yet done. A sweep asked to stop (the
scheduler's SIGTERM) asks its crawl to stop, which leaves it resumable in the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from listingguard import findings, imaging, store
from listingguard.config import Config
from listingguard.crawl import safe_name
from listingguard.errors import ListingGuardError

POLL_S = 0.3
STOP_TIMEOUT_S = 120  # a crawl asked to stop finishes its requests in flight first


@dataclass
class CrawlResult:
    marketplace: str
    sweep_id: int
    resumed: bool
    returncode: int
    summary: dict[str, Any] = field(default_factory=dict)
    log: Path | None = None


@dataclass
class SweepResult:
    crawls: list[CrawlResult]
    stage: findings.StageResult
    counts: dict[str, dict[str, Any]]
    stopped: bool = False

    def summary(self) -> dict[str, Any]:
        """The sweep as plain data: per marketplace, then the matching stage."""
        return {
            "marketplaces": [
                {
                    "marketplace": c.marketplace,
                    "sweep": c.sweep_id,
                    "resumed": c.resumed,
                    **self.counts.get(c.marketplace, {}),
                    "refused": c.summary.get("refused", 0),
                    "robots_forbidden": c.summary.get("robots_forbidden", 0),
                    "log": str(c.log) if c.log else c.summary.get("log"),
                }
                for c in self.crawls
            ],
            "images_fingerprinted": self.stage.images,
            "images_refused": self.stage.image_errors,
            "listings_matched": self.stage.listings,
            "new_findings": self.stage.new_findings,
            "updated_findings": self.stage.updated_findings,
            "authorised_findings": self.stage.authorised,
            "stopped": self.stopped,
        }


class Display:
    """What a sweep reports while it runs; the CLI shows it with rich, tests and the scheduler
    pass ``Display()`` (silent)."""

    def crawl_started(self, name: str, resumed: bool) -> None: ...
    def crawl_progress(self, name: str, counts: dict[str, int]) -> None: ...
    def crawl_finished(self, result: CrawlResult) -> None: ...
    def stage_started(self, images: int, listings: int) -> None: ...
    def image_done(self, n: int) -> None: ...
    def listing_done(self, n: int) -> None: ...


def marketplaces_to_sweep(config: Config, only: str | None) -> list[str]:
    if only is not None:
        if only not in config.marketplaces:
            known = ", ".join(config.marketplaces) or "none"
            raise ListingGuardError(
                f"{config.path}: no marketplace {only!r} in [marketplaces] (known: {known})"
            )
        return [only]
    return [name for name, m in config.marketplaces.items() if m.enabled]


def resumable(db: Database, name: str) -> bool:
    """Whether a sweep of ``name`` was left unfinished (crawl or matching) to be resumed."""
    row = db.execute(
        "SELECT 1 FROM sweeps WHERE marketplace = ? AND status IN ('running', 'matching')", [name]
    ).fetchone()
    return row is not None


def open_sweep(db: Database, name: str) -> tuple[int, str]:
    """The sweep of ``name`` left by an interrupted run, or a new one; with its state.

    ``running``: its crawl was interrupted and is resumed; ``matching``: its crawl finished
    and only the matching stage is left; ``new``: a fresh sweep.
    """
    row = db.execute(
        "SELECT id, status FROM sweeps WHERE marketplace = ? AND status IN ('running', 'matching') "
        "ORDER BY id DESC",
        [name],
    ).fetchone()
    if row:
        return int(row[0]), str(row[1])
    with store.transaction(db):
        return store.start_sweep(db, name), "new"


def sweep_counts(db: Database, sweep_id: int) -> dict[str, int]:
    """Pages, listings, images and blocked pages this sweep has stored so far."""
    pages, blocked, images = db.execute(
        "SELECT SUM(kind = 'page'), SUM(kind = 'blocked'), SUM(kind = 'image') "
        "FROM captures WHERE sweep_id = ?",
        [sweep_id],
    ).fetchone()
    listings = db.execute("SELECT COUNT(*) FROM listings WHERE sweep_id = ?", [sweep_id]).fetchone()
    return {
        "pages": pages or 0,
        "listings": listings[0],
        "images": images or 0,
        "blocked": blocked or 0,
    }


def crawl_process(
    config: Config,
    name: str,
    mode: list[str],
    log_path: Path,
    on_poll: Callable[[], None] | None = None,
    stop: threading.Event | None = None,
) -> tuple[int, dict[str, Any]]:
    """Run ``python -m listingguard.crawl`` for one marketplace (a sweep crawl or a recheck,
    by ``mode``) in a subprocess, as Twisted's reactor runs once per process; its exit code and
    the summary line it prints. ``on_poll`` runs while it works; once ``stop`` is set the crawl
    is asked to stop (one SIGTERM: Scrapy finishes the requests in flight, and the crawl is
    resumable)."""
    command = [
        sys.executable, "-m", "listingguard.crawl", "--config", str(Path(config.path).resolve()),
        "--marketplace", name, *mode,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        # Its own session, so a Ctrl-C in the terminal reaches the sweep only, which then asks
        # the crawl to stop once (a second signal would make Scrapy stop uncleanly). The crawl
        # dies with the sweep (listingguard.crawl.die_with_parent), so none runs on its own.
        proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            start_new_session=True,
        )
        asked = False
        try:
            while proc.poll() is None:
                if on_poll:
                    on_poll()
                if stop is not None and stop.is_set() and not asked:
                    proc.send_signal(signal.SIGTERM)
                    asked = True
                time.sleep(POLL_S)
        except BaseException:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()  # the next sweep starts this crawl over, skipping what it stored
                proc.wait()
            raise
        out = proc.stdout.read().decode("utf-8", "replace") if proc.stdout else ""
    summary: dict[str, Any] = {}
    for line in out.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                summary = json.loads(line)
    return proc.returncode, summary


def crawl(
    config: Config,
    db: Database,
    name: str,
    sweep_id: int,
    on_progress: Callable[[dict[str, int]], None] | None = None,
    stop: threading.Event | None = None,
) -> tuple[int, dict[str, Any], Path]:
    """Run one marketplace's crawl in a subprocess; (exit code, its summary, its log file)."""
    log_path = config.workspace.reports / "logs" / f"sweep-{sweep_id}-{safe_name(name)}.log"
    poll = (lambda: on_progress(sweep_counts(db, sweep_id))) if on_progress else None
    code, summary = crawl_process(config, name, ["--sweep", str(sweep_id)], log_path, poll, stop)
    if on_progress:
        on_progress(sweep_counts(db, sweep_id))
    return code, summary, log_path


def run(
    config: Config,
    db: Database,
    only: str | None = None,
    display: Display | None = None,
    workers: int | None = None,
    stop: threading.Event | None = None,
) -> SweepResult:
    """Crawl, then match; resumes whatever an interrupted sweep left.

    Once ``stop`` is set the crawl running is asked to stop, no other starts and matching
    starts no more batches (the next sweep resumes all of it), so a stop takes seconds.
    """
    display = display or Display()
    names = marketplaces_to_sweep(config, only)
    crawls: list[CrawlResult] = []
    for name in names:
        if stop is not None and stop.is_set():
            break
        sweep_id, state = open_sweep(db, name)
        if state == "matching":  # crawled before an interruption: straight to matching
            row = db["sweeps"].get(sweep_id)
            summary = json.loads(row["stats"]) if row["stats"] else {}
            crawls.append(CrawlResult(name, sweep_id, True, 0, summary))
            continue
        display.crawl_started(name, state == "running")
        code, summary, log = crawl(
            config, db, name, sweep_id, lambda c, n=name: display.crawl_progress(n, c), stop
        )
        result = CrawlResult(name, sweep_id, state == "running", code, summary, log)
        crawls.append(result)
        _crawled(db, result)
        display.crawl_finished(result)
    if stop is not None and stop.is_set():
        return _stopped(db, crawls, findings.StageResult())
    sweep_ids = {c.marketplace: c.sweep_id for c in crawls}
    n_images, n_listings = findings.pending(db)
    display.stage_started(n_images, n_listings)
    with imaging.workers(workers) as executor:
        stage = findings.run_stage(
            db, config, executor, sweep_ids, display.image_done, display.listing_done, stop
        )
    if stop is not None and stop.is_set():
        return _stopped(db, crawls, stage)
    counts = {}
    for c in crawls:
        counts[c.marketplace] = _finish(db, c)
    from listingguard.casework import link_relistings  # cases follow what the sweep saw

    link_relistings(db)
    return SweepResult(crawls, stage, counts)


def _stopped(db: Database, crawls: list[CrawlResult], stage: findings.StageResult) -> SweepResult:
    """A sweep stopped before its end: its sweeps are left unfinished (``running`` or
    ``matching``), so the next sweep resumes them."""
    counts = {c.marketplace: sweep_counts(db, c.sweep_id) | {"status": "stopped"} for c in crawls}
    return SweepResult(crawls, stage, counts, stopped=True)


def _crawled(db: Database, result: CrawlResult) -> None:
    """Record how the crawl ended: ``matching`` when it completed, ``running`` (resumable)
    when it was stopped gracefully, ``failed`` otherwise (what it stored is matched anyway)."""
    reason = result.summary.get("finish_reason")
    if reason in ("shutdown", "locked"):  # stopped, or another crawl of it is running: resumable
        status = "running"
    elif reason in ("finished", "max_listings") and result.returncode == 0:
        status = "matching"
    else:
        status = "failed"
    stats = {**result.summary, "log": str(result.log) if result.log else None}
    with store.transaction(db):
        db["sweeps"].update(result.sweep_id, {"status": status, "stats": json.dumps(stats)})


def _finish(db: Database, crawl_result: CrawlResult) -> dict[str, Any]:
    """Close a sweep whose matching is done, with its counts."""
    counts: dict[str, Any] = sweep_counts(db, crawl_result.sweep_id)
    new = db.execute(
        "SELECT COUNT(*) FROM findings WHERE sweep_id = ? AND status = 'new'",
        [crawl_result.sweep_id],
    ).fetchone()[0]
    summary = crawl_result.summary
    errors = int(summary.get("errors", 0)) + (1 if crawl_result.returncode else 0)
    status = db["sweeps"].get(crawl_result.sweep_id)["status"]
    if status == "running":  # stopped gracefully: left to the next sweep to resume
        return counts | {"new_findings": new, "errors": errors, "status": status}
    if status == "matching":
        status = "finished"
    with store.transaction(db):
        store.finish_sweep(
            db,
            crawl_result.sweep_id,
            status,
            pages=counts["pages"],
            listings=counts["listings"],
            blocked=counts["blocked"],
            new_findings=new,
            errors=errors,
        )
    return counts | {"new_findings": new, "errors": errors, "status": status}
