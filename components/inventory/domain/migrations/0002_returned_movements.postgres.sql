-- Movements gain the reason `returned` (a customer's return back on hand). The CHECK of
-- 0001 is the one PostgreSQL named after its table and column.
ALTER TABLE movements DROP CONSTRAINT movements_reason_check;
ALTER TABLE movements ADD CONSTRAINT movements_reason_check
    CHECK (reason IN ('set', 'adjust', 'reserve', 'commit', 'release', 'restock', 'returned'));
