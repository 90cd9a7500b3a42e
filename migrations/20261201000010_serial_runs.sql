-- Runs of one Magento entity are serialised in the database, and a failed run keeps what the provider said.

-- The entity an event is about, written by the ledger from the event name (EventName::entity_type).
ALTER TABLE events ADD COLUMN entity_type text;
UPDATE events SET entity_type = CASE event_name
    WHEN 'invoice.created' THEN 'invoice'
    WHEN 'invoice.paid' THEN 'invoice'
    WHEN 'creditmemo.created' THEN 'creditmemo'
    WHEN 'customer.upserted' THEN 'customer'
    WHEN 'product.upserted' THEN 'product'
END;
ALTER TABLE events
    ALTER COLUMN entity_type SET NOT NULL,
    ADD CONSTRAINT events_entity_type CHECK (entity_type IN ('invoice', 'creditmemo', 'customer', 'product'));

-- At most one running run per (tenant, entity type, Magento id): `invoice.created` and `invoice.paid` of
-- one invoice never run at once, and their callbacks are inserted in the order the runs finish. Rows
-- that already overlap (from before this rule) go back to pending; their fenced workers cannot finish.
UPDATE events e
   SET state = 'pending', lease_expires_at = NULL, leased_by = NULL, next_attempt_at = now(), updated_at = now()
 WHERE e.state = 'running'
   AND EXISTS (SELECT 1 FROM events o
                WHERE o.tenant_id = e.tenant_id AND o.entity_type = e.entity_type
                  AND o.magento_entity_id = e.magento_entity_id AND o.state = 'running' AND o.id < e.id);
CREATE UNIQUE INDEX events_one_running_per_entity ON events (tenant_id, entity_type, magento_entity_id)
    WHERE state = 'running';
-- Finding the waiting siblings of a run that finished, to trigger them at once.
CREATE INDEX events_entity_pending ON events (tenant_id, entity_type, magento_entity_id)
    WHERE state = 'pending';

-- The provider's side of the last failure (HTTP status; Sage $source/$dataCode/$message; Magento's message).
ALTER TABLE events ADD COLUMN last_http_status integer, ADD COLUMN last_error_detail jsonb;
ALTER TABLE event_attempts ADD COLUMN http_status integer, ADD COLUMN provider_detail jsonb;
