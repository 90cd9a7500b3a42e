-- pgbench reference for the ingest path: one transaction with the same statements the webhook handler
-- runs for a new event (jti insert guarded by the tenant's status and key version, event insert with its
-- idempotency conflict handling, apalis task insert as apalis-postgres's push_tasks builds it).
-- Run by bench/ingest.sh with -M prepared and -D tenant=<uuid>. (JSON is built with jsonb_build_object
-- because pgbench would read `:name` inside a literal as a variable.)
\set k random(1, 9000000000000000000)
BEGIN;
INSERT INTO jwt_replay (tenant_id, jti, expires_at)
  SELECT :tenant::uuid, gen_random_uuid()::text, now() + interval '65 seconds'
    FROM tenants WHERE id = :tenant::uuid AND key_version = 1 AND (status = 'active' OR NOT true)
  ON CONFLICT DO NOTHING;
INSERT INTO events (id, tenant_id, idempotency_key, dedup_key, rerun_of, event_name, entity_type, magento_entity_id,
                    website_id, store_id, occurred_at, payload, task_id)
  VALUES (gen_random_uuid(), :tenant::uuid, 'bench.created:' || :k, 'bench.created:' || :k, NULL, 'invoice.created', 'invoice', 42,
          1, 1, now(), jsonb_build_object('magento_entity_id', 42, 'website_id', 1, 'store_id', 1, 'occurred_at', '2026-01-01T00' || chr(58) || '00' || chr(58) || '00Z',
                             'payload', jsonb_build_object('increment_id', '000000042', 'paid', false)),
          'bench-' || :k)
  ON CONFLICT (tenant_id, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
  RETURNING id;
INSERT INTO apalis.jobs (id, job_type, job, status, attempts, max_attempts, run_at, priority, metadata, idempotency_key)
  SELECT unnest(ARRAY['bench-' || :k]::text[]), 'ledger.events',
         unnest(ARRAY[convert_to(jsonb_build_object('event_id', gen_random_uuid())::text, 'UTF8')]::bytea[]),
         'Pending', 0, unnest(ARRAY[1]::integer[]), to_timestamp(unnest(ARRAY[extract(epoch FROM now())::bigint])),
         unnest(ARRAY[0]::integer[]), unnest(ARRAY[''::hstore]), unnest(ARRAY[NULL]::text[]);
END;
