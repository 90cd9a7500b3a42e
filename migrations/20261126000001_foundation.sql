-- Tenants, event runs (the outbox), their attempts, JWT replay protection and worker heartbeats.

CREATE TABLE tenants (
    id                        uuid PRIMARY KEY,
    name                      text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- AEAD ciphertext of the api_key (key id inside); never stored in clear.
    api_key_enc               bytea NOT NULL,
    -- Bumped whenever the api_key changes (re-pairing), so cached keys can be told stale.
    key_version               integer NOT NULL DEFAULT 1,
    status                    text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    magento_base_url          text,
    magento_connection_status text NOT NULL DEFAULT 'pending'
        CHECK (magento_connection_status IN ('pending', 'active', 'token_revoked')),
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    revoked_at                timestamptz
);

-- Single use of Magento's JWT ids, shared by every API process.
CREATE TABLE jwt_replay (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    jti        text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, jti)
);
CREATE INDEX jwt_replay_expiry ON jwt_replay (expires_at);

-- One row per run of an event. The row is the one authority for its sync state; the apalis task that
-- points at it is a disposable trigger.
CREATE TABLE events (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants (id),
    idempotency_key   text NOT NULL,
    -- Equals idempotency_key while this run answers duplicates; NULL once a newer run replaced it.
    dedup_key         text,
    rerun_of          uuid REFERENCES events (id),
    event_name        text NOT NULL CHECK (event_name IN
        ('invoice.created', 'invoice.paid', 'creditmemo.created', 'customer.upserted', 'product.upserted')),
    magento_entity_id bigint NOT NULL CHECK (magento_entity_id > 0),
    website_id        bigint NOT NULL,
    store_id          bigint NOT NULL,
    occurred_at       timestamptz NOT NULL,
    payload           jsonb NOT NULL,
    state             text NOT NULL DEFAULT 'pending' CHECK (state IN
        ('pending', 'running', 'received', 'synced', 'skipped', 'failed', 'dead_lettered')),
    attempt           integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    -- Fencing token: bumped by every claim; only the holder of the current value may record an outcome.
    lease_token       bigint NOT NULL DEFAULT 0,
    lease_expires_at  timestamptz,
    leased_by         text,
    last_error_class  text,
    last_error        text,
    -- The apalis task last pushed for this row, and when it becomes runnable.
    task_id           text,
    task_pushed_at    timestamptz NOT NULL DEFAULT now(),
    received_at       timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX events_dedup ON events (tenant_id, dedup_key) WHERE dedup_key IS NOT NULL;
CREATE INDEX events_active ON events (next_attempt_at) WHERE state IN ('pending', 'running');
CREATE INDEX events_tenant_state ON events (tenant_id, state);
CREATE INDEX events_tenant_finished ON events (tenant_id, finished_at);

-- The audit trail of every claim of an event and how it ended.
CREATE TABLE event_attempts (
    event_id    uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    lease_token bigint NOT NULL,
    attempt     integer NOT NULL,
    worker      text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    outcome     text,
    error_class text,
    detail      text,
    PRIMARY KEY (event_id, lease_token)
);

CREATE TABLE worker_heartbeats (
    worker_id  text PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now(),
    last_seen  timestamptz NOT NULL DEFAULT now()
);
