-- Orders schema, both dialects. Timestamps are RFC 3339 UTC text of fixed width, so text
-- order is time order: lists page on (created_at, id), newest first. Money is BIGINT minor
-- units of the order's currency. The payment token is not stored: it only rides along in
-- `order.created` to payments.
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    order_number TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    subtotal BIGINT NOT NULL,
    tax BIGINT NOT NULL,
    shipping BIGINT NOT NULL,
    total BIGINT NOT NULL,
    currency TEXT NOT NULL,
    ship_name TEXT NOT NULL,
    ship_line1 TEXT NOT NULL,
    ship_city TEXT NOT NULL,
    ship_postal_code TEXT NOT NULL,
    ship_country TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT orders_number_unique UNIQUE (tenant, order_number)
);
CREATE INDEX orders_page ON orders (tenant, created_at, id);
CREATE INDEX orders_customer_page ON orders (tenant, customer_id, created_at, id);
CREATE INDEX orders_status_page ON orders (tenant, status, created_at, id);

CREATE TABLE order_lines (
    order_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    tenant TEXT NOT NULL,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price BIGINT NOT NULL,
    line_total BIGINT NOT NULL,
    PRIMARY KEY (order_id, position)
);

-- The last order number handed out per tenant; bumped in the order's transaction.
CREATE TABLE order_numbers (
    tenant TEXT PRIMARY KEY,
    last_number BIGINT NOT NULL
);
