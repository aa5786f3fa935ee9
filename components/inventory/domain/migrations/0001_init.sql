-- Inventory schema, one file for SQLite and PostgreSQL. Quantities are BIGINT; times are
-- RFC 3339 UTC text of fixed width, so their text order is their time order.

-- Stock per SKU. The CHECK makes the database itself refuse oversell: whatever a
-- statement does, `reserved` never exceeds `on_hand` and neither goes negative.
CREATE TABLE stock (
    tenant TEXT NOT NULL,
    sku TEXT NOT NULL,
    on_hand BIGINT NOT NULL,
    reserved BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant, sku),
    CONSTRAINT stock_never_oversold CHECK (on_hand >= 0 AND reserved >= 0 AND reserved <= on_hand)
);

-- What an order holds of each SKU: held on order.created, committed when paid,
-- released on payment failure or cancellation.
CREATE TABLE reservations (
    tenant TEXT NOT NULL,
    order_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    status TEXT NOT NULL CHECK (status IN ('held', 'committed', 'released')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant, order_id, sku)
);

-- The first word inventory had about an order; a later or repeated order.created for an
-- order that has one changes nothing (e.g. order.cancelled overtook it).
CREATE TABLE order_outcomes (
    tenant TEXT NOT NULL,
    order_id TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('reserved', 'insufficient', 'cancelled')),
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (tenant, order_id)
);

-- Every change of a stock row, with its reason and, for the saga's changes, the order.
CREATE TABLE movements (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    sku TEXT NOT NULL,
    on_hand_delta BIGINT NOT NULL,
    reserved_delta BIGINT NOT NULL,
    reason TEXT NOT NULL CHECK (reason IN ('set', 'adjust', 'reserve', 'commit', 'release', 'restock')),
    order_id TEXT,
    note TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX movements_page ON movements (tenant, sku, created_at, id);
