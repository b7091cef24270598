//! Allocation: which nodes ship which order lines, proven optimal under the
//! cost model of docs/allocation.md.
//!
//! - [`candidates`]: from an order, the network and the stock to the MILP's
//!   data (eligibility, s*, costs, stock tiers).
//! - [`lateness`]: the expected lateness term and the delivery windows.
//! - [`allocate`]: the [`Allocator`](allocate::Allocator) that builds,
//!   solves, explains and reserves.
//! - [`rebroker`]: held orders re-planned together (backlog
//!   re-optimisation) and the joint plan as moves of their holds.
//! - [`problem`]: the MILP's data, plans, constraint check and objective.
//! - [`solution`]: what solvers return.
//!
//! The solver modules ([`problem`], [`solution`], [`exact`], [`milp`],
//! [`greedy`], [`pipeline`], [`testgen`]) live in the `allot-solver` crate
//! and are re-exported here under their old paths.

pub mod allocate;
pub mod candidates;
pub mod error;
pub mod evaluate;
pub mod explain;
pub mod lateness;
pub mod outcome;
pub mod params;
pub mod protection;
pub mod rebroker;
#[cfg(test)]
mod rebroker_tests;
pub mod request;

pub use allot_solver::{
    backlog, exact, greedy, milp, pipeline, problem, solution, testgen, transfer,
};
