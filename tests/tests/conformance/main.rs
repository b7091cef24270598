//! The conformance suite: one test per promise of the proto
//! comments (every listed error code with its field, every default, every
//! "never", every idempotency and ordering promise), each named after the
//! RPC and the promise, against a real server on 127.0.0.1:0. A promise
//! that has no test is a defect of this suite.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

#[path = "../common/mod.rs"]
mod common;

mod admin;
mod allocation;
mod decisions;
mod health;
mod inventory;
mod promise;
mod returns;
mod risk;
