-- Identifiers (issue 25): every stored order number is one the gateway accepts (gateway/protocol.ts
-- ORDER_NO_PATTERN). Repayment and recovery collections had the CHECK already; payouts and
-- deposits now do too, so an order number that could never reach the gateway is refused on write.
ALTER TABLE payouts ADD CONSTRAINT payouts_order_no_check CHECK (order_no ~ '^[A-Za-z0-9_-]{1,64}$');
ALTER TABLE deposits ADD CONSTRAINT deposits_order_no_check CHECK (order_no ~ '^[A-Za-z0-9_-]{1,64}$');
