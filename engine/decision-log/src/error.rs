//! Why a decision log operation failed.

use allot_error::{Classify, ErrorCode};

/// Why a decision log operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DecisionLogError {
    /// The bounded queue is full: the writer is behind. The caller sheds the
    /// request rather than losing its record silently.
    #[error("the decision log queue is full ({capacity} entries waiting); retry later")]
    QueueFull {
        /// The queue's capacity (`decisions.queue_capacity`).
        capacity: usize,
    },
    /// The log was closed (the server is shutting down).
    #[error("the decision log is closed")]
    Closed,
    /// The directory could not be created.
    #[error("cannot create the decision log directory {dir}: {source}")]
    Dir {
        /// The configured directory.
        dir: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The writer thread could not be started.
    #[error("cannot start the decision log writer: {0}")]
    Writer(std::io::Error),
    /// The embedded database failed.
    #[error("decision log storage: {0}")]
    Storage(String),
    /// A stored event could not be decoded (a bug or a damaged file).
    #[error("decision log event at position {position} is unreadable: {problem}")]
    Corrupt {
        /// The event's position.
        position: u64,
        /// What is wrong.
        problem: String,
    },
    /// A stored batch of records could not be decoded (a bug or a damaged
    /// file).
    #[error("decision record batch {batch} is unreadable: {problem}")]
    CorruptBatch {
        /// The batch's number.
        batch: u64,
        /// What is wrong.
        problem: String,
    },
    /// A stored record could not be decompressed (a bug or a damaged file).
    #[error("decision record {key:032x} is unreadable: {problem}")]
    CorruptRecord {
        /// The record's key (the decision's ULID as a number).
        key: u128,
        /// What is wrong.
        problem: String,
    },
}

impl Classify for DecisionLogError {
    fn code(&self) -> ErrorCode {
        match self {
            DecisionLogError::QueueFull { .. } => ErrorCode::ResourceExhausted,
            DecisionLogError::Closed => ErrorCode::FailedPrecondition,
            DecisionLogError::Dir { .. }
            | DecisionLogError::Writer(_)
            | DecisionLogError::Storage(_)
            | DecisionLogError::Corrupt { .. }
            | DecisionLogError::CorruptBatch { .. }
            | DecisionLogError::CorruptRecord { .. } => ErrorCode::Internal,
        }
    }
}

macro_rules! storage_from {
    ($($t:ty),*) => {$(
        impl From<$t> for DecisionLogError {
            fn from(e: $t) -> Self {
                DecisionLogError::Storage(e.to_string())
            }
        }
    )*};
}

storage_from!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
