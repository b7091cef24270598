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
mod shared;

use std::sync::Arc;

use allot_journal::{Journal, JournalError, Ticket};
use futures::future::BoxFuture;

pub use compact::checkpoint_all;
pub use durable::Durable;
pub use recover::{Recovery, StateError, has_state, open};
pub use shared::{Committed, SharedCommit, SharedLedger, UsedKey};

use crate::error::ServiceError;

/// A change's way to disk: await it before acknowledging the change.
#[must_use = "a change is acknowledged only once its receipt is durable"]
pub struct Receipt(Way);

enum Way {
    Done,
    Journal(Arc<Journal>, Ticket),
    Later(BoxFuture<'static, Result<(), ServiceError>>),
}

impl Receipt {
    /// Nothing to wait for (state in memory, or no change).
    pub fn done() -> Receipt {
        Receipt(Way::Done)
    }

    pub(crate) fn of(journal: &Arc<Journal>, ticket: Ticket) -> Receipt {
        Receipt(Way::Journal(journal.clone(), ticket))
    }

    /// A change made durable by `write` (a shared ledger's transaction).
    pub fn later(write: BoxFuture<'static, Result<(), ServiceError>>) -> Receipt {
        Receipt(Way::Later(write))
    }

    /// Resolves once the change is durable; UNAVAILABLE when the journal
    /// failed (nothing more is acknowledged until a restart) or the shared
    /// ledger could not take it.
    pub async fn durable(self) -> Result<(), ServiceError> {
        match self.0 {
            Way::Done => Ok(()),
            Way::Journal(journal, ticket) => journal.durable(ticket).await.map_err(unavailable),
            Way::Later(write) => write.await,
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
