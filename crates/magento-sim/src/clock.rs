//! Injectable wall clock: the system clock by default, or a manual one tests can set and advance.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};

/// The store's notion of "now". Cloning shares the same underlying clock.
#[derive(Clone, Default)]
pub struct Clock {
    manual: Option<Arc<Mutex<DateTime<Utc>>>>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.manual {
            None => f.write_str("Clock::System"),
            Some(_) => write!(f, "Clock::Manual({})", self.now()),
        }
    }
}

impl Clock {
    /// The real UTC clock.
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// A clock frozen at `start` until [`Clock::set`] or [`Clock::advance`] moves it.
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self { manual: Some(Arc::new(Mutex::new(start))) }
    }

    /// Current time.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            None => Utc::now(),
            Some(m) => *m.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// Current time as unix seconds.
    pub fn unix(&self) -> i64 {
        self.now().timestamp()
    }

    /// Moves a manual clock forward; no effect on the system clock.
    pub fn advance(&self, by: Duration) {
        if let Some(m) = &self.manual {
            let mut t = m.lock().unwrap_or_else(PoisonError::into_inner);
            *t += by;
        }
    }

    /// Sets a manual clock; no effect on the system clock.
    pub fn set(&self, to: DateTime<Utc>) {
        if let Some(m) = &self.manual {
            *m.lock().unwrap_or_else(PoisonError::into_inner) = to;
        }
    }

    /// True when this is a manual clock.
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }
}
