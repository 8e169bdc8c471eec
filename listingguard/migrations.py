"""Versioned schema migrations: a database made by an older listingguard is upgraded in place on open.

The schema version is SQLite's ``PRAGMA user_version``. Each migration runs once, in order, inside
the same transaction as the version bump, so a crash mid-upgrade leaves the old version intact.
A released migration is never edited: change the schema by appending a new one.

Enumerations that later issues extend (finding kinds, statuses) are checked in Python, not with
CHECK constraints, because SQLite cannot alter a constraint without rebuilding the table.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlite_utils import Database

Migration = str | Callable[[Database], None]
"""An SQL script, or a function for data changes that SQL cannot express (run in a transaction)."""


M001_CATALOGUE = """
-- The owner's catalogue: products and the assets (marks, photos, copy, logos) it holds.
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    list_price REAL,
    currency TEXT,
    category TEXT,
    description TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE assets (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('mark', 'image', 'copy', 'logo')),
    name TEXT NOT NULL,
    rights TEXT NOT NULL CHECK (rights IN ('owned', 'licensed', 'third_party')),
    sha256 TEXT NOT NULL,
    path TEXT,
    text TEXT,
    media TEXT,
    product_id INTEGER REFERENCES products(id) ON DELETE SET NULL,
    source TEXT NOT NULL DEFAULT 'cli',
    aliases TEXT,
    registrations TEXT,
    licensor TEXT,
    territories TEXT,
    platforms TEXT,
    licence_expires TEXT,
    added_at TEXT NOT NULL,
    retired_at TEXT,
    UNIQUE (kind, sha256)
);
CREATE INDEX assets_kind ON assets (kind, rights);
CREATE INDEX assets_product ON assets (product_id);
CREATE INDEX assets_licence_expires ON assets (licence_expires)
    WHERE licence_expires IS NOT NULL;
"""


M002_SWEEPS_AND_FINDINGS = """
-- What sweeps bring in: listings, content-addressed images, evidence captures, findings.
CREATE TABLE sweeps (
    id INTEGER PRIMARY KEY,
    marketplace TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL DEFAULT 'running',
    pages INTEGER NOT NULL DEFAULT 0,
    listings INTEGER NOT NULL DEFAULT 0,
    blocked INTEGER NOT NULL DEFAULT 0,
    new_findings INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    stats TEXT
);
CREATE TABLE listings (
    id INTEGER PRIMARY KEY,
    marketplace TEXT NOT NULL,
    listing_id TEXT NOT NULL,
    url TEXT NOT NULL,
    canonical_url TEXT,
    title TEXT,
    description TEXT,
    brand TEXT,
    price REAL,
    currency TEXT,
    seller_id TEXT,
    seller_name TEXT,
    seller_url TEXT,
    seller_location TEXT,
    availability TEXT,
    sales TEXT,
    content_sha256 TEXT,
    status TEXT NOT NULL DEFAULT 'active',
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    matched_at TEXT,
    sweep_id INTEGER REFERENCES sweeps(id),
    UNIQUE (marketplace, listing_id)
);
CREATE INDEX listings_status ON listings (status);
CREATE INDEX listings_seller ON listings (marketplace, seller_id);
CREATE INDEX listings_unmatched ON listings (matched_at);
CREATE TABLE images (
    sha256 TEXT PRIMARY KEY,
    url TEXT,
    path TEXT,
    bytes INTEGER,
    width INTEGER,
    height INTEGER,
    format TEXT,
    error TEXT,
    first_seen TEXT NOT NULL
);
CREATE TABLE listing_images (
    listing_id INTEGER NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
    image_sha256 TEXT NOT NULL REFERENCES images(sha256),
    position INTEGER NOT NULL DEFAULT 0,
    url TEXT,
    PRIMARY KEY (listing_id, image_sha256)
);
CREATE INDEX listing_images_image ON listing_images (image_sha256);
CREATE TABLE captures (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'page',
    url TEXT NOT NULL,
    captured_at TEXT NOT NULL,
    http_status INTEGER,
    content_type TEXT,
    sha256 TEXT NOT NULL,
    warc_file TEXT,
    warc_offset INTEGER,
    warc_record_id TEXT UNIQUE,
    listing_id INTEGER REFERENCES listings(id),
    sweep_id INTEGER REFERENCES sweeps(id)
);
CREATE INDEX captures_listing ON captures (listing_id);
CREATE INDEX captures_sha256 ON captures (sha256);
CREATE TABLE findings (
    id INTEGER PRIMARY KEY,
    listing_id INTEGER NOT NULL REFERENCES listings(id),
    asset_id INTEGER REFERENCES assets(id),
    kind TEXT NOT NULL,
    score REAL NOT NULL,
    severity TEXT,
    explanation TEXT,
    detail TEXT,
    status TEXT NOT NULL DEFAULT 'new',
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    reviewed_at TEXT,
    sweep_id INTEGER REFERENCES sweeps(id)
);
-- One finding per listing, asset and kind; a finding without an asset (a signal) is keyed 0.
CREATE UNIQUE INDEX findings_key ON findings (listing_id, IFNULL(asset_id, 0), kind);
CREATE INDEX findings_status ON findings (status);
CREATE INDEX findings_asset ON findings (asset_id);
"""


M003_TAKEDOWN = """
-- Notices, the findings each covers, and cases tracked until the listing is gone.
CREATE TABLE notices (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'draft',
    format TEXT,
    body TEXT,
    path TEXT,
    pack_path TEXT,
    pack_sha256 TEXT,
    reference TEXT,
    created_at TEXT NOT NULL,
    approved_at TEXT,
    approved_by TEXT,
    submitted_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX notices_status ON notices (platform, status);
CREATE TABLE notice_findings (
    notice_id INTEGER NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
    finding_id INTEGER NOT NULL REFERENCES findings(id),
    PRIMARY KEY (notice_id, finding_id)
);
CREATE INDEX notice_findings_finding ON notice_findings (finding_id);
CREATE TABLE cases (
    id INTEGER PRIMARY KEY,
    notice_id INTEGER NOT NULL REFERENCES notices(id),
    listing_id INTEGER NOT NULL REFERENCES listings(id),
    status TEXT NOT NULL DEFAULT 'submitted',
    opened_at TEXT NOT NULL,
    deadline TEXT,
    last_checked_at TEXT,
    closed_at TEXT,
    UNIQUE (notice_id, listing_id)
);
CREATE INDEX cases_status ON cases (status, deadline);
CREATE INDEX cases_listing ON cases (listing_id);
CREATE TABLE case_events (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT
);
CREATE INDEX case_events_case ON case_events (case_id, at);
"""


M004_FINGERPRINTS = """
-- Image fingerprints, one per SHA-256 for owned and listing images alike, never recomputed
-- unless the recipe's version changes. The hashes and the descriptors the index holds have
-- columns of their own, so the index loads without decoding whole fingerprints.
CREATE TABLE fingerprints (
    sha256 TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    phash INTEGER NOT NULL,
    edge_hash INTEGER NOT NULL,
    pdq BLOB NOT NULL,
    descriptors BLOB NOT NULL,
    data BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX fingerprints_phash ON fingerprints (phash);
"""


M005_CRAWL_EVIDENCE = """
-- The crawl's evidence: a capture may be a revisit of a payload stored before (its bytes are in
-- the capture that images.capture_id names), a bot wall (kind 'blocked', note: the provider),
-- and one API response may hold many listings (listing_captures links them).
ALTER TABLE captures ADD COLUMN record_type TEXT NOT NULL DEFAULT 'response';
ALTER TABLE captures ADD COLUMN bytes INTEGER;
ALTER TABLE captures ADD COLUMN note TEXT;
CREATE INDEX captures_sweep ON captures (sweep_id, kind);
ALTER TABLE images ADD COLUMN capture_id INTEGER REFERENCES captures(id);
CREATE TABLE listing_captures (
    listing_id INTEGER NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
    capture_id INTEGER NOT NULL REFERENCES captures(id),
    PRIMARY KEY (listing_id, capture_id)
);
CREATE INDEX listing_captures_capture ON listing_captures (capture_id);
CREATE INDEX listings_sweep ON listings (sweep_id);
"""


M006_CASES = """
-- Case tracking: why a case was rejected, the case a relisting continues, and the relistings
-- found (a new listing by the same seller carrying the same evidence as a removed one).
ALTER TABLE notices ADD COLUMN model TEXT;
ALTER TABLE cases ADD COLUMN reason TEXT;
ALTER TABLE cases ADD COLUMN relisted_from INTEGER REFERENCES cases(id);
ALTER TABLE case_events ADD COLUMN capture_id INTEGER REFERENCES captures(id);
CREATE TABLE relistings (
    case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    listing_id INTEGER NOT NULL REFERENCES listings(id),
    finding_id INTEGER NOT NULL REFERENCES findings(id),
    found_at TEXT NOT NULL,
    PRIMARY KEY (case_id, listing_id)
);
CREATE INDEX relistings_listing ON relistings (listing_id);
"""


M007_SCHEDULE = """
-- The scheduler's memory: each job's last run (its scheduled fire time, so a restarted
-- scheduler neither repeats it nor skips one missed while it was down) and its next.
CREATE TABLE schedule_runs (
    job TEXT PRIMARY KEY,
    fire_time TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    succeeded_at TEXT,
    error TEXT,
    next_run_at TEXT,
    runs INTEGER NOT NULL DEFAULT 0
);
"""


MIGRATIONS: tuple[Migration, ...] = (
    M001_CATALOGUE,
    M002_SWEEPS_AND_FINDINGS,
    M003_TAKEDOWN,
    M004_FINGERPRINTS,
    M005_CRAWL_EVIDENCE,
    M006_CASES,
    M007_SCHEDULE,
)
SCHEMA_VERSION = len(MIGRATIONS)
