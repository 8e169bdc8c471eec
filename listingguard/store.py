"""The SQLite store: open (WAL, foreign keys, busy timeout, migrations) and idempotent writes.

Plain functions over sqlite-utils; records are dicts. Each write function commits on its own, or
joins the caller's ``transaction(db)`` to group several. Every write is keyed on a natural key —
marketplace + listing id, image SHA-256, asset kind + SHA-256, product SKU, listing + asset +
finding kind — so running a sweep or an import twice duplicates nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from listingguard.errors import StoreError
from listingguard.migrations import MIGRATIONS, SCHEMA_VERSION

BUSY_TIMEOUT_S = 30.0


def now() -> str:
    """The current UTC time as ISO 8601 with a Z, the one time format of the store."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def open_store(path: Path | str, *, create: bool = False) -> Database:
    """Open (or with ``create``, make) the database, upgrading an older schema in place."""
    path = Path(path)
    if not create and not path.exists():
        raise StoreError(
            f"{path}: no such database; run 'listingguard init' in this folder, "
            "or set workspace.database in config.toml"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create its folder: {exc.strerror or exc}") from None
    if path.exists() and not path.is_file():
        raise StoreError(f"{path}: not a file, so not a database")
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
        db = Database(conn)
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        db.execute("PRAGMA foreign_keys = ON")
        _enable_wal(db)
        db.execute("PRAGMA synchronous = NORMAL")
        migrate(db)
    except sqlite3.OperationalError as exc:
        raise StoreError(f"{path}: cannot open the database ({exc})") from None
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: not a listingguard database ({exc})") from None
    return db


@contextlib.contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """A write transaction: committed at the end, rolled back on any error.

    ``BEGIN IMMEDIATE`` takes the write lock at the start, so a second writer waits for the busy
    timeout; a deferred ``BEGIN`` that reads first and writes later would instead fail at once
    with "database is locked" (SQLite cannot upgrade a WAL read snapshot that went stale).
    Nested, it is a savepoint inside the outer transaction.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    with db.ensure_autocommit_on():
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            raise
        db.conn.execute("COMMIT")


def _enable_wal(db: Database) -> None:
    """Switch to WAL, retrying while another process holds the lock.

    Changing the journal mode needs an exclusive lock and SQLite reports "database is locked"
    at once instead of calling the busy handler, so two processes opening one new database
    would otherwise fail at random.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.enable_wal()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def schema_version(db: Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def _statements(script: str) -> Iterator[str]:
    """Split an SQL script into complete statements (executescript would commit on its own)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer
            buffer = ""
    if buffer.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in buffer.splitlines()
    ):
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:80]}")


def migrate(db: Database) -> int:
    """Apply the migrations this database lacks, each with its version bump in one transaction.

    ``BEGIN IMMEDIATE`` takes the write lock before the version is read again, so two processes
    opening the same new database do not both run a migration.
    """
    version = schema_version(db)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the database has schema version {version}, newer than this listingguard "
            f"({SCHEMA_VERSION}); upgrade listingguard to open it"
        )
    with db.ensure_autocommit_on():
        while (version := schema_version(db)) < SCHEMA_VERSION:
            db.conn.execute("BEGIN IMMEDIATE")
            try:
                if schema_version(db) == version:
                    step = MIGRATIONS[version]
                    if isinstance(step, str):
                        for statement in _statements(step):
                            db.conn.execute(statement)
                    else:
                        step(db)
                    db.conn.execute(f"PRAGMA user_version = {version + 1}")
                db.conn.execute("COMMIT")
            except BaseException:
                if db.conn.in_transaction:
                    db.conn.execute("ROLLBACK")
                raise
    return schema_version(db)


def _encode(value: Any) -> Any:
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=isinstance(value, dict))
    return value


def upsert(
    db: Database,
    table: str,
    record: dict[str, Any],
    key: tuple[str, ...],
    *,
    keep: Iterable[str] = (),
    conflict: str | None = None,
) -> int:
    """Insert ``record`` or update the row with the same natural ``key``; returns the row id.

    Columns named in ``keep`` (first-seen times, review status) are written on insert only.
    ``conflict`` overrides the conflict target, for expression indexes.
    """
    cols = list(record)
    keep = set(keep) | set(key)
    updates = [f"[{c}] = excluded.[{c}]" for c in cols if c not in keep]
    action = "DO UPDATE SET " + ", ".join(updates) if updates else "DO UPDATE SET [id] = [id]"
    target = conflict or ", ".join(f"[{c}]" for c in key)
    sql = (
        f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in cols)}) "
        f"VALUES ({', '.join('?' for _ in cols)}) "
        f"ON CONFLICT ({target}) {action} RETURNING id"
    )
    with transaction(db):
        return int(db.execute(sql, [_encode(record[c]) for c in cols]).fetchone()[0])


def decode(row: dict[str, Any], *columns: str) -> dict[str, Any]:
    """Turn the named JSON columns of a row back into lists and dicts."""
    for c in columns:
        if row.get(c) is not None:
            row[c] = json.loads(row[c])
    return row


# -- catalogue ---------------------------------------------------------------------------------


def save_product(db: Database, product: dict[str, Any]) -> int:
    """Upsert a product by SKU; returns its id."""
    stamp = now()
    record = {**product, "created_at": stamp, "updated_at": stamp}
    return upsert(db, "products", record, ("sku",), keep=("created_at",))


def asset_by_sha(db: Database, kind: str, sha256: str) -> dict[str, Any] | None:
    rows = db.query("SELECT * FROM assets WHERE kind = ? AND sha256 = ?", [kind, sha256])
    return next(iter(rows), None)


def add_asset(db: Database, asset: dict[str, Any]) -> tuple[int, bool]:
    """Register an asset unless one of the same kind and SHA-256 exists; ``(id, created)``.

    An existing asset is left as it is: registering the same file twice changes nothing. A
    retired asset (removed while findings still pointed at it) comes back into service under
    the same id, with the fields given now.
    """
    with transaction(db):
        existing = asset_by_sha(db, asset["kind"], asset["sha256"])
        if existing is not None and not existing["retired_at"]:
            return existing["id"], False
        # New, or a retired asset registered again: it takes the new name, rights and terms.
        record = {**asset, "added_at": asset.get("added_at") or now(), "retired_at": None}
        return upsert(db, "assets", record, ("kind", "sha256"), keep=("added_at",)), True


def list_assets(
    db: Database, *, kind: str | None = None, rights: str | None = None, retired: bool = False
) -> list[dict[str, Any]]:
    where, params = ["1 = 1"], []
    if kind:
        where.append("a.kind = ?")
        params.append(kind)
    if rights:
        where.append("a.rights = ?")
        params.append(rights)
    if not retired:
        where.append("a.retired_at IS NULL")
    sql = (
        "SELECT a.*, p.sku AS product_sku, p.name AS product_name FROM assets a "
        "LEFT JOIN products p ON p.id = a.product_id "
        f"WHERE {' AND '.join(where)} ORDER BY a.id"
    )
    return [
        decode(dict(r), "media", "aliases", "registrations", "territories", "platforms")
        for r in db.query(sql, params)
    ]


def remove_asset(db: Database, asset_id: int) -> str:
    """Delete an asset, or retire it when findings point at it (evidence is never lost).

    Returns ``"removed"`` or ``"retired"``.
    """
    with transaction(db):
        used = db.execute("SELECT COUNT(*) FROM findings WHERE asset_id = ?", [asset_id]).fetchone()
        if used[0]:
            db.execute(
                "UPDATE assets SET retired_at = COALESCE(retired_at, ?) WHERE id = ?",
                [now(), asset_id],
            )
            return "retired"
        db.execute("DELETE FROM assets WHERE id = ?", [asset_id])
        return "removed"


# -- sweeps -------------------------------------------------------------------------------------


def start_sweep(db: Database, marketplace: str | None) -> int:
    return int(db["sweeps"].insert({"marketplace": marketplace, "started_at": now()}).last_pk)


def finish_sweep(db: Database, sweep_id: int, status: str, **counts: Any) -> None:
    record = {"status": status, "finished_at": now(), **counts}
    db["sweeps"].update(sweep_id, {k: _encode(v) for k, v in record.items()})


def save_listing(db: Database, listing: dict[str, Any]) -> int:
    """Upsert a listing by marketplace + listing id; first_seen survives, last_seen moves on."""
    stamp = now()
    record = {**listing, "first_seen": stamp, "last_seen": listing.get("last_seen") or stamp}
    return upsert(db, "listings", record, ("marketplace", "listing_id"), keep=("first_seen",))


def save_image(db: Database, image: dict[str, Any]) -> bool:
    """Store an image once by SHA-256; returns True when it was new."""
    record = {**image, "first_seen": image.get("first_seen") or now()}
    cols = list(record)
    with transaction(db):
        cur = db.execute(
            f"INSERT INTO images ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)}) "
            "ON CONFLICT (sha256) DO NOTHING",
            [_encode(record[c]) for c in cols],
        )
        return cur.rowcount == 1


def link_listing_image(
    db: Database, listing_id: int, image_sha256: str, position: int, url: str | None
) -> None:
    with transaction(db):
        db.execute(
            "INSERT INTO listing_images (listing_id, image_sha256, position, url) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (listing_id, image_sha256) "
            "DO UPDATE SET position = excluded.position, url = excluded.url",
            [listing_id, image_sha256, position, url],
        )


def save_capture(db: Database, capture: dict[str, Any]) -> int:
    """Record an evidence capture, once per WARC record."""
    return upsert(db, "captures", capture, ("warc_record_id",), keep=tuple(capture))


def save_finding(db: Database, finding: dict[str, Any]) -> tuple[int, bool]:
    """Upsert a finding by listing + asset + kind; ``(id, created)``.

    A repeated match updates the score and evidence but keeps the reviewer's status and the
    first-seen time, so a confirmed or dismissed finding stays so across sweeps.
    """
    key = [finding["listing_id"], finding.get("asset_id") or 0, finding["kind"]]
    stamp = now()
    record = {"status": "new", **finding, "first_seen": stamp, "last_seen": stamp}
    with transaction(db):
        existed = db.execute(
            "SELECT 1 FROM findings WHERE listing_id = ? AND IFNULL(asset_id, 0) = ? AND kind = ?",
            key,
        ).fetchone()
        finding_id = upsert(
            db,
            "findings",
            record,
            ("listing_id", "asset_id", "kind"),
            keep=("first_seen", "status", "reviewed_at"),
            conflict="listing_id, IFNULL(asset_id, 0), kind",
        )
    return finding_id, existed is None


# -- fingerprints -------------------------------------------------------------------------------


def save_fingerprint(
    db: Database,
    sha256: str,
    *,
    version: int,
    phash: int,
    edge_hash: int,
    pdq: bytes,
    descriptors: bytes,
    data: bytes,
) -> None:
    """Store an image's fingerprint once per SHA-256 (a newer recipe version replaces it)."""
    with transaction(db):
        db.execute(
            "INSERT INTO fingerprints "
            "(sha256, version, phash, edge_hash, pdq, descriptors, data, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO UPDATE SET "
            "version = excluded.version, phash = excluded.phash, edge_hash = excluded.edge_hash, "
            "pdq = excluded.pdq, descriptors = excluded.descriptors, data = excluded.data, "
            "created_at = excluded.created_at WHERE excluded.version <> fingerprints.version",
            [sha256, version, phash, edge_hash, pdq, descriptors, data, now()],
        )


def fingerprint_data(
    db: Database, sha256: str, version: int, *, exists: bool = False
) -> bytes | None:
    """The stored fingerprint of this recipe version, or None; with ``exists``, only whether
    there is one (``b""``), without reading the blob."""
    column = "x''" if exists else "data"
    row = db.execute(
        f"SELECT {column} FROM fingerprints WHERE sha256 = ? AND version = ?", [sha256, version]
    ).fetchone()
    return row[0] if row else None
