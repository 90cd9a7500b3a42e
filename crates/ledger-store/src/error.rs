//! The store's error type, and the one place that maps database failures onto it.
use crate::crypto::CryptoError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is saturated; callers answer 503 and try again later.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(String),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("could not queue the task: {0}")]
    Queue(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(&'static str),
    /// A stored value the schema should have kept out (a bug or a hand edit), named by column.
    #[error("stored {0} is invalid")]
    Corrupt(&'static str),
}

impl StoreError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if is_unavailable(&e) { Self::Unavailable(e) } else { Self::Database(e) }
    }
}

fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        // Class 08 (connection), 53 (insufficient resources), 57P0x (shutdown, cannot connect now).
        sqlx::Error::Database(d) => {
            d.code().is_some_and(|c| c.starts_with("08") || c.starts_with("53") || c.starts_with("57P"))
        }
        _ => false,
    }
}

/// Maps a violation of unique constraint `constraint` to `then`, passing every other error through
/// (the realworld `on_constraint` idea: constraint names, never message text).
pub fn on_constraint(e: sqlx::Error, constraint: &str, then: StoreError) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.constraint() == Some(constraint) => then,
        _ => e.into(),
    }
}
