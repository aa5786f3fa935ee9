-- Notifications schema, the same SQL for SQLite and PostgreSQL. Timestamps are RFC 3339
-- UTC text of fixed width (microseconds and `Z`), so their text order is their time order.

CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    -- The event the message tells of; one message per customer per event, even if the
    -- inbox of applied events were bypassed.
    event_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CONSTRAINT notifications_once UNIQUE (tenant, event_id, customer_id)
);
-- A customer's inbox, newest first.
CREATE INDEX notifications_inbox ON notifications (tenant, customer_id, created_at, id);
