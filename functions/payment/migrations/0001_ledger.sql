-- 0001: the payment ledger.
-- One row per accepted payment. The idempotency key is UNIQUE so that a
-- retried request can never create a second row, whatever happened to the
-- idempotency record in DynamoDB.
CREATE TABLE payments (
    payment_id          uuid        PRIMARY KEY,
    idempotency_key     text        NOT NULL,
    request_fingerprint text        NOT NULL CHECK (request_fingerprint ~ '^[0-9a-f]{64}$'),
    amount_minor        bigint      NOT NULL CHECK (amount_minor > 0),
    currency            text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    merchant_id         text        NOT NULL CHECK (merchant_id ~ '^[A-Za-z0-9_-]{3,64}$'),
    description         text        CHECK (char_length(description) <= 200),
    status              text        NOT NULL DEFAULT 'accepted',
    region              text        NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payments_idempotency_key_key UNIQUE (idempotency_key),
    CONSTRAINT payments_idempotency_key_len CHECK (char_length(idempotency_key) BETWEEN 1 AND 255)
);
