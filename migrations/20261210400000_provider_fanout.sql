-- One Magento install may pair several accounting providers to one tenant (magento-protocol.md §8): the
-- store sends each event once and the ledger fans it out to every active binding, reporting to Magento
-- per provider key.

-- expand-safe: the check is replaced by a wider one in the same transaction; every existing row ('sage_accounting') passes it
ALTER TABLE bindings DROP CONSTRAINT bindings_provider_check;
-- expand-safe: wider than the check it replaces, so the previous release's inserts ('sage_accounting') still pass
ALTER TABLE bindings ADD CONSTRAINT bindings_provider_check
    CHECK (provider IN ('sage_accounting', 'xero', 'freeagent'));

-- What each binding made of one attempt of an event that fanned out to more than its Sage binding. The
-- attempt's finish reports them to Magento, one sync-state callback per provider, in its transaction.
CREATE TABLE event_provider_outcomes (
    event_id           uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    lease_token        bigint NOT NULL,
    binding_id         uuid NOT NULL REFERENCES bindings (id) ON DELETE CASCADE,
    provider           text NOT NULL CHECK (length(provider) BETWEEN 1 AND 32),
    sync_status        text NOT NULL CHECK (sync_status IN ('synced', 'skipped', 'failed')),
    provider_entity_id text,
    provider_reference text,
    skip_reason        text,
    error_code         text,
    reported_at        timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, lease_token, binding_id)
);
CREATE INDEX event_provider_outcomes_binding ON event_provider_outcomes (binding_id);
