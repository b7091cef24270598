//! Delivery promises: when a cart can arrive at a destination, per service
//! level, and at what cost (docs/promise.md).
//!
//! For each service level asked for, the cheapest plan that ships the whole
//! cart comes from the same candidate logic and solver pipeline as
//! allocation ([`crate::allocation::candidates::build_problem`] and
//! [`crate::allocation::pipeline::solve`] with the order's service level set
//! to that level, no backorders, no promise date). Each shipment gets its
//! ship date from the shared [`crate::calendar`] and its delivery window
//! from the [`TransitPredictor`](crate::transit::TransitPredictor); the
//! option's window is the latest of its shipments' windows and its on-time
//! probability the product of its shipments' (treated as independent).
//!
//! - [`request`]: the domain request and its validation.
//! - [`quote`]: options as the answer carries them.
//! - [`promiser`]: the [`Promiser`] that plans, predicts and caches.

pub mod promiser;
pub mod quote;
pub mod request;

pub use promiser::{PromiseCacheConfig, PromiseStats, Promiser};
pub use quote::{
    DeliveryOption, PromiseOutcome, PromiseRead, ShipFrom, ShipmentQuote, TransitSource,
    UnavailableOption,
};
pub use request::{ALL_LEVELS, MAX_LINES, PromiseRequest};

#[cfg(test)]
mod tests;
