"""Whole sweeps against the demo marketplace on 127.0.0.1: real Scrapy crawls in subprocesses,
real WARC files, a real SQLite store, then the matchers; and the evidence verified.

One sweep of the four storefronts is shared by the module (it takes a few seconds); tests that
change the workspace make their own.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from listingguard import store
from listingguard.demo import build, tour
from listingguard.demo.market import DemoMarket
from listingguard.demo.tour import set_marketplace_key
from tests.conftest import run


def demo_workspace(directory: Path, base_url: str, only: tuple[str, ...] = ()) -> Path:
    """A demo workspace (catalogue registered) whose marketplaces point at ``base_url``."""
    result = build(directory)
    result.workspace.close()
    config = directory / "config.toml"
    tour.point_at(config, base_url)
    text = config.read_text("utf-8")
    for name in ("demo-jsonld", "demo-html", "demo-shopify", "demo-woo"):
        if only and name not in only:
            text = set_marketplace_key(text, name, "enabled", "false")
    config.write_text(text, "utf-8")
    return config


def sweep(config: Path, *args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "listingguard", "sweep", "--json", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-2000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def swept(market: DemoMarket, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    config = demo_workspace(tmp_path_factory.mktemp("swept") / "ws", market.base_url)
    return config, sweep(config)


def _db(config: Path):
    return store.open_store(config.parent / "listingguard.db")


def test_every_listing_served_is_stored_once_with_its_fields(swept, market) -> None:
    config, summary = swept
    db = _db(config)
    stored = {(r["marketplace"], r["listing_id"]): r for r in db.query("SELECT * FROM listings")}
    served = [t for t in market.truth if t.label != "blocked" and "/private/" not in t.url]
    missing = [t for t in served if (t.marketplace, t.listing_id) not in stored]
    assert not missing
    assert len(stored) == len(served)
    for row in stored.values():
        assert row["title"] and row["url"].startswith(market.base_url)
        assert row["price"] is not None and row["price"] > 0 and row["currency"], row
    linked = db.execute("SELECT COUNT(DISTINCT listing_id) FROM listing_images").fetchone()[0]
    assert linked >= len(served) - 2  # all but listings whose only images are the broken ones
    by_market = {m["marketplace"]: m for m in summary["marketplaces"]}
    assert set(by_market) == {"demo-jsonld", "demo-html", "demo-shopify", "demo-woo"}
    assert all(m["status"] == "finished" for m in by_market.values())


def test_the_block_page_is_recorded_as_blocked_not_as_a_listing(swept, market) -> None:
    config, summary = swept
    db = _db(config)
    blocked = [t for t in market.truth if t.label == "blocked"]
    assert blocked
    rows = list(db.query("SELECT url, note, http_status FROM captures WHERE kind = 'blocked'"))
    assert {r["url"] for r in rows} == {t.url for t in blocked}
    assert all(r["http_status"] == 200 and "perimeterx" in r["note"].lower() for r in rows)
    stored_urls = {r[0] for r in db.execute("SELECT url FROM listings")}
    assert not stored_urls & {t.url for t in blocked}
    assert sum(m["blocked"] for m in summary["marketplaces"]) == len(blocked)


def test_robots_txt_is_obeyed(swept, market) -> None:
    assert market.hits["/robots.txt"] >= 1
    assert not [path for path in market.hits if path.startswith("/jsonld/private/")]


def test_images_are_stored_once_by_sha256_and_broken_ones_kept_as_evidence(swept) -> None:
    db = _db(swept[0])
    images = db.execute("SELECT COUNT(*) FROM images").fetchone()[0]
    links = db.execute("SELECT COUNT(*) FROM listing_images").fetchone()[0]
    distinct = db.execute("SELECT COUNT(DISTINCT image_sha256) FROM listing_images").fetchone()[0]
    assert images == distinct and links > images  # genuine photos appear in several listings
    broken = list(
        db.query("SELECT url, note FROM captures WHERE kind = 'image' AND note IS NOT NULL")
    )
    assert broken, "the demo serves broken images; each is kept with its reason"
    unusable = db.execute("SELECT COUNT(*) FROM images WHERE error IS NOT NULL").fetchone()[0]
    assert unusable >= 1  # a truncated JPEG: stored, refused by the fingerprinter, never matched


def test_every_capture_points_at_its_warc_record(swept) -> None:
    config = swept[0]
    code, out, _ = run(CliRunner(), config, "evidence", "verify")
    assert code == 0, out
    assert "all unchanged" in out
    db = _db(config)
    unproven = db.execute(
        "SELECT COUNT(*) FROM listings WHERE id NOT IN (SELECT listing_id FROM listing_captures)"
    ).fetchone()[0]
    assert unproven == 0  # every listing points at the page (or API answer) it was read from


def test_findings_match_the_ground_truth(swept, market) -> None:
    db = _db(swept[0])
    found: dict[tuple[str, str], set[str]] = {}
    status: dict[tuple[str, str], set[str]] = {}
    for r in db.query(
        "SELECT l.marketplace, l.listing_id, f.kind, f.status FROM findings f "
        "JOIN listings l ON l.id = f.listing_id"
    ):
        key = (r["marketplace"], r["listing_id"])
        found.setdefault(key, set()).add(r["kind"])
        status.setdefault(key, set()).add(r["status"])
    for t in market.truth:
        key = (t.marketplace, t.listing_id)
        if t.label == "counterfeit":
            assert t.expect <= found.get(key, set()), (t, found.get(key))
            assert status[key] == {"new"}
        elif t.label == "genuine":
            assert status.get(key, {"authorised"}) == {"authorised"}, t
        elif t.label in ("mention", "unrelated"):
            assert key not in found, (t, found.get(key))


def test_a_second_sweep_duplicates_nothing(swept, market) -> None:
    config, _first = swept
    db = _db(config)
    before = list(
        db.query("SELECT id, listing_id, asset_id, kind, first_seen FROM findings ORDER BY id")
    )
    listings_before = db.execute("SELECT COUNT(*) FROM listings").fetchone()[0]
    again = sweep(config)
    assert again["new_findings"] == 0
    assert again["listings_matched"] == 0  # nothing changed, so nothing is matched again
    after = list(
        db.query("SELECT id, listing_id, asset_id, kind, first_seen FROM findings ORDER BY id")
    )
    assert after == before
    assert db.execute("SELECT COUNT(*) FROM listings").fetchone()[0] == listings_before
    revisits = db.execute("SELECT COUNT(*) FROM captures WHERE record_type = 'revisit'").fetchone()[
        0
    ]
    assert revisits > 0  # the same photos fetched again are stored once, as revisit records


def test_evidence_verify_catches_a_modified_capture(market, tmp_path) -> None:
    config = demo_workspace(tmp_path / "ws", market.base_url, only=("demo-woo",))
    sweep(config)
    db = _db(config)
    row = db.execute(
        "SELECT id, warc_file, warc_offset FROM captures WHERE kind = 'page' ORDER BY id LIMIT 1"
    ).fetchone()
    path = config.parent / "evidence" / row[1]
    data = path.read_bytes()
    # Rewrite the first record with one byte of its body changed, as a tamperer would.
    member = gzip.decompress(data[row[2] :])
    changed = member.replace(b'"name"', b'"nAme"', 1)
    assert changed != member
    path.write_bytes(data[: row[2]] + gzip.compress(changed))
    code, _out, err = run(CliRunner(), config, "evidence", "verify")
    assert code == 1
    assert f"capture {row[0]} " in err and "body changed" in err


def test_a_site_that_is_not_local_may_not_point_at_loopback(market, tmp_path) -> None:
    config = demo_workspace(tmp_path / "ws", market.base_url, only=("demo-woo",))
    config.write_text(
        set_marketplace_key(config.read_text("utf-8"), "demo-woo", "local", "false"), "utf-8"
    )

    def served() -> int:
        return sum(n for path, n in market.hits.items() if path.startswith(("/woo/", "/robots")))

    before = served()
    summary = sweep(config)
    woo = summary["marketplaces"][0]
    assert woo["listings"] == 0 and woo["refused"] >= 1
    assert served() == before  # refused before any connection was made


def test_an_unreachable_site_is_an_error_not_a_crash(tmp_path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    config = demo_workspace(tmp_path / "ws", f"http://127.0.0.1:{port}", only=("demo-woo",))
    proc = subprocess.run(
        [sys.executable, "-m", "listingguard", "sweep", "--json", "--config", str(config)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    summary = json.loads(proc.stdout)
    woo = summary["marketplaces"][0]
    assert woo["listings"] == 0 and woo["errors"] >= 1
    shutil.rmtree(tmp_path / "ws" / "evidence", ignore_errors=True)


def test_a_marketplace_already_being_crawled_is_not_crawled_twice(market, tmp_path) -> None:
    import fcntl

    config = demo_workspace(tmp_path / "ws", market.base_url, only=("demo-woo",))
    lock_path = config.parent / ".crawl-jobs" / "demo-woo.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a crawl of another sweep would
        first = sweep(config)["marketplaces"][0]
    assert first["status"] == "running" and first["listings"] == 0
    second = sweep(config)["marketplaces"][0]
    assert second["resumed"] and second["status"] == "finished" and second["listings"] > 0
