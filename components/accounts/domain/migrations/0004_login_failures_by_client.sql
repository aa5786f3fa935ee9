-- Failures are counted per (email, client address) and per client address, so guessing
-- from one address cannot lock the owner out from another.
ALTER TABLE login_failures ADD COLUMN client TEXT NOT NULL DEFAULT '';
CREATE INDEX login_failures_by_email_and_client ON login_failures (tenant, email, client, failed_at);
CREATE INDEX login_failures_by_client ON login_failures (client, failed_at);
-- Failures older than the window are removed as new ones come (see throttle::failed).
CREATE INDEX login_failures_by_time ON login_failures (failed_at);
