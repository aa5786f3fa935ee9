-- The tenants that exist: `default` (made on first use, with the configured first admin)
-- and those a platform operator created with their first admin. Logins and
-- registrations in any other tenant are refused.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
-- Tenants that already have users keep working: each becomes a row.
INSERT INTO tenants (id, created_at)
SELECT tenant, MIN(created_at) FROM users GROUP BY tenant;
