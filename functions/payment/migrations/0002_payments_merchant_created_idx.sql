-- 0002: look-ups of a merchant's recent payments (reconciliation, support).
CREATE INDEX payments_merchant_created_idx ON payments (merchant_id, created_at DESC);
