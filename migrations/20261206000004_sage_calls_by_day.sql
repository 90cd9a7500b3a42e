-- The operator console shows each tenant's share of today's Sage budget: today's calls, found by time.
CREATE INDEX sage_calls_started ON sage_calls (started_at);
