//! The merchant dashboard and the operator console: server-rendered pages (maud) over the same
//! application services as the JSON API (`ledger_sync::operations`, `ledger_sync::pairing`), with htmx
//! compiled into the binary for the live parts. Mounted beside the API by `ledger serve`.
pub mod accounts;
mod assets;
mod auth;
mod bulk;
mod dashboard;
mod embed;
mod error;
mod events;
mod layout;
mod ops;
mod ops_bulk;
mod password;
mod policy;
mod reset;
mod sage;
mod session;
mod settings;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};
use ledger_api::AppState;

pub use embed::origin_of;
pub use error::WebError;
pub use session::token_hash;

/// How many failed sign-ins are tolerated, and over how long.
#[derive(Clone, Debug)]
pub struct Throttle {
    pub window: Duration,
    /// Failed sign-ins for one email within `window` before it is refused with 429.
    pub per_account: i64,
    /// Failed sign-ins from one client address within `window` before it is refused with 429.
    pub per_ip: i64,
}

impl Default for Throttle {
    fn default() -> Self {
        Self { window: Duration::from_secs(15 * 60), per_account: 5, per_ip: 50 }
    }
}

/// The dashboard's settings (`[web]`).
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Mark cookies `Secure` (off only for plain-http development).
    pub secure_cookies: bool,
    /// How long a sign-in lasts.
    pub session_ttl: Duration,
    pub throttle: Throttle,
    /// No SMTP is configured: a reset message is written to the log at once, in the request. With
    /// SMTP the background sender (`ledger_sync::mail`) sends the outbox.
    pub log_mail_inline: bool,
    /// `sage.daily_budget`: the console shows each tenant's share of it.
    pub sage_daily_budget: u64,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            secure_cookies: true,
            session_ttl: Duration::from_secs(12 * 3600),
            throttle: Throttle::default(),
            log_mail_inline: true,
            sage_daily_budget: 1_296_000,
        }
    }
}

/// What the pages share: the API's state (pool, keyring, outbound clients) and the dashboard settings.
#[derive(Clone)]
pub struct WebState {
    pub app: AppState,
    pub config: Arc<WebConfig>,
}

/// The pages, ready to merge into the API's router (they define no fallback of their own).
pub fn router(app: AppState, config: WebConfig) -> Router {
    let state = WebState { app, config: Arc::new(config) };
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .route("/assets/{name}", get(assets::serve))
        .route("/signup", get(auth::signup_page).post(auth::signup))
        .route("/signin", get(auth::signin_page).post(auth::signin))
        .route("/signout", post(auth::signout))
        .route("/account/password", get(auth::password_page).post(auth::change_password))
        .route("/password/forgot", get(reset::forgot_page).post(reset::forgot))
        .route("/password/reset", get(reset::reset_page).post(reset::reset))
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard/stores", post(dashboard::add_store))
        .route("/stores/{tenant_id}/sage", get(sage::page))
        .route("/stores/{tenant_id}/sage/connect", post(sage::connect))
        .route("/stores/{tenant_id}/sage/business", post(sage::pick))
        .route("/stores/{tenant_id}/sage/disconnect", post(sage::disconnect))
        .route("/stores/{tenant_id}/sage/policy", get(policy::page).post(policy::save))
        .route("/stores/{tenant_id}/events", get(events::log))
        .route("/stores/{tenant_id}/events/rows", get(events::rows))
        .route("/stores/{tenant_id}/events/retry", post(bulk::retry))
        .route("/stores/{tenant_id}/events/discard", post(bulk::discard))
        .route("/stores/{tenant_id}/settings", get(settings::page).post(settings::save))
        .route("/stores/{tenant_id}/bulk/{bulk_id}", get(bulk::page))
        .route("/stores/{tenant_id}/bulk/{bulk_id}/progress", get(bulk::progress_fragment))
        .route("/events/{event_id}", get(events::detail))
        .route("/events/{event_id}/retry", post(events::retry))
        .route("/events/{event_id}/discard", post(events::discard))
        .route("/embed/{tenant_id}", get(embed::page))
        .route("/embed/{tenant_id}/rows", get(embed::rows))
        .route("/ops", get(ops::tenants))
        .route("/ops/failures", get(ops::failures))
        .route("/ops/failures/bulk", post(ops_bulk::start))
        .route("/ops/bulk/{bulk_id}", get(ops_bulk::page))
        .route("/ops/bulk/{bulk_id}/progress", get(ops_bulk::progress_fragment))
        .route("/ops/audit", get(ops::audit))
        .with_state(state)
}
