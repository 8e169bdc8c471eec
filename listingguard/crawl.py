"""One marketplace's crawl, run as its own process: ``python -m listingguard.crawl``.

Scrapy's reactor can start once per process, and a crawl that hangs or is killed must not take
the sweep (or the scheduler) with it, so ``listingguard sweep`` runs each crawl here. The Scrapy
settings are built from config.toml: polite defaults, the marketplace's overrides, the owner's
contact in the user agent, the safety caps, the evidence file and the store pipeline.

Resuming: the crawl keeps Scrapy's job state in ``JOBDIR``, which survives a graceful stop
(SIGTERM or Ctrl-C: the state is saved and ``clean`` is written). After a hard kill that state
may be torn — the request queue and the seen-requests file are written at different times, so
requests could be marked seen yet never fetched — and it is thrown away; the crawl starts over
from its start URLs, skipping the listing pages this sweep already stored (``LG_DONE_URLS``).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

from scrapy.settings import Settings
from sqlite_utils import Database

import listingguard
from listingguard import store
from listingguard.config import Config, Marketplace, load


def jobdir(config: Config, sweep_id: int, name: str) -> Path:
    return config.workspace.database.parent / ".crawl-jobs" / f"sweep-{sweep_id}-{safe_name(name)}"


def safe_name(name: str) -> str:
    """A marketplace name fit for a file name (config.toml keys may hold any character)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def user_agent(config: Config) -> str:
    """An honest user agent: who crawls, for which rights owner, and how to reach them."""
    owner = config.owner
    contact = "; ".join(x for x in (owner.website, owner.email) if x)
    return (
        f"listingguard/{listingguard.__version__} (brand protection crawler for "
        f"{owner.company or owner.legal_name}; contact: {contact})"
    )


def known_payloads(db: Database) -> dict[str, tuple[str, str]]:
    """SHA-256 of every image payload already in the evidence → (URL, WARC date) to refer to."""
    rows = db.execute(
        "SELECT i.sha256, c.url, c.captured_at FROM images i JOIN captures c ON c.id = i.capture_id"
    )
    return {sha: (url, when) for sha, url, when in rows}


def done_urls(db: Database, sweep_id: int) -> set[str]:
    """Listing pages this sweep has already stored with their listing."""
    rows = db.execute(
        "SELECT DISTINCT c.url FROM captures c JOIN listing_captures lc ON lc.capture_id = c.id "
        "WHERE c.sweep_id = ? AND c.kind = 'page'",
        [sweep_id],
    )
    return {url for (url,) in rows}


def settings_for(
    config: Config, name: str, market: Marketplace, sweep_id: int, db: Database
) -> Settings:
    """The Scrapy settings of one marketplace's crawl."""
    crawl = config.crawler
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    delay = crawl.delay if market.delay is None else market.delay
    options = {"name": name, **_plain(dataclasses.asdict(market))}
    evidence = config.workspace.evidence
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    warc = evidence / "warc" / safe_name(name) / f"sweep-{sweep_id}-{stamp}-{os.getpid()}.warc.gz"
    settings.setdict(
        {
            "USER_AGENT": user_agent(config),
            "DOWNLOAD_DELAY": delay,
            "DOWNLOAD_DELAY_JITTER": 0.5 if delay > 0 else 0.0,
            "AUTOTHROTTLE_ENABLED": delay > 0,
            "AUTOTHROTTLE_START_DELAY": max(delay, 0.1),
            "CONCURRENT_REQUESTS_PER_DOMAIN": market.concurrency or crawl.concurrency,
            "DOWNLOAD_TIMEOUT": crawl.timeout,
            "RETRY_TIMES": crawl.retries,
            "DOWNLOAD_MAXSIZE": crawl.max_page_bytes,
            "LG_MAX_IMAGE_BYTES": crawl.max_image_bytes,
            "LG_MAX_IMAGE_PIXELS": crawl.max_image_pixels,
            "LG_IMAGES_PER_LISTING": crawl.images_per_listing,
            "LG_ALLOW_PRIVATE": market.local,
            "LG_MARKETPLACE": options,
            "LG_WARC_FILE": str(warc),
            "LG_EVIDENCE_ROOT": str(evidence),
            "LG_KNOWN_PAYLOADS": known_payloads(db),
            "LG_DONE_URLS": done_urls(db, sweep_id),
            "LG_DATABASE": str(config.workspace.database),
            "LG_SWEEP_ID": sweep_id,
            "JOBDIR": str(jobdir(config, sweep_id, name)),
            "ITEM_PIPELINES": {
                "crawler.pipelines.CleanListing": 100,
                "listingguard.ingest.StorePipeline": 900,
            },
            "LOG_LEVEL": "INFO",
        },
        priority="cmdline",
    )
    return settings


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def prepare_jobdir(path: Path) -> bool:
    """Keep the job state of a graceful stop; discard a torn one. True when resuming from it."""
    clean = path / "clean"
    if clean.exists():
        clean.unlink()
        return True
    if path.exists():
        shutil.rmtree(path)
    return False


def run(config_path: Path, name: str, sweep_id: int) -> int:
    """Crawl one marketplace into the store; prints one JSON line of results and returns 0."""

    config = load(config_path)
    market = config.marketplaces[name]
    lock = _lock(config, name)
    if lock is None:
        return _locked(name)
    db = store.open_store(config.workspace.database)
    settings = settings_for(config, name, market, sweep_id, db)
    db.conn.close()
    resumed = prepare_jobdir(Path(settings["JOBDIR"]))
    stats = _crawl(settings, market.kind)
    reason = str(stats.get("finish_reason", "unknown"))
    job = Path(settings["JOBDIR"])
    if reason == "shutdown":
        job.mkdir(parents=True, exist_ok=True)
        (job / "clean").write_text("stopped gracefully; the next run resumes here\n")
    elif job.exists():
        shutil.rmtree(job, ignore_errors=True)
    print(json.dumps(_summary(name, stats) | {"resumed": resumed}), flush=True)
    return 0


def _locked(name: str) -> int:
    print(json.dumps({"marketplace": name, "finish_reason": "locked"}), flush=True)
    return 3


def _crawl(settings: Any, spider: str) -> dict[str, Any]:
    """Run one spider to its end in this process; its stats."""
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider)
    process.crawl(crawler)
    process.start()
    return crawler.stats.get_stats() if crawler.stats else {}


def _summary(name: str, stats: dict[str, Any]) -> dict[str, Any]:
    """The one JSON line a crawl prints for its parent: how it ended and what it fetched."""
    return {
        "marketplace": name,
        "finish_reason": str(stats.get("finish_reason", "unknown")),
        "requests": stats.get("downloader/request_count", 0),
        "responses": stats.get("downloader/response_count", 0),
        "errors": stats.get("log_count/ERROR", 0),
        "refused": stats.get("listingguard/refused", 0),
        "robots_forbidden": stats.get("robotstxt/forbidden", 0),
        "blocked": stats.get("listingguard/blocked", 0),
        "bytes": stats.get("listingguard/captured_bytes", 0),
    }


def recheck_settings(
    config: Config, name: str, market: Marketplace, db: Database, targets: Path, out: Path
) -> Settings:
    """The Scrapy settings of a recheck of one marketplace's listings (``crawler/spiders/recheck``).

    The marketplace's own politeness, ``local`` and user agent, as in its sweeps; the answers go
    to a WARC file of their own and the outcomes to ``out`` (JSON lines) for the parent to store.
    No job state: a recheck is short, and one that is stopped is simply run again.
    """
    settings = settings_for(config, name, market, 0, db)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    warc = config.workspace.evidence / "warc" / safe_name(name)
    settings.setdict(
        {
            "LG_WARC_FILE": str(warc / f"recheck-{stamp}-{os.getpid()}.warc.gz"),
            "LG_KNOWN_PAYLOADS": {},
            "LG_DONE_URLS": [],
            "LG_SWEEP_ID": None,
            "LG_RECHECK_TARGETS": str(targets),
            "JOBDIR": None,
            "ITEM_PIPELINES": {},
            "FEEDS": {str(out): {"format": "jsonlines", "overwrite": True}},
        },
        priority="cmdline",
    )
    return settings


def run_recheck(config_path: Path, name: str, targets: Path, out: Path) -> int:
    """Recheck the listings of ``targets`` on one marketplace; prints one JSON line, returns 0
    (3 when a crawl of the marketplace is running: the lock is the sweep's)."""

    config = load(config_path)
    market = config.marketplaces[name]
    lock = _lock(config, name)
    if lock is None:
        return _locked(name)
    db = store.open_store(config.workspace.database)
    settings = recheck_settings(config, name, market, db, targets, out)
    db.conn.close()
    stats = _crawl(settings, "recheck")
    print(json.dumps(_summary(name, stats)), flush=True)
    return 0


def _lock(config: Config, name: str) -> Any:
    """An exclusive lock on this marketplace's crawl, held until the process ends; None when
    another crawl of it is running (two would double the load on the site and race the store)."""
    import fcntl

    path = config.workspace.database.parent / ".crawl-jobs" / f"{safe_name(name)}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def die_with_parent() -> None:
    """Be killed when the sweep that started this crawl dies (Linux ``PR_SET_PDEATHSIG``), so a
    sweep killed with SIGKILL leaves no crawl behind to race the next one."""
    parent = os.getppid()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the sweep died before the request was made
        os._exit(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m listingguard.crawl", description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--marketplace", required=True)
    parser.add_argument("--sweep", type=int, help="the sweep this crawl belongs to")
    parser.add_argument("--recheck", type=Path, help="recheck the listings of this targets file")
    parser.add_argument("--out", type=Path, help="where a recheck writes its outcomes")
    args = parser.parse_args(argv)
    if (args.sweep is None) == (args.recheck is None) or bool(args.recheck) != bool(args.out):
        parser.error("give --sweep ID, or --recheck TARGETS with --out OUTCOMES")
    die_with_parent()
    if args.recheck is not None:
        return run_recheck(args.config, args.marketplace, args.recheck, args.out)
    return run(args.config, args.marketplace, args.sweep)


if __name__ == "__main__":
    sys.exit(main())
