-- A tenant's share of the workers (worker.tenant_share): a claim is declined while the event's tenant
-- already has that many runs in flight; the event is marked and waits for one of them to finish (the
-- finish hands it a trigger), instead of holding a worker while Sage works through its backlog.
ALTER TABLE events ADD COLUMN waiting_for_share boolean NOT NULL DEFAULT false;
CREATE INDEX events_waiting_for_share ON events (tenant_id, received_at) WHERE waiting_for_share;
