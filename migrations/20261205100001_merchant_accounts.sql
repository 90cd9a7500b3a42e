-- Merchant and operator accounts for the dashboard, their sessions, sign-in throttling, the tenants a
-- merchant owns, and the operator audit log.

CREATE TABLE accounts (
    id uuid PRIMARY KEY,
    email text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    -- PHC string of an argon2id hash; never the password.
    password_hash text NOT NULL,
    role text NOT NULL DEFAULT 'merchant' CHECK (role IN ('merchant', 'operator')),
    -- Set for one-time passwords (`ledger operator create`): the next sign-in must choose a new one.
    must_change_password boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email));

-- A signed-in browser. The cookie carries a random token; only its SHA-256 is stored, so a database
-- read does not hand out sessions. Every form of the session carries `csrf_token`.
CREATE TABLE web_sessions (
    token_hash bytea PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX web_sessions_account ON web_sessions (account_id);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

-- Failed sign-ins, counted per account (email) and per client address over a sliding window.
CREATE TABLE sign_in_failures (
    id bigserial PRIMARY KEY,
    email text NOT NULL,
    client_ip text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_failures_email ON sign_in_failures (lower(email), at);
CREATE INDEX sign_in_failures_ip ON sign_in_failures (client_ip, at);

-- The merchant who owns a tenant (a store); NULL until one signs up and pairs it, or an operator assigns it.
ALTER TABLE tenants ADD COLUMN merchant_id uuid REFERENCES accounts (id) ON DELETE SET NULL;
CREATE INDEX tenants_merchant ON tenants (merchant_id) WHERE merchant_id IS NOT NULL;

-- What operators did through the console: who, what, on what, how many, when.
CREATE TABLE operator_audit (
    id bigserial PRIMARY KEY,
    account_id uuid REFERENCES accounts (id) ON DELETE SET NULL,
    actor_email text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    affected integer NOT NULL DEFAULT 0,
    detail text,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX operator_audit_at ON operator_audit (at DESC);

-- A connect started from the dashboard is bound to the merchant's session (the SHA-256 of its token):
-- the callback completes it only in that browser. NULL for operator and CLI connects.
ALTER TABLE oauth_states ADD COLUMN session_hash bytea;

-- The origin allowed to frame `/embed/{tenant_id}` (the Magento admin's, which often differs from the
-- storefront's); NULL means the origin of the paired base URL.
ALTER TABLE tenants ADD COLUMN embed_origin text CHECK (embed_origin ~ '^https?://[^/\s]+$');
