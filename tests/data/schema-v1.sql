-- A listingguard database as schema version 1 left it (frozen copy of migrations 1..1).
-- Never edit: tests upgrade it to prove that older databases open.

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

PRAGMA user_version = 1;
