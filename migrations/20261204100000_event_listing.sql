-- Operators page through a tenant's runs newest first (keyset on received_at DESC, id DESC), and within
-- one state (dead letters, failures). The state index also serves every (tenant_id, state) lookup of
-- the index it replaces, so runs changing state keep updating as many indexes as before.
CREATE INDEX events_tenant_received ON events (tenant_id, received_at DESC, id DESC);
CREATE INDEX events_tenant_state_received ON events (tenant_id, state, received_at DESC, id DESC);
DROP INDEX events_tenant_state;
