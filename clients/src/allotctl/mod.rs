//! The `allotctl` command line: argument definitions, command runners and
//! output.

pub mod cli;
pub mod commands;
pub mod decisions;
pub mod forecast;
pub mod load;
pub mod models;
pub mod output;
pub mod plan;
pub mod reoptimize;
pub mod returns;
pub mod server;
pub mod transfers;
