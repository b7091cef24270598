//! Allocation: which nodes ship which order lines, proven optimal under the
//! cost model of docs/allocation.md.
//!
//! - [`problem`]: the MILP's data, plans, constraint check and objective.
//! - [`solution`]: what solvers return.

pub mod allocate;
pub mod candidates;
pub mod error;
pub mod evaluate;
pub mod exact;
pub mod explain;
pub mod greedy;
pub mod lateness;
pub mod milp;
pub mod outcome;
pub mod params;
pub mod pipeline;
pub mod problem;
pub mod request;
pub mod solution;
pub mod testgen;
