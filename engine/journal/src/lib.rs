//! The state journal: every acknowledged change to allot's state, in order,
//! on disk before its answer leaves.
//!
//! Records are opaque bytes (the service layer encodes them). [`Journal`]
//! appends them without blocking the caller: [`Journal::append`] gives each
//! record the next sequence number and queues it; one writer thread writes
//! whatever is queued in one `write`, then syncs it as the [`SyncPolicy`]
//! says (group commit: one `fdatasync` covers every record queued while the
//! previous one ran). [`Journal::durable`] resolves once a record is as
//! durable as the policy promises.
//!
//! On disk the journal is a directory of segments, `<first seq>.journal`,
//! each a run of frames (`frame.rs`); a segment is closed when it passes
//! [`JournalConfig::segment_bytes`] and a new one starts. [`read_after`]
//! reads every record after a sequence number, for recovery, cutting a torn
//! tail left by a crash. [`Checkpoints`] keep the state as of a sequence
//! number in one file, written atomically, so the segments it covers can be
//! deleted and recovery replays only what came after.

mod checkpoint;
mod error;
mod frame;
mod segment;
mod writer;

pub use checkpoint::{Checkpoint, Checkpoints};
pub use error::JournalError;
pub use segment::{Record, Recovered, read_after, read_sealed};
pub use writer::{Journal, JournalConfig, SyncPolicy, Ticket};

#[cfg(test)]
mod tests;
