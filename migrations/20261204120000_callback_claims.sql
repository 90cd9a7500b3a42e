-- Claiming callbacks probes each store's oldest due callback and whether the store has one in flight;
-- these serve both probes, so a store with a large backlog does not slow every claim.
CREATE INDEX callbacks_tenant_due ON callbacks (tenant_id, next_attempt_at, id) WHERE state IN ('pending', 'delivering');
CREATE INDEX callbacks_tenant_delivering ON callbacks (tenant_id) WHERE state = 'delivering';
