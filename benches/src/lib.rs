//! allot benchmarks: shared fixtures for the bench binaries and criterion
//! benches.

pub mod alloc;
pub mod backlog;
pub mod promise;
pub mod score;
pub mod sim;
pub mod stock;
