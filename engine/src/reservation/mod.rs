//! Reservations: allot's holds on stock for committed allocations.
//!
//! A reservation holds units at one or more nodes (all or nothing, see
//! [`crate::stock::StockStore::hold_many`]) until it is confirmed (the units
//! shipped: they leave on-hand), released by the caller, or expires after its
//! time to live. Each node's daily capacity is consumed by the units reserved
//! for that node's local day and given back when a reservation is released or
//! expires.

mod book;
mod mirror;
mod restore;

pub use book::{
    Finished, Rehold, Reservation, ReservationBook, ReservationError, ReservationState,
    ReservedUnits,
};
pub use restore::BookImage;
