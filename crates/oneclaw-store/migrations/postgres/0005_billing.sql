-- Billing: each org's tier and overage method, a request counter per org and calendar month
-- (UTC), prepaid credits as a ledger with a running balance, x402 nonces spent, and one row per
-- paid request.
ALTER TABLE orgs ADD COLUMN tier TEXT NOT NULL DEFAULT 'free';
ALTER TABLE orgs ADD COLUMN overage_method TEXT NOT NULL DEFAULT 'credits';

CREATE TABLE usage_counters (
    org_id UUID NOT NULL,
    month TEXT NOT NULL,
    requests BIGINT NOT NULL,
    PRIMARY KEY (org_id, month)
);

CREATE TABLE credit_balances (
    org_id UUID PRIMARY KEY,
    balance_micros BIGINT NOT NULL CHECK (balance_micros >= 0)
);

CREATE TABLE credit_ledger (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL,
    kind TEXT NOT NULL,
    amount_micros BIGINT NOT NULL,
    balance_after_micros BIGINT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX credit_ledger_org ON credit_ledger (org_id, created_at);

CREATE TABLE x402_nonces (
    chain_id BIGINT NOT NULL,
    asset TEXT NOT NULL,
    payer TEXT NOT NULL,
    nonce TEXT NOT NULL,
    org_id UUID NOT NULL,
    valid_before BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (chain_id, asset, payer, nonce)
);

CREATE TABLE paid_requests (
    id UUID PRIMARY KEY,
    org_id UUID NOT NULL,
    principal_type TEXT NOT NULL,
    principal_id UUID NOT NULL,
    method TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    status_code BIGINT NOT NULL,
    price_micros BIGINT NOT NULL,
    paid_with TEXT NOT NULL,
    reference TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX paid_requests_org ON paid_requests (org_id, created_at);
