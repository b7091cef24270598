//! The allot domain core.
//!
//! Everything here is transport-neutral: no tonic, no prost. The service
//! layer (`allot-service`) calls it from its use cases and turns
//! [`ErrorCode`]s into its own error codes; the server maps those onto gRPC
//! statuses in one place.
//!
//! - [`network`]: nodes, carriers and their services, SKUs and destination
//!   regions, loaded from the documented network file or generated as the
//!   deterministic demo network.
//! - [`stock`]: in-memory stock snapshots per (SKU, node), bulk loads, streamed
//!   deltas with per-node sequence numbers, quarantine of invalid rows.
//! - [`calendar`]: the ship-date calendar (cutoffs, processing and open
//!   days, holidays, carrier pickup days) and local-date arithmetic.
//! - [`decisions`]: the durable decision log (redb): encoded records by
//!   decision id and an event feed with persisted positions, written in
//!   batches by one thread behind a bounded queue.
//! - [`transit`]: the transit-time predictor interface (lanes, quantiles,
//!   on-time probabilities) that allocation and promises decide with.
//! - [`allocation`]: from an order to the cheapest feasible plan, explained
//!   and optionally reserved; [`promise`]: delivery options for a cart;
//!   [`reservation`]: holds on stock and capacity; [`returns`]: where a
//!   returned item goes and what happens to it.
//!
//! The domain core is several crates along its seams: `allot-error` (the
//! error vocabulary), `allot-network` (the network model), `allot-solver`
//! (the allocation MILP and its solvers, which know only the network's
//! ids) and `allot-decision-log` (the redb log). This crate builds on them
//! and re-exports them under their old paths: [`error`], [`network`],
//! [`decisions`], and the solver's modules inside [`allocation`].

pub mod allocation;
pub mod calendar;
pub mod promise;
pub mod reservation;
pub mod returns;
pub mod stock;
pub mod transit;

/// The decision log, from `allot-decision-log`.
pub use allot_decision_log as decisions;
/// The error vocabulary ([`ErrorCode`], [`Classify`](error::Classify)),
/// from `allot-error`.
pub use allot_error as error;
/// The network model, from `allot-network`.
pub use allot_network as network;

pub use error::ErrorCode;
