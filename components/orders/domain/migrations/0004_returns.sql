-- Returns of delivered orders, both dialects.
--
-- returns: one row per return; amount is what it is worth (fixed when it is asked for),
-- rejection_reason the admin's words on a rejection, refund_id the payment's refund once
-- it is made. Units in returns not rejected count as returned (see return_lines).
CREATE TABLE returns (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    order_id TEXT NOT NULL,
    order_number TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    rejection_reason TEXT,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    refund_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX returns_order ON returns (tenant, order_id);
CREATE INDEX returns_newest ON returns (tenant, created_at, id);

-- The lines of a return, in the order's line order: the units of an order line sent
-- back and the part of the return's amount they are worth.
CREATE TABLE return_lines (
    tenant TEXT NOT NULL,
    return_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (return_id, position)
);
