-- A bulk retry confirmed in the dashboard runs as a background job: the runs it acts on are fixed at
-- the confirmation (the set the merchant was shown), worked through in batches by any worker process
-- under a lease, with its progress kept here for the page's progress bar.
CREATE TABLE bulk_actions (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id uuid REFERENCES accounts (id) ON DELETE SET NULL,
    actor_email text NOT NULL,
    operator boolean NOT NULL DEFAULT false,
    action text NOT NULL CHECK (action IN ('requeue')),
    filters text NOT NULL,
    event_ids uuid[] NOT NULL,
    total integer NOT NULL,
    done integer NOT NULL DEFAULT 0,
    refused integer NOT NULL DEFAULT 0,
    state text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'finished')),
    claimed_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX bulk_actions_running ON bulk_actions (created_at) WHERE state = 'running';
CREATE INDEX bulk_actions_tenant ON bulk_actions (tenant_id, created_at DESC);
