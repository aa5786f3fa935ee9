-- Orders whose cancellation reached shipping: a label created for one of them (its
-- payment.succeeded came after the cancellation) is voided at once.
CREATE TABLE cancelled_orders (
    tenant TEXT NOT NULL,
    order_id TEXT NOT NULL,
    cancelled_at TEXT NOT NULL,
    PRIMARY KEY (tenant, order_id)
);
