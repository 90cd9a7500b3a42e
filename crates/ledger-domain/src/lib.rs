//! Pure domain types of the ledger: identifiers, the Magento event envelope, the canonical Magento models,
//! the shared decimal reader, sync states, error classes, and the processor seam between the worker and the
//! sync engine.
pub mod binding;
pub mod clock;
pub mod decimal;
pub mod envelope;
pub mod error_class;
pub mod ids;
pub mod magento;
pub mod mapping;
pub mod money;
pub mod policy;
pub mod processing;
pub mod sage;
pub mod state;
pub mod sync;
mod text_enum;
pub mod xref;

pub use binding::{BindingStatus, Tier};
pub use clock::{Clock, SharedClock, SystemClock};
pub use decimal::DecimalError;
pub use envelope::{Envelope, EnvelopeError, EventName};
pub use error_class::{ErrorClass, RetryPolicy};
pub use ids::{
    Currency, CurrencyError, IdempotencyKey, IdempotencyKeyError, MagentoEntityId, MagentoEntityIdError,
    SageBusinessId, SageBusinessIdError, TenantId,
};
pub use mapping::{MapError, SkipReason};
pub use policy::{FieldError, SyncPolicy};
pub use processing::{
    ClaimedEvent, EventProcessor, ProviderDetail, ReceiveOnly, RunFailure, RunOutcome, RunResult, SageErrorDetail,
};
pub use state::{CallbackState, EventState, ParkReason};
pub use sync::{CallbackErrorCode, SyncReport, SyncStatus};
pub use text_enum::UnknownVariant;
pub use xref::XrefKind;
