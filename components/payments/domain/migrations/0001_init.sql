-- Payments schema, one file for SQLite and PostgreSQL. Timestamps are fixed-width RFC 3339
-- UTC text, so (created_at, id) pages in time order in both dialects.
CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    order_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_reference TEXT,
    -- The guard of concurrent refunds: never more than the amount captured.
    refunded_amount BIGINT NOT NULL DEFAULT 0
        CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
    failure_reason TEXT,
    decline_code TEXT,
    -- The order's address (JSON), kept for the payment.succeeded a webhook may emit later.
    shipping_address TEXT NOT NULL,
    -- The saga's correlation id, so events a webhook causes stay in the order's flow.
    correlation_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT payments_order_unique UNIQUE (tenant, order_id)
);
CREATE INDEX payments_page ON payments (tenant, created_at, id);
CREATE INDEX payments_provider_reference ON payments (provider_reference);

CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    payment_id TEXT NOT NULL REFERENCES payments (id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    created_at TEXT NOT NULL
);
CREATE INDEX refunds_of_payment ON refunds (tenant, payment_id, created_at, id);

-- Orders cancelled before they were charged: a later inventory.reserved charges nothing.
CREATE TABLE cancelled_orders (
    tenant TEXT NOT NULL,
    order_id TEXT NOT NULL,
    cancelled_at TEXT NOT NULL,
    PRIMARY KEY (tenant, order_id)
);

-- Stripe events applied, keyed by Stripe's event id (unique across Stripe); the tenant
-- is that of the payment the event changed.
CREATE TABLE webhook_events (
    event_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    event_type TEXT NOT NULL,
    received_at TEXT NOT NULL
);
