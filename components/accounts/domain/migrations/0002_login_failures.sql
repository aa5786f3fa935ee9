-- Failed (and in-flight) login attempts per email, for throttling; times are Unix ms.
CREATE TABLE login_failures (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    email TEXT NOT NULL,
    failed_at BIGINT NOT NULL
);
CREATE INDEX login_failures_by_email ON login_failures (tenant, email, failed_at);
