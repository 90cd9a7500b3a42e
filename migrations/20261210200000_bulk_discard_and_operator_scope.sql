-- Bulk actions grow two ways: discard (with the reason every run gets) beside requeue, and operator
-- jobs across tenants from the console's failures page (tenant_id NULL: the filter may still name one).
-- `from_states` are the states the runs matched in; a run found in another state when the job reaches
-- it changed meanwhile and is refused, not forced. Empty means any state the action accepts (jobs
-- queued before this migration).
ALTER TABLE bulk_actions ALTER COLUMN tenant_id DROP NOT NULL;
ALTER TABLE bulk_actions DROP CONSTRAINT bulk_actions_action_check;
ALTER TABLE bulk_actions ADD CONSTRAINT bulk_actions_action_check CHECK (action IN ('requeue', 'discard'));
ALTER TABLE bulk_actions
    ADD COLUMN reason text CHECK (char_length(reason) BETWEEN 1 AND 500),
    ADD COLUMN from_states text[] NOT NULL DEFAULT '{}';
ALTER TABLE bulk_actions ADD CONSTRAINT bulk_actions_discard_reason CHECK ((action = 'discard') = (reason IS NOT NULL));
-- Operator jobs need their tenant-less scope to be an operator's.
ALTER TABLE bulk_actions ADD CONSTRAINT bulk_actions_scope CHECK (tenant_id IS NOT NULL OR operator);
CREATE INDEX bulk_actions_operator ON bulk_actions (created_at DESC) WHERE tenant_id IS NULL;
