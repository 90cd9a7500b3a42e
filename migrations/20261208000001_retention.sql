-- Retention (docs/operations.md, "Retention"): bodies of finished runs are cleared after their window;
-- these stamps say when, so a purge pass reads only what is still to clear. Nullable without a default:
-- adding them rewrites nothing. The partial indexes hold only finished runs not yet cleared, so a pass
-- is an index range scan on finished_at, and rows leave the index once cleared.
ALTER TABLE events ADD COLUMN payload_purged_at timestamptz;
ALTER TABLE events ADD COLUMN call_bodies_purged_at timestamptz;
CREATE INDEX events_payload_unpurged ON events (finished_at)
    WHERE finished_at IS NOT NULL AND payload_purged_at IS NULL;
CREATE INDEX events_call_bodies_unpurged ON events (finished_at)
    WHERE finished_at IS NOT NULL AND call_bodies_purged_at IS NULL;
-- Delivered callbacks are deleted after retention.callbacks_days.
CREATE INDEX callbacks_delivered ON callbacks (delivered_at) WHERE state = 'delivered';
-- Alerts are deleted after retention.alerts_days.
CREATE INDEX alerts_created ON alerts (created_at);
-- The metrics sampler counts dead-lettered callbacks (rare) every few seconds.
CREATE INDEX callbacks_dead_lettered ON callbacks (id) WHERE state = 'dead_lettered';
