//! The worker pool: apalis-postgres delivers triggers, handlers claim the event row under a lease, run
//! the processor under a deadline and record the outcome, deciding retries through the one
//! `RetryPolicy`; a reconciler re-pushes lost triggers; callbacks go back to Magento; heartbeats feed
//! readiness.
pub mod handler;
pub mod pool;
pub mod processor;
pub mod sampler;

pub use pool::{Shutdown, WorkerConfig, maintenance, retention, run};
pub use processor::{ClaimedEvent, EventProcessor, ReceiveOnly, RunOutcome};
