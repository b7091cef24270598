//! The allocation solver: the MILP of docs/allocation.md as data, and the
//! algorithms that solve it. It knows only the network's dense ids; building
//! a problem from an order, the stock and the network is the engine's job
//! (`allot_engine::allocation::candidates`).
//!
//! - [`problem`]: the MILP's data, plans, constraint check and objective.
//! - [`solution`]: what solvers return.
//! - [`exact`]: the specialised exact branch and bound.
//! - [`milp`]: the MILP solved by HiGHS (the reference).
//! - [`greedy`]: the greedy heuristic (starting plan, deadline fallback).
//! - [`pipeline`]: [`solve`](pipeline::solve), greedy then exact then HiGHS
//!   by a deadline.
//! - [`backlog`]: several orders re-planned together (shared stock and
//!   capacity, move penalties): a Lagrangian bound and best responses.
//! - [`transfer`]: the rebalancing plan's MILP (transfers between nodes
//!   against expected shortfalls).
//! - [`testgen`]: seeded random problems for tests and benchmarks.
//! - [`error`]: how a solver run can fail.

pub mod backlog;
pub mod error;
pub mod exact;
pub mod greedy;
pub mod milp;
pub mod pipeline;
pub mod problem;
pub mod solution;
pub mod testgen;
pub mod transfer;

pub use error::SolverError;
