-- Returns of delivered orders, both dialects.
--
-- returns: one row per return; amount is what it is worth (fixed when it is asked for),
-- rejection_reason the admin's words on a rejection, refund_id and refunded_amount the
-- payment's refund once it is made (the amount may be less than `amount` when less of
-- the payment remained; 0 and no refund id for a return worth nothing). Units in
-- returns not rejected count as returned (see return_lines).
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
    refunded_amount BIGINT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX returns_order ON returns (tenant, order_id);
CREATE INDEX returns_newest ON returns (tenant, created_at, id);

-- The lines of a return, in the order's line order: the units of an order line sent
-- back and the part of the return's amount they are worth, goods and tax together;
-- `tax` is the tax part. A new return is priced against the goods and the tax the
-- order's returns not rejected already hold, so rejections never let the returns add
-- up to more than was paid.
CREATE TABLE return_lines (
    tenant TEXT NOT NULL,
    return_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    tax BIGINT NOT NULL,
    PRIMARY KEY (return_id, position)
);
