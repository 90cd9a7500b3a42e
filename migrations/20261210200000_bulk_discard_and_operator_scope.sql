-- Bulk actions grow two ways: discard (with the reason every run gets) beside requeue, and operator
-- jobs across tenants from the console's failures page (tenant_id NULL: the filter may still name one).
-- `from_states` are the states the runs matched in; a run found in another state when the job reaches
-- it changed meanwhile and is refused, not forced. Empty means any state the action accepts (jobs
-- queued before this migration).
-- expand-safe: only operator jobs, which the previous release cannot create, leave it empty; a previous worker that claims one fails to read it and its lease hands it to a new worker
ALTER TABLE bulk_actions ALTER COLUMN tenant_id DROP NOT NULL;
-- expand-safe: replaced at once by the wider check below
ALTER TABLE bulk_actions DROP CONSTRAINT bulk_actions_action_check;
-- expand-safe: wider than the one it replaces; the previous release writes only requeue
ALTER TABLE bulk_actions ADD CONSTRAINT bulk_actions_action_check CHECK (action IN ('requeue', 'discard'));
ALTER TABLE bulk_actions
    ADD COLUMN reason text CHECK (char_length(reason) BETWEEN 1 AND 500),
    ADD COLUMN from_states text[] NOT NULL DEFAULT '{}';
-- expand-safe: the previous release writes requeue jobs without a reason, which pass
ALTER TABLE bulk_actions ADD CONSTRAINT bulk_actions_discard_reason CHECK ((action = 'discard') = (reason IS NOT NULL));
-- Operator jobs need their tenant-less scope to be an operator's.
-- expand-safe: the previous release's jobs all name their tenant
ALTER TABLE bulk_actions ADD CONSTRAINT bulk_actions_scope CHECK (tenant_id IS NOT NULL OR operator);
CREATE INDEX bulk_actions_operator ON bulk_actions (created_at DESC) WHERE tenant_id IS NULL;
