-- People are told when something needs them (a binding to reconnect, a store whose key was revoked,
-- dead letters piling up): at most one alert per tenant, condition and UTC day, each mailed through
-- mail_outbox and, when an alert webhook is configured, posted to it (delivery state kept here).
CREATE TABLE alerts (
    id bigserial PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    condition text NOT NULL
        CHECK (condition IN ('sage_reconnect_required', 'sage_suspended', 'store_token_revoked', 'dead_letters')),
    day date NOT NULL,
    detail text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    webhook_state text NOT NULL DEFAULT 'none' CHECK (webhook_state IN ('none', 'pending', 'sent', 'failed')),
    webhook_attempts integer NOT NULL DEFAULT 0,
    webhook_next_at timestamptz,
    webhook_last_error text,
    UNIQUE (tenant_id, condition, day)
);
CREATE INDEX alerts_webhook_due ON alerts (webhook_next_at) WHERE webhook_state = 'pending';

-- The dead-letter condition counts each tenant's dead letters of the last 24 hours every minute.
CREATE INDEX events_dead_lettered ON events (finished_at) WHERE state = 'dead_lettered';
