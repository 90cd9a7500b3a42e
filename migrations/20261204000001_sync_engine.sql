-- The sync engine: work parked without burning attempts, runs discarded by a person, what each run
-- wrote to Sage (cross-references), and each attempt's Magento snapshot and Sage calls for the audit.

ALTER TABLE events DROP CONSTRAINT events_state_check;
ALTER TABLE events ADD CONSTRAINT events_state_check CHECK (state IN
    ('pending', 'running', 'received', 'synced', 'skipped', 'failed', 'dead_lettered', 'discarded'));

-- Why a pending event waits without spending attempts; cleared when it runs again.
ALTER TABLE events
    ADD COLUMN parked_reason text CHECK (parked_reason IN
        ('sage_not_connected', 'reconnect_required', 'suspended', 'tenant_paused', 'rate_limited')),
    ADD COLUMN discard_reason text CHECK (length(discard_reason) BETWEEN 1 AND 500),
    -- What the run ended with in Sage (the document for invoice events, the contact, the item…).
    ADD COLUMN sage_id text CHECK (length(sage_id) <= 64),
    ADD COLUMN sage_reference text CHECK (length(sage_reference) <= 64);
CREATE INDEX events_parked ON events (tenant_id, parked_reason) WHERE state = 'pending' AND parked_reason IS NOT NULL;

-- One Magento thing → the Sage record the ledger made for it, per binding. `magento_key` names the
-- Magento side (`123` for an entity id, `guest:<hash>` for a guest by email, `b2c` for the fallback
-- contact); `currency` is '' where the record does not depend on it.
CREATE TABLE sage_xrefs (
    binding_id     uuid NOT NULL REFERENCES bindings (id) ON DELETE CASCADE,
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    kind           text NOT NULL CHECK (kind IN
        ('contact', 'sales_invoice', 'receipt', 'sales_credit_note', 'refund', 'product', 'service', 'stock_item')),
    magento_key    text NOT NULL CHECK (length(magento_key) BETWEEN 1 AND 100),
    currency       text NOT NULL DEFAULT '' CHECK (currency = '' OR currency ~ '^[A-Z]{3}$'),
    sage_id        text NOT NULL CHECK (length(sage_id) BETWEEN 1 AND 64),
    -- The document number or contact reference Sage shows (SI-27, C1F), when it has one.
    sage_reference text CHECK (length(sage_reference) <= 64),
    -- What later runs need without asking Sage again (the contact of an invoice, stock held…).
    detail         jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (binding_id, kind, magento_key, currency)
);
CREATE INDEX sage_xrefs_tenant ON sage_xrefs (tenant_id);

-- The canonical Magento entity an attempt started from.
ALTER TABLE event_attempts ADD COLUMN snapshot jsonb;

-- Every Sage call an attempt made, in order, with bodies (no secrets: headers are not kept).
CREATE TABLE sage_calls (
    event_id      uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    lease_token   bigint NOT NULL,
    seq           integer NOT NULL,
    started_at    timestamptz NOT NULL,
    method        text NOT NULL,
    path          text NOT NULL,
    status        integer,
    latency_ms    integer NOT NULL,
    x_request_id  text,
    request_body  jsonb,
    response_body jsonb,
    error         text,
    PRIMARY KEY (event_id, lease_token, seq)
);
