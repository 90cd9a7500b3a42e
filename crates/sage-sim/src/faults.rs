//! Fault injection: per-business or global rates of 429, 503, 500-after-commit, hangs, hangs-after-commit and latency.

use std::collections::HashMap;

use rand::Rng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use crate::state::rng_for;

/// One fault profile as `PUT /_sim/faults` takes it (rates between 0 and 1).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Business id the profile applies to; `null`/absent = every business.
    #[serde(default)]
    pub business: Option<String>,
    #[serde(default)]
    pub rate_429: f64,
    /// `Retry-After` seconds on injected 429s; absent = no header.
    #[serde(default)]
    pub retry_after_s: Option<u64>,
    #[serde(default)]
    pub rate_500_after_commit: f64,
    #[serde(default)]
    pub rate_503: f64,
    /// Uniform extra latency `[min, max]` in milliseconds.
    #[serde(default)]
    pub latency_ms: Option<[u64; 2]>,
    #[serde(default)]
    pub rate_hang: f64,
    /// Writes that commit and then never answer (a connection lost after Sage saved): the response
    /// is held for `hold_ms`, then the connection is closed without a status line.
    #[serde(default)]
    pub rate_hang_after_commit: f64,
    /// How long a hang-after-commit holds the response; absent = `hang_duration` (1 h).
    #[serde(default)]
    pub hold_ms: Option<u64>,
}

impl FaultSpec {
    fn is_empty(&self) -> bool {
        self.rate_429 <= 0.0
            && self.rate_500_after_commit <= 0.0
            && self.rate_503 <= 0.0
            && self.rate_hang <= 0.0
            && self.rate_hang_after_commit <= 0.0
            && self.latency_ms.is_none()
    }
}

/// What the dice decided for one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Roll {
    pub latency_ms: u64,
    pub hang: bool,
    pub too_many: Option<Option<u64>>,
    pub unavailable: bool,
    pub fail_after_commit: bool,
    /// Hold a committed write's response this long, then drop the connection.
    pub hang_after_commit: Option<Option<u64>>,
}

/// Active fault profiles and the seeded RNG that rolls them.
#[derive(Debug)]
pub struct FaultState {
    global: Option<FaultSpec>,
    per_business: HashMap<String, FaultSpec>,
    rng: StdRng,
}

impl FaultState {
    pub fn new(seed: u64) -> Self {
        Self { global: None, per_business: HashMap::new(), rng: rng_for(seed, 99) }
    }

    /// Install a profile; an empty one (`{}`) clears every profile.
    pub fn set(&mut self, spec: FaultSpec) {
        if spec.is_empty() && spec.business.is_none() {
            self.global = None;
            self.per_business.clear();
            return;
        }
        match spec.business.clone() {
            Some(b) if spec.is_empty() => {
                self.per_business.remove(&b);
            }
            Some(b) => {
                self.per_business.insert(b, spec);
            }
            None => self.global = Some(spec),
        }
    }

    pub fn list(&self) -> Vec<FaultSpec> {
        self.global.iter().chain(self.per_business.values()).cloned().collect()
    }

    /// Roll the dice for a request to `business`.
    pub fn roll(&mut self, business: &str) -> Roll {
        let Some(spec) = self.per_business.get(business).or(self.global.as_ref()) else {
            return Roll::default();
        };
        let spec = spec.clone();
        let mut hit = |p: f64| p > 0.0 && self.rng.r#gen::<f64>() < p;
        let mut roll = Roll {
            hang: hit(spec.rate_hang),
            unavailable: hit(spec.rate_503),
            fail_after_commit: hit(spec.rate_500_after_commit),
            ..Roll::default()
        };
        if hit(spec.rate_hang_after_commit) {
            roll.hang_after_commit = Some(spec.hold_ms);
        }
        if hit(spec.rate_429) {
            roll.too_many = Some(spec.retry_after_s);
        }
        if let Some([lo, hi]) = spec.latency_ms {
            roll.latency_ms = if hi > lo { self.rng.gen_range(lo..=hi) } else { lo };
        }
        roll
    }
}
