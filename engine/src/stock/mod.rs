//! In-memory stock snapshots per (SKU, node).
//!
//! A [`StockStore`] holds, for every node of a [`Network`](crate::network::Network),
//! a map from SKU to [`StockLevel`] (`on_hand`, `reserved`, `protected`) plus
//! the snapshot's [`NodeFreshness`] (`version`, `sequence`, `updated_at`,
//! `rows`). It changes in three ways:
//!
//! - **Replacement** ([`StockStore::replace_node`], [`StockStore::load_csv`]):
//!   the input is validated completely first (no negative field, no SKU twice
//!   per node, known node and SKU); on error nothing changes. The new map is
//!   built outside the node's lock and swapped in under its write lock, so a
//!   reader sees the old or the new snapshot, never a mix. Version += 1 and
//!   `updated_at` = the given time. `replace_node` sets the node's sequence to
//!   its `as_of_sequence` and refuses a snapshot older than the deltas applied
//!   ([`StockError::StaleSnapshot`]); `reset_node` sets it whatever it was (a
//!   feed that restarts); a CSV load keeps each node's sequence. A CSV load
//!   replaces exactly the nodes that appear in the file.
//! - **Deltas** ([`StockStore::apply_deltas`]), each row carrying the node's
//!   feed sequence number (the first is 1):
//!   - `sequence <= current`: a **duplicate**; skipped and counted, never
//!     quarantined (this includes replays of rows that were quarantined).
//!   - `sequence > current + 1`: applied (if valid) and reported as a
//!     [`SequenceGap`] `{ expected: current + 1, received }`.
//!   - Otherwise the row is accepted: the node's sequence becomes the row's,
//!     whether the row is then applied or quarantined (a correction comes
//!     under a new sequence number).
//!   - A row is **quarantined**, never applied, for: an unknown node (the
//!     only case that cannot move a sequence), an unknown SKU, a kind that is
//!     neither `adjust` nor `set` (`kind: None`), a negative `protected`, a
//!     `set` to a negative quantity, or an `adjust` that would take `on_hand`
//!     below zero (the message gives the current `on_hand` and the
//!     adjustment). See [`QuarantineReason`].
//!   - `Adjust`: `on_hand += quantity`; `Set`: `on_hand = quantity`;
//!     `protected: Some(p)` sets `protected = p`. A row for a SKU the node
//!     has no row for starts from zero.
//!   - `on_hand` may drop below `reserved` (physical truth wins);
//!     [`StockLevel::available`] then clamps to 0.
//!   - Every applied row bumps the node's version and sets `updated_at`.
//!   - Replaying a batch is idempotent: the second time every known-node row
//!     is a duplicate.
//! - **Holds** (allot's reservations: [`StockStore::hold_many`],
//!   [`StockStore::release_many`], [`StockStore::ship_many`]): all or nothing
//!   across nodes; held units count in `reserved` and survive replacements
//!   (see `holds.rs`). Holding and releasing do not change version or
//!   sequence; shipping does.
//!
//! Concurrency: one `parking_lot::RwLock` per node. A delta batch takes each
//! involved node's write lock once, nodes in ascending [`NodeId`](crate::network::NodeId)
//! order, one at a time. Holds take every involved node's write lock at once,
//! in ascending `NodeId` order. Reads copy out under the read lock.
//!
//! Memory: each node's map is two parallel vectors sorted by SKU (28 bytes a
//! row), so one million rows take about 28 MB.
//!
//! Metrics (recorded per batch or load, not per row):
//! `allot_stock_deltas_total{outcome="applied|duplicate|quarantined"}`,
//! `allot_stock_quarantined_total{reason}`, `allot_stock_sequence_gaps_total`,
//! `allot_stock_snapshot_version{node}` and
//! `allot_stock_snapshot_updated_seconds{node}` (unix time).
//!
//! The file formats are documented in `docs/stock.md`.

mod csv;
mod delta;
mod delta_csv;
mod error;
mod holds;
mod image;
mod level;
mod lines;
pub mod metrics;
mod mirror;
pub mod order_view;
mod quarantine;
mod snapshot;
mod store;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use self::csv::LoadSummary;
pub use delta::{DeltaKind, DeltaOutcome, DeltaRow, SequenceGap};
pub use delta_csv::read_delta_csv;
pub use error::StockError;
pub use image::NodeImage;
pub use level::{NodeFreshness, StockLevel};
pub use order_view::NodeVersion;
pub use quarantine::{QuarantineReason, QuarantinedRow, RECENT_QUARANTINE_CAPACITY};
pub use store::StockStore;
