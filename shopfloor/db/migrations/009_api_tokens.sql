-- API tokens of the one token-and-role scheme (shopfloor/auth): only the SHA-256 hash of a token is kept.
-- The token id (a public part of the token) finds the row; the hash is compared in constant time.
CREATE TABLE IF NOT EXISTS api_token (
    token_id    text PRIMARY KEY,
    token_hash  text NOT NULL,
    name        text NOT NULL,
    roles       text[] NOT NULL CHECK (cardinality(roles) > 0),
    -- Scope: NULL is no limit. Portals filter by these.
    customer_id text,
    supplier_id text,
    line        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
