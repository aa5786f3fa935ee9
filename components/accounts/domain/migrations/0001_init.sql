-- Users of every tenant. Timestamps are RFC 3339 UTC text of fixed width (microseconds
-- and `Z`), so their text order is their time order in SQLite and PostgreSQL alike.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('customer', 'vendor', 'admin')),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    -- Emails are stored normalized (trimmed, lower-case), so this is case-insensitive.
    CONSTRAINT users_tenant_email_unique UNIQUE (tenant, email)
);
