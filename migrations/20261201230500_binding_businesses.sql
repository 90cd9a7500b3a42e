-- The businesses the authorising provider user can reach, listed when a connect completes, so an
-- operator can pick one when there are several (and a reconnect can keep the one already bound).
-- Replaced by every connect, emptied by a disconnect.
CREATE TABLE binding_businesses (
    binding_id          uuid NOT NULL REFERENCES bindings (id) ON DELETE CASCADE,
    business_id         text NOT NULL,
    name                text NOT NULL,
    -- NULL when no active subscription names a tier we know; such a business cannot be picked.
    tier                text CHECK (tier IN ('start', 'standard', 'plus')),
    region              text,
    base_currency       text CHECK (base_currency ~ '^[A-Z]{3}$'),
    subscription_active boolean NOT NULL,
    -- The order the provider listed them in.
    position            integer NOT NULL,
    listed_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (binding_id, business_id)
);
