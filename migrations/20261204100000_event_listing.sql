-- Operators page through a tenant's events newest first (keyset on received_at DESC, id).
CREATE INDEX events_tenant_received ON events (tenant_id, received_at DESC, id);
