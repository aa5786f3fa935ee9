-- Catalog schema, PostgreSQL. Timestamps are RFC 3339 UTC text of fixed width
-- (microseconds and `Z`), as in SQLite, so the keyset (created_at, id) pages the same
-- way in both; the columns use the "C" collation so text order is byte order whatever
-- the database's locale. Attributes are a JSON object as text.
CREATE TABLE categories (
    id TEXT COLLATE "C" PRIMARY KEY,
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    CONSTRAINT categories_slug_unique UNIQUE (tenant, slug)
);
CREATE INDEX categories_page ON categories (tenant, created_at, id);

CREATE TABLE products (
    id TEXT COLLATE "C" PRIMARY KEY,
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
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL,
    -- Ranked full-text search: name weighs most (A), then brand and sku (B), then the
    -- description (C).
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', name), 'A')
        || setweight(to_tsvector('english', coalesce(brand, '') || ' ' || sku), 'B')
        || setweight(to_tsvector('english', description), 'C')
    ) STORED,
    CONSTRAINT products_sku_unique UNIQUE (tenant, sku),
    CONSTRAINT products_slug_unique UNIQUE (tenant, slug)
);
CREATE INDEX products_page ON products (tenant, created_at, id);
CREATE INDEX products_category_page ON products (tenant, category_id, created_at, id);
CREATE INDEX products_search ON products USING GIN (search);
