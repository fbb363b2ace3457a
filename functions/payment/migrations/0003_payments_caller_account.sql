-- 0003: the caller's AWS account (API Gateway AWS_IAM authorization,
-- requestContext.identity.accountId) on every ledger row, and idempotency
-- keys scoped per caller: two callers may use the same Idempotency-Key, one
-- caller may not reuse it.
--
-- Rows written before this migration (unsigned API) keep NULL and are frozen:
-- they were unique per key when written, no caller can read them through
-- GET /payments/{id} (reads are scoped to the creating account), and no new
-- row may omit its caller (the NOT VALID check binds new and updated rows
-- only; never VALIDATE it while such rows exist).
ALTER TABLE payments
    ADD COLUMN caller_account_id text
        CONSTRAINT payments_caller_account_id_format CHECK (caller_account_id ~ '^[0-9]{12}$');

ALTER TABLE payments
    ADD CONSTRAINT payments_caller_account_id_required CHECK (caller_account_id IS NOT NULL) NOT VALID;

ALTER TABLE payments
    ADD CONSTRAINT payments_caller_idempotency_key_key UNIQUE (caller_account_id, idempotency_key);

ALTER TABLE payments DROP CONSTRAINT payments_idempotency_key_key;
