//! Why the shared state could not start, and how ledger failures reach
//! callers.

use allot_service::ServiceError;

/// Why the shared ledger or bus could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SharedError {
    /// The ledger URL does not parse.
    #[error("state.ledger is not a PostgreSQL URL: {0}")]
    Url(String),
    /// A statement or the connection failed.
    #[error("the shared ledger failed: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No connection could be had.
    #[error("cannot connect to the shared ledger: {0}")]
    Pool(String),
    /// The database holds a schema from a newer allot.
    #[error(
        "the shared ledger's schema is at version {current}, newer than this allot's {latest}: upgrade allot"
    )]
    SchemaTooNew {
        /// The database's version.
        current: i32,
        /// This build's latest.
        latest: i32,
    },
    /// The ledger was seeded for another network.
    #[error(
        "the shared ledger holds stock of another network (hash {found}); this replica serves {served}"
    )]
    OtherNetwork {
        /// The network hash the ledger was seeded with.
        found: String,
        /// This replica's network hash.
        served: String,
    },
    /// The bus could not be reached or set up.
    #[error("cannot open the event bus: {0}")]
    Bus(String),
}

/// A ledger failure as a caller sees it: UNAVAILABLE. A change that failed
/// before its commit was sent did not happen; one whose connection broke
/// during the commit may have: a retry with the same idempotency key
/// answers the first commit if there was one.
pub(crate) fn unavailable(error: impl std::fmt::Display) -> ServiceError {
    metrics::counter!("allot_ledger_errors_total").increment(1);
    ServiceError::unavailable(format!(
        "the shared ledger is unreachable: {error}; retry (a commit with the same idempotency key answers the first one if it happened; docs/scale-out.md)"
    ))
}

impl From<deadpool_postgres::PoolError> for SharedError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        SharedError::Pool(error.to_string())
    }
}
