"""A sweep killed with SIGKILL — in the crawl, or in the matching stage — and run again resumes:
nothing recorded before the kill is lost or duplicated, and the evidence still verifies.

The sweep runs as a real process in its own session (its crawl subprocess and matching workers
with it), against the demo market with a few hundred extra listings so that there is a middle
to kill it in.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from listingguard.demo import catalogue_source
from listingguard.demo.market import DemoMarket
from tests.conftest import run
from tests.test_sweep import demo_workspace, sweep

EXTRA = 300


@pytest.fixture(scope="module")
def market() -> DemoMarket:
    with DemoMarket(catalogue_source(), extra=EXTRA) as m:
        yield m


def _read(db_path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:  # the schema is not there yet
        return []
    finally:
        conn.close()


def _count(db_path: Path, sql: str) -> int:
    rows = _read(db_path, sql)
    return rows[0][0] if rows else 0


def _kill_when(config: Path, ready: str, at_least: int, timeout: float = 120) -> None:
    """Start a sweep, SIGKILL its whole process group once ``ready`` counts ``at_least``."""
    db_path = config.parent / "listingguard.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "listingguard", "sweep", "--quiet", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    try:
        while _count(db_path, ready) < at_least:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "the sweep never got there"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _snapshot(db_path: Path) -> dict[str, list[tuple]]:
    return {
        "listings": _read(
            db_path, "SELECT id, marketplace, listing_id, first_seen FROM listings ORDER BY id"
        ),
        "images": _read(db_path, "SELECT sha256, first_seen FROM images ORDER BY sha256"),
        "captures": _read(db_path, "SELECT id, warc_record_id, sha256 FROM captures ORDER BY id"),
        "findings": _read(
            db_path, "SELECT id, listing_id, asset_id, kind, first_seen FROM findings ORDER BY id"
        ),
    }


def _assert_kept(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> None:
    for table, rows in before.items():
        assert set(rows) <= set(after[table]), f"{table}: rows recorded before the kill were lost"


def _assert_no_duplicates(db_path: Path) -> None:
    assert not _read(
        db_path,
        "SELECT marketplace, listing_id FROM listings GROUP BY 1, 2 HAVING COUNT(*) > 1",
    )
    assert not _read(
        db_path,
        "SELECT listing_id, IFNULL(asset_id, 0), kind FROM findings GROUP BY 1, 2, 3 "
        "HAVING COUNT(*) > 1",
    )
    # A listing page stored before the kill is not fetched again by the resumed crawl.
    assert not _read(
        db_path,
        "SELECT c.url FROM captures c JOIN listing_captures lc ON lc.capture_id = c.id "
        "WHERE c.kind = 'page' GROUP BY c.sweep_id, c.url HAVING COUNT(*) > 1",
    )


def _served(market: DemoMarket) -> set[str]:
    """The URLs of the JSON-LD storefront's listings (the crawl names them by URL)."""
    return {
        t.url
        for t in market.truth
        if t.marketplace == "demo-jsonld" and t.label != "blocked" and "/private/" not in t.url
    }


def test_killed_in_the_crawl_the_sweep_resumes(market: DemoMarket, tmp_path: Path) -> None:
    config = demo_workspace(tmp_path / "ws", market.base_url, only=("demo-jsonld",))
    db_path = config.parent / "listingguard.db"
    _kill_when(config, "SELECT COUNT(*) FROM listings", 60)
    before = _snapshot(db_path)
    assert 60 <= len(before["listings"]) < len(_served(market))  # killed in the middle
    summary = sweep(config)
    assert summary["marketplaces"][0]["resumed"] is True
    assert summary["marketplaces"][0]["status"] == "finished"
    after = _snapshot(db_path)
    _assert_kept(before, after)
    _assert_no_duplicates(db_path)
    stored = {r[0] for r in _read(db_path, "SELECT url FROM listings")}
    assert stored == _served(market)
    unmatched = _count(db_path, "SELECT COUNT(*) FROM listings WHERE matched_at IS NULL")
    assert unmatched == 0
    code, out, _ = run(CliRunner(), config, "evidence", "verify")
    assert code == 0, out


def test_killed_in_the_matching_stage_the_sweep_resumes(market: DemoMarket, tmp_path: Path) -> None:
    config = demo_workspace(tmp_path / "ws", market.base_url, only=("demo-jsonld",))
    db_path = config.parent / "listingguard.db"
    _kill_when(config, "SELECT COUNT(*) FROM listings WHERE matched_at IS NOT NULL", 20)
    before = _snapshot(db_path)
    matched_before = _count(db_path, "SELECT COUNT(*) FROM listings WHERE matched_at IS NOT NULL")
    assert 20 <= matched_before < len(_served(market))
    assert before["findings"]
    summary = sweep(config)
    after = _snapshot(db_path)
    _assert_kept(before, after)
    _assert_no_duplicates(db_path)
    assert _count(db_path, "SELECT COUNT(*) FROM listings WHERE matched_at IS NULL") == 0
    # Only the listings left unmatched at the kill were matched by the second run.
    assert summary["listings_matched"] == len(_served(market)) - matched_before
    statuses = {r[0] for r in _read(db_path, "SELECT status FROM sweeps")}
    assert statuses == {"finished"}
