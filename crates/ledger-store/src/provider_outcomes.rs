//! Per-provider outcomes of an event that fanned out to more than its Sage binding (magento-protocol.md
//! §8: the store sends each event once, and every provider module of the install shows its own chip).
//! The engine records what each binding made of the attempt; the attempt's finish turns them into one
//! sync-state callback per provider key, in the outcome's transaction, so a stale attempt reports
//! nothing.
use ledger_domain::{CallbackErrorCode, SyncReport, SyncStatus};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::StoreError;

/// What one binding made of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderOutcome {
    pub binding_id: Uuid,
    /// The provider key Magento's sync-state rows use (`sage_accounting`, `xero`, `freeagent`).
    pub provider: String,
    pub status: SyncStatus,
    pub report: SyncReport,
    pub error_code: Option<CallbackErrorCode>,
}

/// Records `outcomes` for the attempt `lease_token` of `event_id` (a second record of one binding
/// replaces the first).
pub async fn record(
    pool: &PgPool,
    event_id: Uuid,
    lease_token: i64,
    outcomes: &[ProviderOutcome],
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for o in outcomes {
        sqlx::query(
            "INSERT INTO event_provider_outcomes (event_id, lease_token, binding_id, provider, sync_status,
                                                  provider_entity_id, provider_reference, skip_reason, error_code)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (event_id, lease_token, binding_id) DO UPDATE
                SET sync_status = excluded.sync_status, provider_entity_id = excluded.provider_entity_id,
                    provider_reference = excluded.provider_reference, skip_reason = excluded.skip_reason,
                    error_code = excluded.error_code",
        )
        .bind(event_id)
        .bind(lease_token)
        .bind(o.binding_id)
        .bind(&o.provider)
        .bind(o.status)
        .bind(&o.report.provider_entity_id)
        .bind(&o.report.provider_reference)
        .bind(&o.report.skip_reason)
        .bind(o.error_code)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    binding_id: Uuid,
    provider: String,
    sync_status: SyncStatus,
    provider_entity_id: Option<String>,
    provider_reference: Option<String>,
    skip_reason: Option<String>,
    error_code: Option<CallbackErrorCode>,
}

/// The attempt's outcomes to report, marked reported on the caller's transaction. `None` when the
/// attempt recorded none (it did not fan out): the finish then reports the event's own outcome. With
/// `terminal` false (the event retries or waits) failures are left out, since the binding runs again.
pub(crate) async fn take_for_report(
    conn: &mut PgConnection,
    event_id: Uuid,
    lease_token: i64,
    terminal: bool,
) -> Result<Option<Vec<ProviderOutcome>>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(
        "UPDATE event_provider_outcomes
            SET reported_at = now()
          WHERE event_id = $1 AND lease_token = $2 AND reported_at IS NULL
         RETURNING binding_id, provider, sync_status, provider_entity_id, provider_reference, skip_reason, error_code",
    )
    .bind(event_id)
    .bind(lease_token)
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut out: Vec<ProviderOutcome> = rows
        .into_iter()
        .filter(|r| terminal || r.sync_status != SyncStatus::Failed)
        .map(|r| ProviderOutcome {
            binding_id: r.binding_id,
            provider: r.provider,
            status: r.sync_status,
            report: SyncReport {
                provider_entity_id: r.provider_entity_id,
                provider_reference: r.provider_reference,
                skip_reason: r.skip_reason,
            },
            error_code: r.error_code,
        })
        .collect();
    out.sort_by(|a, b| a.provider.cmp(&b.provider));
    Ok(Some(out))
}
