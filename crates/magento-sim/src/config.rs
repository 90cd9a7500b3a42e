//! Simulator settings: seed, time scale, store count, cron, and the open-question wire shapes.

use crate::canonical::{GatewayMetadataShape, PaymentMethodsShape, PingShape};
use crate::clock::Clock;

/// Default ledger base URL before pairing (the module's shipped default).
pub const DEFAULT_BASE_URL: &str = "https://ledger.byte8.io";

/// How the simulator behaves. `Default` is what `ledger magento-sim` runs with.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seed of the generated stores (store k uses a seed derived from (seed, k)).
    pub seed: u64,
    /// Speeds up the cron cadence, the retry delays and the pairing-code TTL (never JWT clocks).
    pub time_scale: f64,
    /// Number of independent stores (store k at `/s/k`, store 1 also at `/`).
    pub stores: usize,
    /// Background outbox drain every 60 s / time_scale.
    pub cron: bool,
    /// `/ping` body shape (open question 1).
    pub ping_shape: PingShape,
    /// `/payment-methods` body shape (open question 1).
    pub payment_methods_shape: PaymentMethodsShape,
    /// `gateway_metadata` shape on `/payment/:id` (open question 2).
    pub gateway_metadata_shape: GatewayMetadataShape,
    /// Refuse a `last_sync_at` in `T…Z` form with a 500, like a strict-mode MySQL might
    /// (open question 4). Default lenient.
    pub strict_last_sync_at: bool,
    /// Production mode: a JWT on a request not seen as HTTPS (`X-Forwarded-Proto: https`) is refused.
    pub require_https: bool,
    /// The store's wall clock (JWT checks, timestamps, pairing TTL).
    pub clock: Clock,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            time_scale: 1.0,
            stores: 1,
            cron: true,
            ping_shape: PingShape::default(),
            payment_methods_shape: PaymentMethodsShape::default(),
            gateway_metadata_shape: GatewayMetadataShape::default(),
            strict_last_sync_at: false,
            require_https: false,
            clock: Clock::system(),
        }
    }
}

impl SimConfig {
    /// `time_scale`, guarded against zero/negative/NaN.
    pub fn scale(&self) -> f64 {
        if self.time_scale.is_finite() && self.time_scale > 0.0 { self.time_scale } else { 1.0 }
    }
}
