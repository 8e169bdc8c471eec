"""The SQLite store: pragmas, migrations from older schemas, idempotent natural-key upserts."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from listingguard import store
from listingguard.errors import StoreError
from listingguard.migrations import SCHEMA_VERSION

TABLES = {
    "products", "assets", "listings", "images", "listing_images", "captures",
    "findings", "notices", "notice_findings", "cases", "case_events", "sweeps", "fingerprints",
}  # fmt: skip


def test_new_database_has_the_schema_and_pragmas(tmp_path: Path) -> None:
    db = store.open_store(tmp_path / "new.db", create=True)
    assert set(db.table_names()) >= TABLES
    assert store.schema_version(db) == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_missing_database_is_an_error_unless_created(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such database; run 'listingguard init'"):
        store.open_store(tmp_path / "missing.db")


@pytest.mark.parametrize("version", [1, 2, 3])
def test_older_database_is_upgraded_in_place(tmp_path: Path, version: int) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript((ROOT / "tests" / "data" / f"schema-v{version}.sql").read_text())
    conn.execute(
        "INSERT INTO products (sku, name, list_price, currency, created_at, updated_at) "
        "VALUES ('MH01', 'Chaz Kangeroo Hoodie', 52, 'USD', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z')"
    )
    conn.execute(
        "INSERT INTO assets (kind, name, rights, sha256, text, product_id, added_at) "
        "VALUES ('mark', 'Luma', 'owned', 'abc', 'Luma', 1, '2025-01-01T00:00:00Z')"
    )
    conn.commit()
    conn.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == version

    db = store.open_store(path)
    assert store.schema_version(db) == SCHEMA_VERSION
    assert set(db.table_names()) >= TABLES
    assert db.execute("SELECT sku, list_price FROM products").fetchall() == [("MH01", 52.0)]
    assert db.execute("SELECT name, product_id FROM assets").fetchall() == [("Luma", 1)]
    db.close()
    # Opening again is a no-op.
    assert store.schema_version(store.open_store(path)) == SCHEMA_VERSION


def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    store.open_store(path, create=True).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this listingguard"):
        store.open_store(path)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "listingguard.db"
    path.write_text("this is a text file, not SQLite\n" * 100)
    with pytest.raises(StoreError, match="not a listingguard database"):
        store.open_store(path)


def _open(path: str) -> int:
    return store.schema_version(store.open_store(path, create=True))


def test_two_processes_migrating_one_new_database(tmp_path: Path) -> None:
    path = str(tmp_path / "race.db")
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        assert pool.map(_open, [path, path]) == [SCHEMA_VERSION, SCHEMA_VERSION]


LISTING = {"marketplace": "demo", "listing_id": "A1", "url": "http://x/1", "title": "Luma hoodie"}


def test_listing_upsert_is_keyed_on_marketplace_and_listing_id(tmp_path: Path) -> None:
    db = store.open_store(tmp_path / "s.db", create=True)
    with db.atomic():
        first = store.save_listing(db, LISTING | {"last_seen": "2026-01-01T00:00:00Z"})
    seen = db["listings"].get(first)["first_seen"]
    with db.atomic():
        again = store.save_listing(db, LISTING | {"title": "Luma hoodie (new)"})
        other = store.save_listing(db, LISTING | {"marketplace": "other"})
    assert again == first and other != first
    row = db["listings"].get(first)
    assert (row["title"], row["first_seen"]) == ("Luma hoodie (new)", seen)
    assert row["last_seen"] > "2026-01-01T00:00:00Z"
    assert db["listings"].count == 2


def test_images_are_stored_once_by_sha256(tmp_path: Path) -> None:
    db = store.open_store(tmp_path / "s.db", create=True)
    with db.atomic():
        lid = store.save_listing(db, LISTING)
        assert (
            store.save_image(db, {"sha256": "f" * 64, "url": "http://x/a.jpg", "bytes": 10}) is True
        )
        assert (
            store.save_image(db, {"sha256": "f" * 64, "url": "http://y/b.jpg", "bytes": 10})
            is False
        )
        store.link_listing_image(db, lid, "f" * 64, 0, "http://x/a.jpg")
        store.link_listing_image(db, lid, "f" * 64, 1, "http://x/a.jpg")
    assert db["images"].count == 1
    assert db.execute("SELECT position FROM listing_images").fetchall() == [(1,)]


def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    db = store.open_store(tmp_path / "s.db", create=True)
    with pytest.raises(sqlite3.IntegrityError):
        store.link_listing_image(db, 999, "0" * 64, 0, None)


def test_finding_upsert_keeps_the_review_status(tmp_path: Path) -> None:
    db = store.open_store(tmp_path / "s.db", create=True)
    with db.atomic():
        lid = store.save_listing(db, LISTING)
        mark_id, _ = store.add_asset(
            db, {"kind": "mark", "name": "Luma", "rights": "owned", "sha256": "m", "text": "Luma"}
        )
        fid, created = store.save_finding(
            db, {"listing_id": lid, "asset_id": mark_id, "kind": "trademark", "score": 0.7}
        )
        signal, _ = store.save_finding(db, {"listing_id": lid, "kind": "signal", "score": 0.6})
    assert created
    db.execute("UPDATE findings SET status = 'confirmed' WHERE id = ?", [fid])
    with db.atomic():
        again, created = store.save_finding(
            db, {"listing_id": lid, "asset_id": mark_id, "kind": "trademark", "score": 0.9}
        )
        signal_again, signal_created = store.save_finding(
            db, {"listing_id": lid, "kind": "signal", "score": 0.65}
        )
    assert (again, created, signal_again, signal_created) == (fid, False, signal, False)
    row = db["findings"].get(fid)
    assert (row["status"], row["score"]) == ("confirmed", 0.9)
    assert db["findings"].count == 2


def test_capture_is_recorded_once_per_warc_record(tmp_path: Path) -> None:
    db = store.open_store(tmp_path / "s.db", create=True)
    capture = {
        "url": "http://x/1",
        "captured_at": store.now(),
        "sha256": "a" * 64,
        "warc_record_id": "<urn:uuid:1>",
    }
    with db.atomic():
        assert store.save_capture(db, capture) == store.save_capture(db, capture)
    assert db["captures"].count == 1


def test_product_upsert_by_sku(tmp_path: Path) -> None:
    db = store.open_store(tmp_path / "s.db", create=True)
    with db.atomic():
        a = store.save_product(db, {"sku": "MH01", "name": "Hoodie", "list_price": 52.0})
        b = store.save_product(db, {"sku": "MH01", "name": "Chaz Hoodie", "list_price": 49.0})
    assert a == b
    assert db.execute("SELECT name, list_price FROM products").fetchall() == [("Chaz Hoodie", 49.0)]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["amazon", "ebay"]), st.sampled_from("abcde"), st.text(max_size=20)
        ),
        max_size=30,
    )
)
def test_repeated_saves_never_duplicate(
    tmp_path_factory: pytest.TempPathFactory, saves: list[tuple[str, str, str]]
) -> None:
    db = store.open_store(tmp_path_factory.mktemp("h") / "s.db", create=True)
    with db.atomic():
        for marketplace, listing_id, title in saves:
            store.save_listing(
                db,
                {"marketplace": marketplace, "listing_id": listing_id, "url": "u", "title": title},
            )
    assert db["listings"].count == len({(m, i) for m, i, _ in saves})
    for marketplace, listing_id, _ in saves[::-1]:
        last = [t for m, i, t in saves if (m, i) == (marketplace, listing_id)][-1]
        got = db.execute(
            "SELECT title FROM listings WHERE marketplace = ? AND listing_id = ?",
            [marketplace, listing_id],
        ).fetchone()
        assert got == (last,)
