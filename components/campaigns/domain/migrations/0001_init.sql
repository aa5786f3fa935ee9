-- Campaigns schema, the same SQL for SQLite and PostgreSQL. Timestamps are RFC 3339 UTC
-- text of fixed width (microseconds and `Z`), so their text order is their time order.

CREATE TABLE campaigns (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    sku TEXT NOT NULL,
    price BIGINT NOT NULL,
    original_price BIGINT NOT NULL,
    currency TEXT NOT NULL,
    min_participants BIGINT NOT NULL,
    max_participants BIGINT NOT NULL,
    -- The count joins move with a conditional UPDATE; never recomputed with COUNT(*).
    participants BIGINT NOT NULL DEFAULT 0,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    -- The last guard against overfilling, should a query ever get its condition wrong.
    CONSTRAINT campaigns_participants_range
        CHECK (participants >= 0 AND participants <= max_participants),
    CONSTRAINT campaigns_status CHECK (status IN ('active', 'successful', 'failed'))
);
CREATE INDEX campaigns_page ON campaigns (tenant, created_at, id);
CREATE INDEX campaigns_status_page ON campaigns (tenant, status, created_at, id);
-- The sweep looks for active campaigns past their end, across tenants.
CREATE INDEX campaigns_due ON campaigns (status, ends_at);

-- Who joined which campaign, with what orders needs to buy for them. No foreign key:
-- a join to an unknown campaign is told apart (404) by the campaign UPDATE finding no
-- row, and its participant row is rolled back with the transaction.
CREATE TABLE campaign_participants (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    address_name TEXT NOT NULL,
    address_line1 TEXT NOT NULL,
    address_city TEXT NOT NULL,
    address_postal_code TEXT NOT NULL,
    address_country TEXT NOT NULL,
    payment_token TEXT NOT NULL,
    joined_at TEXT NOT NULL,
    CONSTRAINT campaign_participants_once UNIQUE (tenant, campaign_id, customer_id)
);
CREATE INDEX campaign_participants_list ON campaign_participants (tenant, campaign_id, joined_at, id);
