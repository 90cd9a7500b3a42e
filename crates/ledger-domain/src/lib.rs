//! Pure domain types of the ledger: identifiers, the Magento event envelope, sync states and error classes.
pub mod clock;
pub mod envelope;
pub mod error_class;
pub mod ids;
pub mod money;
pub mod state;

pub use clock::{Clock, SharedClock, SystemClock};
pub use envelope::{Envelope, EnvelopeError, EventName};
pub use error_class::{ErrorClass, RetryPolicy};
pub use ids::{
    Currency, CurrencyError, IdempotencyKey, IdempotencyKeyError, MagentoEntityId, MagentoEntityIdError, SageBusinessId,
    SageBusinessIdError, TenantId,
};
pub use state::EventState;
