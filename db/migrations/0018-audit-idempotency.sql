-- Issue 15: an audit row is written once per event, however often the work that writes it runs (an
-- activity retried after its transaction committed). The writer names the event by a key;
-- INSERT ... ON CONFLICT DO NOTHING keeps the first row. Rows without a key (NULL) are distinct,
-- as before. Adding a column changes no row: the append-only triggers stay as they are.
ALTER TABLE audit_log ADD COLUMN idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 600);
ALTER TABLE audit_log ADD CONSTRAINT audit_log_idempotency_key UNIQUE (idempotency_key);

-- A retried payout finds the offsets it took by its id (payments/recoveries.ts offsetFromPayout).
CREATE INDEX recovery_offsets_payout ON recovery_offsets (payout_id);
