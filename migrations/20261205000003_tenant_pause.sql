-- An operator may pause a tenant: its events are still accepted and stored, but park `tenant_paused`
-- until it is resumed.
ALTER TABLE tenants
    ADD COLUMN paused_at timestamptz,
    ADD COLUMN paused_reason text CHECK (length(paused_reason) BETWEEN 1 AND 500),
    ADD CONSTRAINT tenants_pause_reason CHECK (paused_reason IS NULL OR paused_at IS NOT NULL);
