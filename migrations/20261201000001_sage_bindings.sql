-- Provider bindings (one per tenant and accounting provider), their encrypted OAuth credentials, and the
-- single-use OAuth `state` of connect flows in progress. Nothing provider-specific lives in `tenants`.

CREATE TABLE bindings (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    provider        text NOT NULL CHECK (provider IN ('sage_accounting')),
    status          text NOT NULL DEFAULT 'connecting'
        CHECK (status IN ('connecting', 'active', 'reconnect_required', 'suspended', 'disconnected')),
    -- Why the binding is in its status (shown to merchants and operators), e.g. Sage's invalid_grant.
    status_reason   text,
    -- The provider's business (Sage: the X-Business id), chosen at connect.
    business_id     text,
    business_name   text,
    -- What the subscription allows (Sage: start, standard, plus), read from the business.
    tier            text CHECK (tier IN ('start', 'standard', 'plus')),
    region          text,
    base_currency   text CHECK (base_currency ~ '^[A-Z]{3}$'),
    -- The merchant's sync policy (typed and validated by the sync engine); empty until set.
    policy          jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    connected_at    timestamptz,
    disconnected_at timestamptz
);
CREATE UNIQUE INDEX bindings_tenant_provider ON bindings (tenant_id, provider);
CREATE INDEX bindings_business ON bindings (provider, business_id);

-- The OAuth credentials of a binding, encrypted under the keyring (key id inside each ciphertext).
-- `generation` is bumped by every refresh, so a process can tell whether another one refreshed first.
CREATE TABLE binding_credentials (
    binding_id         uuid PRIMARY KEY REFERENCES bindings (id) ON DELETE CASCADE,
    access_token_enc   bytea NOT NULL,
    access_expires_at  timestamptz NOT NULL,
    refresh_token_enc  bytea NOT NULL,
    refresh_expires_at timestamptz NOT NULL,
    generation         bigint NOT NULL DEFAULT 1,
    scope              text,
    requested_by_id    text,
    refreshed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX binding_credentials_refresh_due ON binding_credentials (refresh_expires_at);

-- Connect flows in progress: the `state` is stored hashed, single use, and expires after 10 minutes.
CREATE TABLE oauth_states (
    state_hash        bytea PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    provider          text NOT NULL CHECK (provider IN ('sage_accounting')),
    -- The PKCE verifier, encrypted like every other secret.
    pkce_verifier_enc bytea NOT NULL,
    redirect_uri      text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz NOT NULL,
    used_at           timestamptz
);
CREATE INDEX oauth_states_expiry ON oauth_states (expires_at);
