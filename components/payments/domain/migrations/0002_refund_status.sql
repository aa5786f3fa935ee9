-- A refund is taken from the payment when requested and made by the provider later,
-- outside any transaction: refunds made before this migration were made at once.
ALTER TABLE refunds ADD COLUMN status TEXT NOT NULL DEFAULT 'completed';
