//! `SimConfig`: every setting of the simulator, one per confirmed limit or uncertain Sage behaviour.

use std::time::Duration;

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// How `exchange_rate` on a document relates base and foreign currency (spec 5.8, open question 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FxDirection {
    /// `exchange_rate` = foreign units per 1 base unit; base amount = amount / rate (default).
    ForeignPerBase,
    /// `exchange_rate` = base units per 1 foreign unit; base amount = amount × rate.
    BasePerForeign,
}

/// What happens when `items_per_page` exceeds 200 (spec 2.3, open question 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverMaxPage {
    /// Silently use 200 (default).
    Clamp,
    /// Answer 422 `RecordInvalid` on `items_per_page`.
    Reject,
}

/// Replay of an `idempotency_id` with a different body (spec 7, uncertain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdempotencyBodyMismatch {
    /// Return the first stored response (default).
    ReplayFirst,
    /// Answer 422 `RecordInvalid` on `idempotency_id`.
    Reject,
}

/// An extra tax rate added to every seeded business (e.g. the 9.25 % rate of Sage's worked example).
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraTaxRate {
    pub id: String,
    pub name: String,
    pub percentage: Decimal,
}

/// Every setting of the simulator. `Default` gives the behaviour documented in `docs/sage-sim.md`.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seed for ids and fault randomness; the same seed gives the same seeded world.
    pub seed: u64,
    /// Skip the consent page: `/oauth2/auth/central` redirects straight back with a code.
    pub auto_approve: bool,
    /// The one registered OAuth client (any loopback redirect URI is accepted for it).
    pub client_id: String,
    pub client_secret: String,
    /// Extra exact redirect URIs accepted besides loopback ones.
    pub extra_redirect_uris: Vec<String>,
    /// Access token lifetime (Sage: 300 s).
    pub access_token_ttl: Duration,
    /// Refresh token lifetime (Sage: 31 days).
    pub refresh_token_ttl: Duration,
    /// Authorization code lifetime (Sage: 60 s), single use.
    pub code_ttl: Duration,
    /// How long a rotated refresh token still works (spec 1.5 [U]); zero = strict single use.
    pub refresh_grace: Duration,
    /// Accept client credentials via HTTP Basic auth on `/token` and `/revoke` (spec 1.3 [U]).
    pub token_basic_auth: bool,
    /// Check line `tax_amount` against `net × rate` at all (spec 6 / open question 5).
    pub validate_tax_amount: bool,
    /// Exact line tax: no tolerance at all (overrides `tax_tolerance`).
    pub strict_tax: bool,
    /// Accepted difference between supplied and computed line tax when not strict (default 0.01).
    pub tax_tolerance: Decimal,
    /// Reject supplied line `net_amount`/`total_amount` and header totals that differ from the computed ones (spec 6 [U]).
    pub validate_supplied_totals: bool,
    /// `exchange_rate` convention (spec 5.8 [U]).
    pub fx_direction: FxDirection,
    /// `items_per_page > 200` (spec 2.3 [U]).
    pub over_max_page: OverMaxPage,
    /// HTTP status for an `X-Business` the user cannot access (spec 2.1 [U]); error code `AccessDenied`.
    pub invalid_business_status: u16,
    /// HTTP status for `RecordNotFound` on a bad referenced id in a body (spec 4.2 [U]).
    pub bad_reference_status: u16,
    /// HTTP status for `IdempotencyResourceMismatch` (spec 7 [U]).
    pub idempotency_mismatch_status: u16,
    /// HTTP status for a date on or before `year_end_lockdown_date` (spec 8.13 [U]).
    pub lock_date_status: u16,
    /// HTTP status when the subscription tier lacks a feature (not documented by Sage).
    pub tier_denied_status: u16,
    /// How long an `idempotency_id` is remembered (Sage: 7 days).
    pub idempotency_ttl: Duration,
    /// A replayed idempotent request answers 200 instead of the original status (spec 7 [U]).
    pub idempotency_replay_ok: bool,
    /// Same `idempotency_id`, different body (spec 7 [U]).
    pub idempotency_body_mismatch: IdempotencyBodyMismatch,
    /// `GET /sales_invoices/{id}` without `mark_as_sent=false` sets `sent: true` (spec 5.2 / open question 7).
    pub get_marks_as_sent: bool,
    /// Payments must be in the currency of the documents they pay (spec 5.4 [U]).
    pub payment_currency_must_match: bool,
    /// Standard tier may POST credit notes (the OpenAPI lists Plus and Start only, spec 5.3 [U]).
    pub credit_notes_on_standard: bool,
    /// A deleted contact's reference stays reserved (spec 5.1 [U]).
    pub deleted_reference_reserved: bool,
    /// Per-app daily request budget (Sage: 1,296,000).
    pub daily_budget: u64,
    /// Per-app in-flight request cap (Sage: 150).
    pub concurrency_cap: usize,
    /// Optional per-business requests per minute (spec 3 [U]; the old v3.0 limit was 200).
    pub per_business_per_minute: Option<u32>,
    /// `Retry-After` seconds on budget/concurrency 429s (spec 3 [U]); `None` = no header.
    pub rate_limit_retry_after: Option<u64>,
    /// First date a document may carry (`financial_settings.accounts_start_date`).
    pub accounts_start_date: NaiveDate,
    /// `financial_settings.year_end_lockdown_date`; documents on or before it are rejected.
    pub lockdown_date: Option<NaiveDate>,
    /// Multi-currency switch of the Plus, Standard and Start businesses.
    pub multi_currency: [bool; 3],
    /// Extra payment method ids beyond CASH, CREDIT_DEBIT, ELECTRONIC (e.g. `CHEQUE`).
    pub extra_payment_methods: Vec<String>,
    /// Extra tax rates added to every business.
    pub extra_tax_rates: Vec<ExtraTaxRate>,
    /// Credit note number prefix (Sage's default is not documented).
    pub credit_note_prefix: String,
    /// Seeded rates, foreign units per 1 GBP (converted when `fx_direction` is `BasePerForeign`).
    pub eur_per_gbp: Decimal,
    pub usd_per_gbp: Decimal,
    /// How long a hung request sleeps before giving up (far past any client timeout).
    pub hang_duration: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            auto_approve: false,
            client_id: "sage-sim".to_owned(),
            client_secret: "sage-sim-secret".to_owned(),
            extra_redirect_uris: Vec::new(),
            access_token_ttl: Duration::from_secs(300),
            refresh_token_ttl: Duration::from_secs(2_678_400),
            code_ttl: Duration::from_secs(60),
            refresh_grace: Duration::ZERO,
            token_basic_auth: true,
            validate_tax_amount: true,
            strict_tax: false,
            tax_tolerance: Decimal::new(1, 2),
            validate_supplied_totals: false,
            fx_direction: FxDirection::ForeignPerBase,
            over_max_page: OverMaxPage::Clamp,
            invalid_business_status: 403,
            bad_reference_status: 404,
            idempotency_mismatch_status: 422,
            lock_date_status: 422,
            tier_denied_status: 403,
            idempotency_ttl: Duration::from_secs(7 * 24 * 3600),
            idempotency_replay_ok: false,
            idempotency_body_mismatch: IdempotencyBodyMismatch::ReplayFirst,
            get_marks_as_sent: true,
            payment_currency_must_match: true,
            credit_notes_on_standard: true,
            deleted_reference_reserved: true,
            daily_budget: 1_296_000,
            concurrency_cap: 150,
            per_business_per_minute: None,
            rate_limit_retry_after: None,
            accounts_start_date: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default(),
            lockdown_date: None,
            multi_currency: [true, false, false],
            extra_payment_methods: Vec::new(),
            extra_tax_rates: Vec::new(),
            credit_note_prefix: "SCN-".to_owned(),
            eur_per_gbp: Decimal::new(117, 2),
            usd_per_gbp: Decimal::new(127, 2),
            hang_duration: Duration::from_secs(3600),
        }
    }
}
