//! The decision log: every decision allot made and a feed of decision events,
//! kept durably in an embedded [redb](https://docs.rs/redb) file.
//!
//! The log stores opaque encoded records (the server encodes them; the
//! engine never sees a protobuf type) keyed by decision id, and events with
//! their metadata (kind code, decision, order, reservation, summary) keyed by
//! position. Writes never happen on the request path: callers
//! [`submit`](DecisionLog::submit) into a bounded queue that one writer thread
//! drains in batches, one write transaction per batch. Event positions are
//! assigned by the writer in commit order, strictly increasing from 1, and
//! continue after a restart.

mod batch;
mod commits;
mod error;
mod legacy;
mod log;
mod store;

pub use error::DecisionLogError;
pub use log::{Committed, DecisionLog, LogConfig, Published};
pub use store::{Bounds, DecisionStore, Durability, NewEvent, NewRecord, StoredEvent};

/// The log key of a decision id: its ULID as a number. Accepts the ULID alone
/// or with the `dec_` prefix allot puts on the ids it returns; `None` when
/// `id` is neither.
pub fn decision_key(id: &str) -> Option<u128> {
    let bare = id.strip_prefix("dec_").unwrap_or(id);
    ulid::Ulid::from_string(bare).ok().map(u128::from)
}

#[cfg(test)]
mod tests;
