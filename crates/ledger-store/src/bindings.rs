//! Provider bindings (one per tenant and provider; Sage Accounting today): status, the chosen business,
//! its tier, region and base currency, the sync policy, and the businesses offered at connect.
use chrono::{DateTime, Utc};
use ledger_domain::{Currency, SageBusinessId, TenantId};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub use ledger_domain::{BindingStatus, Tier};

use crate::StoreError;

/// The provider key of Sage Business Cloud Accounting (the module's `provider` value too).
pub const SAGE: &str = "sage_accounting";

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Binding {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub provider: String,
    pub status: BindingStatus,
    /// Why the binding is in its status (e.g. Sage's `invalid_grant` message).
    pub status_reason: Option<String>,
    pub business_id: Option<SageBusinessId>,
    pub business_name: Option<String>,
    pub tier: Option<Tier>,
    pub region: Option<String>,
    pub base_currency: Option<Currency>,
    /// The merchant's sync policy; `{}` until the sync engine fills it.
    pub policy: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub connected_at: Option<DateTime<Utc>>,
    pub disconnected_at: Option<DateTime<Utc>>,
}

/// A business the authorising user can reach, as listed at connect.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BusinessChoice {
    pub id: SageBusinessId,
    pub name: String,
    /// `None` when no active subscription names a known tier.
    pub tier: Option<Tier>,
    pub region: Option<String>,
    pub base_currency: Option<Currency>,
    pub subscription_active: bool,
}

impl BusinessChoice {
    /// A business can be bound when its subscription is active and of a tier we know.
    pub fn pickable(&self) -> bool {
        self.subscription_active && self.tier.is_some()
    }
}

#[derive(sqlx::FromRow)]
struct BindingRow {
    id: Uuid,
    tenant_id: Uuid,
    provider: String,
    status: String,
    status_reason: Option<String>,
    business_id: Option<String>,
    business_name: Option<String>,
    tier: Option<String>,
    region: Option<String>,
    base_currency: Option<String>,
    policy: serde_json::Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    connected_at: Option<DateTime<Utc>>,
    disconnected_at: Option<DateTime<Utc>>,
}

fn corrupt(column: &'static str) -> StoreError {
    StoreError::Corrupt(column)
}

fn parse_tier(raw: Option<String>) -> Result<Option<Tier>, StoreError> {
    raw.map(|t| t.parse().map_err(|_| corrupt("tier"))).transpose()
}

fn parse_business(raw: Option<String>) -> Result<Option<SageBusinessId>, StoreError> {
    raw.map(|b| SageBusinessId::parse(&b).map_err(|_| corrupt("business_id"))).transpose()
}

fn parse_currency(raw: Option<String>) -> Result<Option<Currency>, StoreError> {
    raw.map(|c| Currency::parse(&c).map_err(|_| corrupt("base_currency"))).transpose()
}

impl TryFrom<BindingRow> for Binding {
    type Error = StoreError;
    fn try_from(r: BindingRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id,
            tenant_id: TenantId(r.tenant_id),
            provider: r.provider,
            status: r.status.parse().map_err(|_| corrupt("status"))?,
            status_reason: r.status_reason,
            business_id: parse_business(r.business_id)?,
            business_name: r.business_name,
            tier: parse_tier(r.tier)?,
            region: r.region,
            base_currency: parse_currency(r.base_currency)?,
            policy: r.policy,
            created_at: r.created_at,
            updated_at: r.updated_at,
            connected_at: r.connected_at,
            disconnected_at: r.disconnected_at,
        })
    }
}

/// The columns of [`BindingRow`], as a literal so every query stays a static string.
macro_rules! binding_columns {
    () => {
        "id, tenant_id, provider, status, status_reason, business_id, business_name, tier, region, base_currency,
         policy, created_at, updated_at, connected_at, disconnected_at"
    };
}

fn one(row: Option<BindingRow>) -> Result<Option<Binding>, StoreError> {
    row.map(Binding::try_from).transpose()
}

/// The tenant's Sage binding, if it ever started connecting.
pub async fn sage(pool: &PgPool, tenant: TenantId) -> Result<Option<Binding>, StoreError> {
    let row = sqlx::query_as::<_, BindingRow>(concat!(
        "SELECT ",
        binding_columns!(),
        " FROM bindings WHERE tenant_id = $1 AND provider = 'sage_accounting'"
    ))
    .bind(tenant.0)
    .fetch_optional(pool)
    .await?;
    one(row)
}

/// Every binding of the tenant, whatever its provider and status, Sage's first, then oldest first: the
/// bindings an event fans out to.
pub async fn for_tenant(pool: &PgPool, tenant: TenantId) -> Result<Vec<Binding>, StoreError> {
    let rows = sqlx::query_as::<_, BindingRow>(concat!(
        "SELECT ",
        binding_columns!(),
        " FROM bindings WHERE tenant_id = $1 ORDER BY provider <> 'sage_accounting', created_at, id"
    ))
    .bind(tenant.0)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(Binding::try_from).collect()
}

/// Replaces the binding's sync policy (validated by the caller); false when the binding is not the tenant's.
pub async fn set_policy(
    pool: &PgPool,
    tenant: TenantId,
    id: Uuid,
    policy: &serde_json::Value,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE bindings SET policy = $3, updated_at = now() WHERE id = $2 AND tenant_id = $1")
        .bind(tenant.0)
        .bind(id)
        .bind(policy)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// One binding of the tenant by id (`None` for another tenant's binding).
pub async fn get(pool: &PgPool, tenant: TenantId, id: Uuid) -> Result<Option<Binding>, StoreError> {
    let row = sqlx::query_as::<_, BindingRow>(concat!(
        "SELECT ",
        binding_columns!(),
        " FROM bindings WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    one(row)
}

/// The tenant's Sage binding, created in `connecting` when it has none. An existing binding keeps its
/// status (a reconnect of an active binding stays active until the connect decides otherwise).
pub async fn ensure_sage(conn: &mut PgConnection, tenant: TenantId) -> Result<Binding, StoreError> {
    let row = sqlx::query_as::<_, BindingRow>(concat!(
        "INSERT INTO bindings (id, tenant_id, provider) VALUES ($1, $2, 'sage_accounting')
         ON CONFLICT (tenant_id, provider) DO UPDATE SET updated_at = now()
         RETURNING ",
        binding_columns!()
    ))
    .bind(Uuid::new_v4())
    .bind(tenant.0)
    .fetch_one(conn)
    .await?;
    Binding::try_from(row)
}

/// Sets the status (and why), e.g. `reconnect_required` after `invalid_grant`, `suspended` after MSE.
/// Returns false when the tenant has no such binding.
pub async fn set_status(
    pool: &PgPool,
    tenant: TenantId,
    id: Uuid,
    status: BindingStatus,
    reason: Option<&str>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE bindings SET status = $3, status_reason = $4, updated_at = now() WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(status.as_str())
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Binds `business` and makes the binding `active`.
pub async fn activate(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    business: &BusinessChoice,
) -> Result<Binding, StoreError> {
    let row = sqlx::query_as::<_, BindingRow>(concat!(
        "UPDATE bindings
            SET status = 'active', status_reason = NULL, business_id = $3, business_name = $4, tier = $5,
                region = $6, base_currency = $7, connected_at = now(), disconnected_at = NULL, updated_at = now()
          WHERE tenant_id = $1 AND id = $2
      RETURNING ",
        binding_columns!()
    ))
    .bind(tenant.0)
    .bind(id)
    .bind(business.id.as_str())
    .bind(&business.name)
    .bind(business.tier.map(Tier::as_str))
    .bind(&business.region)
    .bind(business.base_currency.map(|c| c.to_string()))
    .fetch_optional(conn)
    .await?;
    one(row)?.ok_or(StoreError::NotFound("binding"))
}

/// `connecting` with a reason: authorised, waiting for an operator to pick a business.
pub async fn await_business_choice(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    reason: &str,
) -> Result<Binding, StoreError> {
    let row = sqlx::query_as::<_, BindingRow>(concat!(
        "UPDATE bindings SET status = 'connecting', status_reason = $3, disconnected_at = NULL, updated_at = now()
          WHERE tenant_id = $1 AND id = $2
      RETURNING ",
        binding_columns!()
    ))
    .bind(tenant.0)
    .bind(id)
    .bind(reason)
    .fetch_optional(conn)
    .await?;
    one(row)?.ok_or(StoreError::NotFound("binding"))
}

/// `disconnected`, and the businesses offered at connect forgotten. The business chosen last is kept, so
/// a later connect of the same Sage user binds it again.
pub async fn mark_disconnected(conn: &mut PgConnection, tenant: TenantId, id: Uuid) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE bindings SET status = 'disconnected', status_reason = NULL, disconnected_at = now(), updated_at = now()
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM binding_businesses b USING bindings x
          WHERE b.binding_id = x.id AND x.tenant_id = $1 AND x.id = $2",
    )
    .bind(tenant.0)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces the businesses offered for the binding with `list` (in the provider's order).
pub async fn replace_businesses(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    list: &[BusinessChoice],
) -> Result<(), StoreError> {
    let owned: Option<Uuid> = sqlx::query_scalar("SELECT id FROM bindings WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    if owned.is_none() {
        return Err(StoreError::NotFound("binding"));
    }
    sqlx::query("DELETE FROM binding_businesses WHERE binding_id = $1").bind(id).execute(&mut *conn).await?;
    for (position, b) in list.iter().enumerate() {
        sqlx::query(
            "INSERT INTO binding_businesses
                 (binding_id, business_id, name, tier, region, base_currency, subscription_active, position)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(b.id.as_str())
        .bind(&b.name)
        .bind(b.tier.map(Tier::as_str))
        .bind(&b.region)
        .bind(b.base_currency.map(|c| c.to_string()))
        .bind(b.subscription_active)
        .bind(i32::try_from(position).unwrap_or(i32::MAX))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ChoiceRow {
    business_id: String,
    name: String,
    tier: Option<String>,
    region: Option<String>,
    base_currency: Option<String>,
    subscription_active: bool,
}

impl TryFrom<ChoiceRow> for BusinessChoice {
    type Error = StoreError;
    fn try_from(r: ChoiceRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: parse_business(Some(r.business_id))?.ok_or_else(|| corrupt("business_id"))?,
            name: r.name,
            tier: parse_tier(r.tier)?,
            region: r.region,
            base_currency: parse_currency(r.base_currency)?,
            subscription_active: r.subscription_active,
        })
    }
}

/// The businesses offered to the tenant's Sage binding at its last connect, in Sage's order.
pub async fn sage_businesses(pool: &PgPool, tenant: TenantId) -> Result<Vec<BusinessChoice>, StoreError> {
    let rows = sqlx::query_as::<_, ChoiceRow>(
        "SELECT b.business_id, b.name, b.tier, b.region, b.base_currency, b.subscription_active
           FROM binding_businesses b JOIN bindings x ON x.id = b.binding_id
          WHERE x.tenant_id = $1 AND x.provider = 'sage_accounting'
          ORDER BY b.position",
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(BusinessChoice::try_from).collect()
}
