-- Shipping schema, the same SQL for SQLite and PostgreSQL. Timestamps are RFC 3339 UTC
-- text of fixed width (microseconds and `Z`), so their text order is their time order.

CREATE TABLE shipments (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    order_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    carrier TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    status TEXT NOT NULL,
    address_name TEXT NOT NULL,
    address_line1 TEXT NOT NULL,
    address_city TEXT NOT NULL,
    address_postal_code TEXT NOT NULL,
    address_country TEXT NOT NULL,
    -- The order flow's correlation id, carried on to the status events.
    correlation_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    -- One shipment per order: a duplicate payment.succeeded finds it taken.
    CONSTRAINT shipments_order_unique UNIQUE (tenant, order_id),
    -- Tracking numbers are looked up without a token, so unique across tenants too.
    CONSTRAINT shipments_tracking_unique UNIQUE (tracking_number)
);
CREATE INDEX shipments_page ON shipments (tenant, created_at, id);

-- The delivery log: one row per status a shipment reached, label creation included.
CREATE TABLE shipment_events (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    shipment_id TEXT NOT NULL REFERENCES shipments (id),
    status TEXT NOT NULL,
    location TEXT,
    note TEXT,
    at TEXT NOT NULL
);
CREATE INDEX shipment_events_log ON shipment_events (tenant, shipment_id, at, id);
