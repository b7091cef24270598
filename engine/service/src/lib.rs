//! allot's service layer: the use cases (allocate, promise, score,
//! reservations, stock, decisions, models) as plain Rust, with their policy
//! (the fraud hold, reservation lifetimes, idempotency, recording before
//! answering) and the traits behind which state lives. No transport type
//! appears here: an adapter converts its requests into these calls, supplies
//! its answer format through [`wire::Wire`], and maps [`ServiceError`]'s
//! [`Code`] onto its own statuses.
//!
//! State behind narrow traits, each change returning the
//! [`state::Receipt`] to await before acknowledging it; the embedded
//! default is [`state::Durable`] (a journal and checkpoints on disk, see
//! docs/durability.md), with in-memory ones for benchmarks:
//! - [`reservations::ReservationLedger`]: holds on stock;
//! - [`stock::StockJournal`]: stock writes;
//! - [`idempotency::KeyLedger`]: used idempotency keys with the commit each
//!   made;
//! - [`sink::DecisionSink`]: decision records and events (the redb decision
//!   log);
//! - [`clock::Clock`]: the time decisions are made at.

pub mod allocate;
pub mod clock;
pub mod config;
pub mod decisions;
pub mod demand;
pub mod engine;
pub mod error;
pub mod fraud;
pub mod fraud_history;
pub mod fraud_returns;
pub mod hash;
pub mod id;
pub mod idempotency;
pub mod models;
pub mod pool;
pub mod privacy;
pub mod promise;
pub mod reoptimize;
pub mod reservations;
pub mod route_return;
pub mod score;
pub mod services;
pub mod sink;
pub mod state;
pub mod stock;
pub mod wire;
pub mod workload;

pub use error::{Code, ServiceError};
pub use id::DecisionId;
pub use services::{Ready, Services, SharedState};
