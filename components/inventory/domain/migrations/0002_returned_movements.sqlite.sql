-- Movements gain the reason `returned` (a customer's return back on hand). SQLite cannot
-- change a CHECK in place, so the table is rebuilt with its rows and its index.
CREATE TABLE movements_next (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    sku TEXT NOT NULL,
    on_hand_delta BIGINT NOT NULL,
    reserved_delta BIGINT NOT NULL,
    reason TEXT NOT NULL CHECK (reason IN ('set', 'adjust', 'reserve', 'commit', 'release', 'restock', 'returned')),
    order_id TEXT,
    note TEXT,
    created_at TEXT NOT NULL
);
INSERT INTO movements_next (id, tenant, sku, on_hand_delta, reserved_delta, reason, order_id, note, created_at)
    SELECT id, tenant, sku, on_hand_delta, reserved_delta, reason, order_id, note, created_at FROM movements;
DROP TABLE movements;
ALTER TABLE movements_next RENAME TO movements;
CREATE INDEX movements_page ON movements (tenant, sku, created_at, id);
