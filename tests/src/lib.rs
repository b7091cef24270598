//! Integration tests live in tests/. The library is the crash harness,
//! [`crash`]: a real `allot` process killed with SIGKILL under concurrent
//! clients and restarted on the same data directory. It is a library so that
//! the gate test (`server/tests/crash.rs`, which gets the `allot` binary from
//! cargo as `CARGO_BIN_EXE_allot`) and the benchmark (`crash-bench` in
//! `benches/`) run the same code. [`orders`] builds the orders the
//! integration tests and the gate tests send; [`http`] reads the decision
//! explorer's pages (its tests and `explorer-bench`).

pub mod crash;
pub mod http;
pub mod orders;
pub mod replicas;
