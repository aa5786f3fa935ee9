-- Promotions and the discounts they give, both dialects.
--
-- promotions: either percentage (1 to 100) or amount_off (minor units of currency) is
-- set. skus and category_ids are newline-separated lists ('' for none); with both empty
-- the promotion applies to the whole order. code is stored upper-case and unique per
-- tenant (NULLs never collide: promotions without a code apply by themselves). uses counts
-- the orders holding a use; the CHECK refuses passing usage_limit even if code went wrong.
-- combinable and active are 0 or 1.
CREATE TABLE promotions (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    code TEXT,
    percentage BIGINT,
    amount_off BIGINT,
    currency TEXT,
    skus TEXT NOT NULL,
    category_ids TEXT NOT NULL,
    starts_at TEXT,
    ends_at TEXT,
    min_subtotal BIGINT NOT NULL,
    usage_limit BIGINT,
    per_customer_limit BIGINT,
    combinable BIGINT NOT NULL,
    active BIGINT NOT NULL,
    uses BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    CHECK (uses >= 0 AND (usage_limit IS NULL OR uses <= usage_limit))
);
CREATE UNIQUE INDEX promotions_code ON promotions (tenant, code);

-- One row per order holding a use of a promotion; deleted (and the promotion's uses given
-- back) when the order ends unpaid: cancelled, rejected or its payment failed.
CREATE TABLE promotion_uses (
    tenant TEXT NOT NULL,
    promotion_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    used_at TEXT NOT NULL,
    PRIMARY KEY (tenant, promotion_id, order_id)
);
CREATE INDEX promotion_uses_customer ON promotion_uses (tenant, promotion_id, customer_id);
CREATE INDEX promotion_uses_order ON promotion_uses (tenant, order_id);

-- The discount lines of an order: each promotion's amount on each order line it applies
-- to. orders.discount is their sum; total = subtotal - discount + tax + shipping.
CREATE TABLE order_discounts (
    tenant TEXT NOT NULL,
    order_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    promotion_id TEXT NOT NULL,
    name TEXT NOT NULL,
    code TEXT,
    sku TEXT NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (order_id, position)
);
ALTER TABLE orders ADD COLUMN discount BIGINT NOT NULL DEFAULT 0;
