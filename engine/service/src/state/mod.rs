//! Where reservations, stock, capacity use and idempotency keys live, and
//! how they survive a restart (docs/durability.md).
//!
//! The embedded default is [`Durable`]: every acknowledged change is on
//! disk before its answer leaves. A committing Allocate's hold and key are
//! a commit record written in the same decision log transaction as its
//! decision record (one fsync for both, or neither survives); every other
//! change (confirmations, releases, expiries, stock writes) is a record in
//! the state journal (`allot-journal`: append-only segments, group commit,
//! a configurable fsync policy). A checkpoint thread folds closed segments
//! and commit records into a checkpoint of the whole state, so recovery
//! reads one checkpoint and replays a bounded tail of each. The `memory`
//! store keeps everything in memory only, for benchmarks.
//!
//! Callers get a [`Receipt`] with every change and await it before they
//! acknowledge.

mod change;
mod compact;
mod durable;
mod recover;
mod replica;

use std::sync::Arc;

use allot_journal::{Journal, JournalError, Ticket};

pub use compact::checkpoint_all;
pub use durable::Durable;
pub use recover::{Recovery, StateError, has_state, open};

use crate::error::ServiceError;

/// A change's way to disk: await it before acknowledging the change.
#[must_use = "a change is acknowledged only once its receipt is durable"]
pub struct Receipt(Option<(Arc<Journal>, Ticket)>);

impl Receipt {
    /// Nothing to wait for (state in memory, or no change).
    pub fn done() -> Receipt {
        Receipt(None)
    }

    pub(crate) fn of(journal: &Arc<Journal>, ticket: Ticket) -> Receipt {
        Receipt(Some((journal.clone(), ticket)))
    }

    /// Resolves once the change is durable; UNAVAILABLE when the journal
    /// failed (nothing more is acknowledged until a restart).
    pub async fn durable(self) -> Result<(), ServiceError> {
        match self.0 {
            None => Ok(()),
            Some((journal, ticket)) => journal.durable(ticket).await.map_err(unavailable),
        }
    }

    /// As [`Receipt::durable`], blocking the thread (off the async workers
    /// only).
    pub fn wait(self) -> Result<(), ServiceError> {
        futures::executor::block_on(self.durable())
    }
}

/// A journal failure as the callers see it.
pub(crate) fn unavailable(error: JournalError) -> ServiceError {
    ServiceError::unavailable(format!(
        "the change could not be made durable: {error} (docs/durability.md)"
    ))
}

#[cfg(test)]
mod tests;
