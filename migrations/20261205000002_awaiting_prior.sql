-- A credit memo waits, parked, while an earlier event of its invoice is unfinished.
ALTER TABLE events DROP CONSTRAINT events_parked_reason_check;
ALTER TABLE events ADD CONSTRAINT events_parked_reason_check CHECK (parked_reason IN
    ('sage_not_connected', 'reconnect_required', 'suspended', 'tenant_paused', 'rate_limited', 'awaiting_prior'));
