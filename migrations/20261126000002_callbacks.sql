-- Sync-state callbacks to Magento: one durable row per terminal outcome, written in the outcome's
-- transaction and delivered in order per (entity, provider) by the worker pool.

CREATE UNIQUE INDEX tenants_magento_base_url ON tenants (magento_base_url) WHERE magento_base_url IS NOT NULL;

CREATE TABLE callbacks (
    id                 bigserial PRIMARY KEY,
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    event_id           uuid REFERENCES events (id),
    entity_type        text NOT NULL CHECK (entity_type IN ('invoice', 'creditmemo', 'customer', 'product')),
    magento_entity_id  bigint NOT NULL CHECK (magento_entity_id > 0),
    provider           text NOT NULL DEFAULT 'sage_accounting',
    sync_status        text NOT NULL CHECK (sync_status IN ('synced', 'skipped', 'failed')),
    provider_entity_id text CHECK (length(provider_entity_id) <= 64),
    provider_reference text CHECK (length(provider_reference) <= 64),
    skip_reason        text CHECK (length(skip_reason) <= 64),
    error_code         text CHECK (length(error_code) <= 64),
    state              text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'delivering', 'delivered', 'dead_lettered')),
    attempt            integer NOT NULL DEFAULT 0,
    next_attempt_at    timestamptz NOT NULL DEFAULT now(),
    lease_token        bigint NOT NULL DEFAULT 0,
    lease_expires_at   timestamptz,
    last_error         text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    delivered_at       timestamptz
);
CREATE INDEX callbacks_due ON callbacks (next_attempt_at, id) WHERE state IN ('pending', 'delivering');
CREATE INDEX callbacks_entity ON callbacks (tenant_id, entity_type, magento_entity_id, provider, id);
