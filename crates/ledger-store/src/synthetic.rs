//! Synthetic finished runs for benchmarks (`ledger bench web-log`): many rows of one tenant in one
//! statement, with a realistic mix of states, spread over the last days. Never used by the service.
use ledger_domain::TenantId;
use sqlx::PgPool;

use crate::StoreError;

/// Inserts `count` finished `invoice.created` runs for `tenant` (90 % synced, 5 % failed, 3 %
/// dead-lettered, 2 % skipped; increment ids `000000001`…, the highest newest, 20 s apart).
pub async fn seed_finished_runs(pool: &PgPool, tenant: TenantId, count: i64) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "INSERT INTO events (id, tenant_id, idempotency_key, dedup_key, event_name, entity_type, magento_entity_id,
                             website_id, store_id, occurred_at, payload, state, attempt, received_at, finished_at,
                             sage_id, sage_reference, last_error_class, last_error)
         SELECT gen_random_uuid(), $1, 'bench:' || g, 'bench:' || g, 'invoice.created', 'invoice', g, 1, 1, at,
                jsonb_build_object('magento_entity_id', g, 'website_id', 1, 'store_id', 1,
                                   'payload', jsonb_build_object('increment_id', lpad(g::text, 9, '0'), 'paid', false)),
                state, 1, at, at + interval '1 second',
                CASE WHEN state = 'synced' THEN 'sage-' || g END,
                CASE WHEN state = 'synced' THEN 'SI-' || g END,
                CASE WHEN state = 'failed' THEN 'validation' WHEN state = 'dead_lettered' THEN 'transient' END,
                CASE WHEN state = 'failed' THEN 'Sage refused the invoice'
                     WHEN state = 'dead_lettered' THEN 'Sage answered 503' END
           FROM (SELECT g, now() - make_interval(secs => ($2 - g) * 20) AS at,
                        CASE WHEN g % 100 < 90 THEN 'synced' WHEN g % 100 < 95 THEN 'failed'
                             WHEN g % 100 < 98 THEN 'dead_lettered' ELSE 'skipped' END AS state
                   FROM generate_series(1, $2) AS g) s",
    )
    .bind(tenant.0)
    .bind(count)
    .execute(pool)
    .await?;
    sqlx::query("ANALYZE events").execute(pool).await?;
    Ok(done.rows_affected())
}
