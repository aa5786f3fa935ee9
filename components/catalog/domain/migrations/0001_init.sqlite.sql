-- Catalog schema, SQLite. Timestamps are RFC 3339 UTC text of fixed width (microseconds
-- and `Z`), so their text order is their time order: the keyset (created_at, id) pages on
-- them in both dialects. Booleans are 0/1; attributes are a JSON object as text.
CREATE TABLE categories (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CONSTRAINT categories_slug_unique UNIQUE (tenant, slug)
);
CREATE INDEX categories_page ON categories (tenant, created_at, id);

CREATE TABLE products (
    -- A stable integer key for the FTS5 index to point at: an implicit rowid may be
    -- renumbered by VACUUM, an INTEGER PRIMARY KEY never is.
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    price BIGINT NOT NULL CHECK (price >= 0),
    currency TEXT NOT NULL,
    category_id TEXT,
    brand TEXT,
    image_url TEXT,
    attributes TEXT NOT NULL DEFAULT '{}',
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT products_sku_unique UNIQUE (tenant, sku),
    CONSTRAINT products_slug_unique UNIQUE (tenant, slug)
);
CREATE INDEX products_page ON products (tenant, created_at, id);
CREATE INDEX products_category_page ON products (tenant, category_id, created_at, id);

-- Full-text index over the products table (external content: it stores no copy of the
-- text), stemmed like PostgreSQL's 'english' configuration. Columns in ranking order:
-- name, then brand and sku, then description (weights given to bm25 by the query).
CREATE VIRTUAL TABLE products_fts USING fts5(
    name, brand, sku, description,
    content = 'products', content_rowid = 'seq', tokenize = 'porter unicode61'
);

CREATE TRIGGER products_fts_after_insert AFTER INSERT ON products BEGIN
    INSERT INTO products_fts (rowid, name, brand, sku, description)
    VALUES (new.seq, new.name, new.brand, new.sku, new.description);
END;

CREATE TRIGGER products_fts_after_delete AFTER DELETE ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, name, brand, sku, description)
    VALUES ('delete', old.seq, old.name, old.brand, old.sku, old.description);
END;

CREATE TRIGGER products_fts_after_update AFTER UPDATE OF name, brand, sku, description ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, name, brand, sku, description)
    VALUES ('delete', old.seq, old.name, old.brand, old.sku, old.description);
    INSERT INTO products_fts (rowid, name, brand, sku, description)
    VALUES (new.seq, new.name, new.brand, new.sku, new.description);
END;
