//! Why a stock operation failed.

use crate::error::{Classify, ErrorCode};

/// A failed stock load, replacement, lookup or reservation.
#[derive(Debug, thiserror::Error)]
pub enum StockError {
    /// A row has a bad value; `at` is `source:line` (CSV) or `rows[i]`.
    #[error("{at}: {field}: {problem}")]
    InvalidRow {
        /// Where: `stock.csv:17` or `rows[3]`.
        at: String,
        /// The offending field, e.g. `on_hand`.
        field: &'static str,
        /// What is wrong and what is expected.
        problem: String,
    },
    /// A node code or id that the network does not have.
    #[error("unknown node {0:?}")]
    UnknownNode(String),
    /// A row names a SKU the network does not have.
    #[error("{at}: sku: unknown sku {sku:?}")]
    UnknownSku {
        /// Where: `stock.csv:17` or `rows[3]`.
        at: String,
        /// The SKU code (or `#id` for an id from another network).
        sku: String,
    },
    /// The same (node, SKU) appears twice in one load or replacement.
    #[error("{at}: sku: sku {sku:?} appears more than once for the same node")]
    DuplicateSku {
        /// Where the second occurrence is.
        at: String,
        /// The SKU code.
        sku: String,
    },
    /// The CSV is malformed (header, field count, encoding).
    #[error("{at}: {problem}")]
    Csv {
        /// Where: `stock.csv:1`.
        at: String,
        /// What is wrong.
        problem: String,
    },
    /// Reading the input failed.
    #[error("{at}: read failed: {error}")]
    Io {
        /// The source being read.
        at: String,
        /// The underlying error.
        #[source]
        error: std::io::Error,
    },
    /// A reservation asked for more than is available.
    #[error("insufficient stock of {sku} at {node}: requested {requested}, available {available}")]
    Insufficient {
        /// Node code.
        node: String,
        /// SKU code.
        sku: String,
        /// Units requested.
        requested: i64,
        /// Units available (`on_hand - reserved`, at least 0).
        available: i64,
    },
    /// A reservation quantity that is negative.
    #[error("quantity: must be >= 0, got {0}")]
    InvalidQuantity(i64),
    /// A replacement older than deltas the node already applied: taking it
    /// would roll them back.
    #[error(
        "as_of_sequence: the snapshot is as of delta {as_of} but node {node} has applied deltas up to {applied}; \
         send a snapshot as of {applied} or later, or set reset_feed when the feed restarts its numbering"
    )]
    StaleSnapshot {
        /// Node code.
        node: String,
        /// The snapshot's `as_of_sequence`.
        as_of: u64,
        /// The node's last applied delta sequence.
        applied: u64,
    },
}

impl Classify for StockError {
    fn code(&self) -> ErrorCode {
        match self {
            StockError::InvalidRow { .. }
            | StockError::UnknownSku { .. }
            | StockError::DuplicateSku { .. }
            | StockError::Csv { .. }
            | StockError::InvalidQuantity(_) => ErrorCode::InvalidArgument,
            StockError::UnknownNode(_) => ErrorCode::NotFound,
            StockError::Insufficient { .. } | StockError::StaleSnapshot { .. } => {
                ErrorCode::FailedPrecondition
            }
            StockError::Io { .. } => ErrorCode::Internal,
        }
    }
}
