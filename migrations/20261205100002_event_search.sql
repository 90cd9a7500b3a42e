-- Searching a tenant's runs by increment id or Magento id (the event log's `q`) without walking every
-- run: the listing pre-filters on these (exact superset of what the search keeps), and a run whose
-- payload names no increment id is found through the partial index, then checked against its snapshot.
CREATE INDEX events_tenant_entity ON events (tenant_id, magento_entity_id);
CREATE INDEX events_tenant_increment ON events (tenant_id, lower(payload->'payload'->>'increment_id'));
CREATE INDEX events_tenant_no_increment ON events (tenant_id, received_at DESC, id DESC)
    WHERE (payload->'payload'->>'increment_id') IS NULL;
