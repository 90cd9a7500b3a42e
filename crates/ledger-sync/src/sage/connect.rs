//! Connecting a tenant to Sage: the authorize URL (PKCE S256, a single-use `state` bound to the tenant),
//! the callback (code exchanged at once, tokens stored, businesses listed, the binding activated or left
//! waiting for a pick), the pick, and disconnect (refresh token revoked at Sage, tokens deleted).
use std::sync::Arc;

use ledger_domain::{BindingStatus, ParkReason, SageBusinessId, TenantId};
use ledger_sage::oauth::{OAuthClient, OAuthError, PkceChallenge, TokenSet};
use ledger_store::bindings::{self, Binding, BusinessChoice};
use ledger_store::oauth_states::{self, Consumed, NewState};
use ledger_store::runs;
use ledger_store::{Keyring, PgPool, StoreError, credentials, tenants};
use secrecy::SecretString;
use url::Url;

use super::businesses::{self, ListError};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("no such tenant")]
    UnknownTenant,
    #[error("the store's binding to the ledger is revoked; pair the store again first")]
    TenantRevoked,
    #[error("sage.client_id is not configured, so Sage cannot be connected")]
    NotConfigured,
    #[error("Sage did not authorise the connection ({error}){}", .description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Denied { error: String, description: Option<String> },
    #[error("the callback carries no code and no error")]
    MissingCode,
    #[error("this connect link is unknown; start the connection again")]
    StateUnknown,
    #[error("this connect link was already used; start the connection again")]
    StateUsed,
    #[error("this connect link expired (they last 10 minutes); start the connection again")]
    StateExpired,
    /// The flow was started from a dashboard session and the callback came without it.
    #[error("this connect link was started in another browser session; sign in and start the connection again")]
    StateNotYours,
    #[error("Sage refused the authorization code (single use, valid 60 seconds): {0}; start the connection again")]
    CodeRejected(String),
    #[error("Sage could not be reached or answered unexpectedly: {0}")]
    Sage(String),
    #[error("the tenant has no Sage connection")]
    NotConnected,
    #[error("the Sage user who authorised cannot reach business {0}")]
    UnknownBusiness(String),
    #[error("business {0} cannot be connected: its Sage subscription is not active")]
    BusinessInactive(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ConnectError {
    /// Stable machine code for problem types and `--json` output.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownTenant => "unknown_tenant",
            Self::TenantRevoked => "tenant_revoked",
            Self::NotConfigured => "sage_not_configured",
            Self::Denied { .. } => "sage_authorization_denied",
            Self::MissingCode => "missing_code",
            Self::StateUnknown => "state_unknown",
            Self::StateUsed => "state_used",
            Self::StateExpired => "state_expired",
            Self::StateNotYours => "state_session_mismatch",
            Self::CodeRejected(_) => "code_rejected",
            Self::Sage(_) => "sage_unavailable",
            Self::NotConnected => "not_connected",
            Self::UnknownBusiness(_) => "unknown_business",
            Self::BusinessInactive(_) => "business_inactive",
            Self::Store(_) => "internal",
        }
    }
}

impl From<ListError> for ConnectError {
    fn from(e: ListError) -> Self {
        Self::Sage(e.to_string())
    }
}

/// What the callback received (`code`, `state`, or Sage's `error`).
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// Sage's region hint (`GB`, `CA`…).
    pub country: Option<String>,
}

/// The result of a completed authorisation.
#[derive(Debug)]
pub struct Connected {
    pub binding: Binding,
    /// The flow was started from a dashboard session (the callback may send the merchant back there).
    pub from_dashboard: bool,
    /// Every business the user can reach; the binding is `active` when one was chosen.
    pub businesses: Vec<BusinessChoice>,
}

impl Connected {
    pub fn needs_business_choice(&self) -> bool {
        self.binding.status != BindingStatus::Active
    }
}

/// The connect service; one per process, shared by the API and the CLI.
pub struct SageConnect {
    pool: PgPool,
    keyring: Arc<Keyring>,
    oauth: OAuthClient,
    api: businesses::Api,
    redirect_uri: String,
    configured: bool,
}

impl SageConnect {
    pub fn new(
        pool: PgPool,
        keyring: Arc<Keyring>,
        oauth: OAuthClient,
        api_base: Url,
        http: reqwest::Client,
        redirect_uri: String,
        configured: bool,
    ) -> Self {
        Self { pool, keyring, oauth, api: businesses::Api::new(api_base, http), redirect_uri, configured }
    }

    /// Passes the calls made at connect (`/businesses`, each business, its financial settings) through
    /// `gate`, the app-wide Sage budget.
    pub fn with_gate(mut self, gate: Arc<dyn ledger_sage::CallGate>) -> Self {
        self.api = self.api.with_gate(gate);
        self
    }

    async fn paired_tenant(&self, tenant: TenantId) -> Result<(), ConnectError> {
        match tenants::get(&self.pool, tenant).await? {
            None => Err(ConnectError::UnknownTenant),
            Some(t) if !t.is_active() => Err(ConnectError::TenantRevoked),
            Some(_) => Ok(()),
        }
    }

    /// Starts a connect: a fresh `state` and PKCE pair, stored for 10 minutes; the URL to send the
    /// merchant to.
    pub async fn start(&self, tenant: TenantId) -> Result<Url, ConnectError> {
        self.start_bound(tenant, None).await
    }

    /// [`Self::start`] for a dashboard session: the callback completes the flow only when it comes with
    /// the session whose token hashes to `session_hash`.
    pub async fn start_bound(&self, tenant: TenantId, session_hash: Option<&[u8]>) -> Result<Url, ConnectError> {
        if !self.configured {
            return Err(ConnectError::NotConfigured);
        }
        self.paired_tenant(tenant).await?;
        let state = random_token();
        let (challenge, verifier) = PkceChallenge::generate();
        let flow = NewState {
            tenant,
            provider: bindings::SAGE,
            state: &state,
            pkce_verifier: &verifier,
            redirect_uri: &self.redirect_uri,
            ttl: oauth_states::STATE_TTL,
            session_hash,
        };
        oauth_states::insert(&self.pool, &self.keyring, &flow).await?;
        tracing::info!(tenant_id = %tenant, "Sage connect started");
        Ok(self.oauth.authorize_url(secrecy::ExposeSecret::expose_secret(&state), &challenge))
    }

    /// Completes a connect from Sage's redirect: uses the state up, exchanges the code at once (it dies in
    /// 60 s), stores the tokens, lists the businesses and binds one when the choice is clear.
    pub async fn complete(&self, params: &CallbackParams) -> Result<Connected, ConnectError> {
        self.complete_from(params, None).await
    }

    /// [`Self::complete`] for a browser presenting the dashboard session whose token hashes to
    /// `session_hash`: a flow bound to a session completes only with that session. The state is used up
    /// either way, so a link taken to another browser cannot be tried again.
    pub async fn complete_from(
        &self,
        params: &CallbackParams,
        session_hash: Option<&[u8]>,
    ) -> Result<Connected, ConnectError> {
        let state = params.state.as_deref().filter(|s| !s.is_empty()).ok_or(ConnectError::StateUnknown)?;
        let consumed = match oauth_states::consume(&self.pool, &self.keyring, state).await? {
            Consumed::Valid(c) => c,
            Consumed::Unknown => return Err(ConnectError::StateUnknown),
            Consumed::Used => return Err(ConnectError::StateUsed),
            Consumed::Expired => return Err(ConnectError::StateExpired),
        };
        let tenant = consumed.tenant;
        let from_dashboard = consumed.session_hash.is_some();
        if let Some(bound) = &consumed.session_hash
            && session_hash != Some(bound.as_slice())
        {
            tracing::warn!(tenant_id = %tenant, "Sage callback without the session that started the connect");
            return Err(ConnectError::StateNotYours);
        }
        if let Some(error) = &params.error {
            let class = OAuthError::from_authorize_error(error, params.error_description.as_deref());
            tracing::info!(tenant_id = %tenant, error, class = %class, "Sage connect not authorised");
            return Err(match class {
                OAuthError::Transient(m) => ConnectError::Sage(format!("{error}: {m}; try again in a few minutes")),
                _ => ConnectError::Denied { error: error.clone(), description: params.error_description.clone() },
            });
        }
        let code = params.code.as_deref().filter(|c| !c.is_empty()).ok_or(ConnectError::MissingCode)?;
        self.paired_tenant(tenant).await?;
        let tokens = self.oauth.exchange_code(code, &consumed.pkce_verifier).await.map_err(|e| match e {
            OAuthError::InvalidGrant(m) | OAuthError::Denied(m) => ConnectError::CodeRejected(m),
            other => ConnectError::Sage(other.to_string()),
        })?;
        let binding = {
            let mut tx = self.pool.begin().await.map_err(StoreError::from)?;
            let binding = bindings::ensure_sage(&mut tx, tenant).await?;
            credentials::save(&mut tx, &self.keyring, binding.id, &stored(&tokens)).await?;
            tx.commit().await.map_err(StoreError::from)?;
            binding
        };
        let list = self.api.businesses(&tokens.access_token, params.country.as_deref()).await?;
        let mut done = self.settle(tenant, binding, list).await?;
        done.from_dashboard = from_dashboard;
        Ok(done)
    }

    /// Records the businesses offered and binds one: the one bound before (a reconnect), else the only one.
    async fn settle(
        &self,
        tenant: TenantId,
        binding: Binding,
        list: Vec<BusinessChoice>,
    ) -> Result<Connected, ConnectError> {
        let previous = binding.business_id.as_ref().and_then(|id| list.iter().find(|b| &b.id == id));
        let pickable: Vec<&BusinessChoice> = list.iter().filter(|b| b.pickable()).collect();
        let chosen = match (previous, pickable.as_slice()) {
            (Some(p), _) if p.pickable() => Some(p),
            (_, [only]) if list.len() == 1 => Some(*only),
            _ => None,
        };
        let mut tx = self.pool.begin().await.map_err(StoreError::from)?;
        bindings::replace_businesses(&mut tx, tenant, binding.id, &list).await?;
        let binding = match chosen {
            Some(b) => bindings::activate(&mut tx, tenant, binding.id, b).await?,
            None => {
                let reason = if list.len() == 1 {
                    "the Sage business has no active subscription"
                } else {
                    "choose one of the Sage user's businesses"
                };
                bindings::await_business_choice(&mut tx, tenant, binding.id, reason).await?
            }
        };
        tx.commit().await.map_err(StoreError::from)?;
        tracing::info!(tenant_id = %tenant, binding_id = %binding.id, status = %binding.status,
            businesses = list.len(), "Sage authorised");
        if binding.status == BindingStatus::Active {
            self.wake_parked(tenant).await;
        }
        Ok(Connected { binding, businesses: list, from_dashboard: false })
    }

    /// The businesses offered at the tenant's last connect; `NotConnected` when it has no live connection.
    pub async fn businesses(&self, tenant: TenantId) -> Result<Vec<BusinessChoice>, ConnectError> {
        let binding = bindings::sage(&self.pool, tenant).await?.ok_or(ConnectError::NotConnected)?;
        if binding.status == BindingStatus::Disconnected {
            return Err(ConnectError::NotConnected);
        }
        Ok(bindings::sage_businesses(&self.pool, tenant).await?)
    }

    /// Binds one of the businesses offered at connect.
    pub async fn pick(&self, tenant: TenantId, business: &SageBusinessId) -> Result<Binding, ConnectError> {
        let binding = bindings::sage(&self.pool, tenant).await?.ok_or(ConnectError::NotConnected)?;
        if binding.status == BindingStatus::Disconnected {
            return Err(ConnectError::NotConnected);
        }
        let offered = bindings::sage_businesses(&self.pool, tenant).await?;
        let choice = offered
            .iter()
            .find(|b| &b.id == business)
            .ok_or_else(|| ConnectError::UnknownBusiness(business.to_string()))?;
        if !choice.pickable() {
            return Err(ConnectError::BusinessInactive(business.to_string()));
        }
        let mut conn = self.pool.acquire().await.map_err(StoreError::from)?;
        let bound = bindings::activate(&mut conn, tenant, binding.id, choice).await?;
        tracing::info!(tenant_id = %tenant, binding_id = %bound.id, business_id = %business, "Sage business chosen");
        self.wake_parked(tenant).await;
        Ok(bound)
    }

    /// The binding is active again: work parked for want of it runs now. A failure here only delays that
    /// work until its parked delay ends, so it is logged, not returned.
    async fn wake_parked(&self, tenant: TenantId) {
        let reasons = [ParkReason::SageNotConnected, ParkReason::ReconnectRequired, ParkReason::Suspended];
        match runs::wake_parked(&self.pool, tenant, &reasons).await {
            Ok(0) => {}
            Ok(woken) => tracing::info!(tenant_id = %tenant, woken, "parked work resumes after the Sage connect"),
            Err(e) => tracing::warn!(tenant_id = %tenant, error = %e, "could not wake the parked work"),
        }
    }

    /// Revokes the refresh token at Sage, deletes the tokens and marks the binding `disconnected`.
    /// Returns the binding and whether Sage confirmed the revocation (our copy is deleted either way).
    pub async fn disconnect(&self, tenant: TenantId) -> Result<(Binding, bool), ConnectError> {
        let binding = bindings::sage(&self.pool, tenant).await?.ok_or(ConnectError::NotConnected)?;
        // Disconnected first, so the custody starts no new refresh; then the refresh lock, so one in
        // flight finishes and we revoke the refresh token that is current at Sage.
        bindings::set_status(&self.pool, tenant, binding.id, BindingStatus::Disconnected, None).await?;
        let current = match credentials::lock_for_refresh(&self.pool, &self.keyring, binding.id, LOCK_WAIT).await? {
            Some(lock) => {
                let refresh = lock.current().tokens.refresh_token.clone();
                lock.release().await?;
                Some(refresh)
            }
            None => None,
        };
        let revoked = match &current {
            Some(refresh) => match self.oauth.revoke(refresh).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(tenant_id = %tenant, error = %e, "Sage did not confirm the revocation");
                    false
                }
            },
            None => true,
        };
        let mut tx = self.pool.begin().await.map_err(StoreError::from)?;
        credentials::delete(&mut tx, binding.id).await?;
        bindings::mark_disconnected(&mut tx, tenant, binding.id).await?;
        tx.commit().await.map_err(StoreError::from)?;
        tracing::info!(tenant_id = %tenant, binding_id = %binding.id, revoked, "Sage disconnected");
        let binding = bindings::sage(&self.pool, tenant).await?.ok_or(ConnectError::NotConnected)?;
        Ok((binding, revoked))
    }
}

/// How long a disconnect waits for a refresh in flight.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// The pair as stored: expiry instants from the lifetimes Sage sent.
fn stored(tokens: &TokenSet) -> credentials::StoredTokens {
    let now = chrono::Utc::now();
    // Capped at a year: no Sage lifetime comes close, and the sum cannot overflow.
    let after = |d: std::time::Duration| {
        now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX).min(chrono::Duration::days(366))
    };
    credentials::StoredTokens {
        access_token: tokens.access_token.clone(),
        access_expires_at: after(tokens.access_expires_in),
        refresh_token: tokens.refresh_token.clone(),
        refresh_expires_at: after(tokens.refresh_expires_in),
        scope: tokens.scope.clone(),
        requested_by_id: tokens.requested_by_id.clone(),
    }
}

/// 32 random bytes, base64url: the `state`.
fn random_token() -> SecretString {
    use base64::Engine;
    use rand::RngCore;
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
}
