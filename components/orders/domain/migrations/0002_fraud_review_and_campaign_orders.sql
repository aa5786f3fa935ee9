-- Fraud review and group-buying orders, both dialects.
--
-- review_reasons: the names of the fraud rules that fired at creation, comma-separated
-- ('' when none); kept after approval or rejection as the record of why it was held.
-- held_payment_token: the payment token of an order in `review`, kept only while it waits
-- so approval can send the same `order.created` it held back; every status change
-- clears it (no transition leads into review, only creation does).
-- campaign_id, participant_id: set on an order placed for a campaign participant; the
-- unique index makes it one order per participant however often campaigns' events
-- mention them (NULLs never collide, so ordinary orders are unaffected). SQLite cannot
-- add a table constraint, so it is a unique index, which ON CONFLICT infers in both.
ALTER TABLE orders ADD COLUMN review_reasons TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN held_payment_token TEXT;
ALTER TABLE orders ADD COLUMN campaign_id TEXT;
ALTER TABLE orders ADD COLUMN participant_id TEXT;
CREATE UNIQUE INDEX orders_campaign_participant ON orders (tenant, campaign_id, participant_id);
