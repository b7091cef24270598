//! The allot gRPC server: tonic adapters over the engine.
//!
//! [`serve()`] takes a bound listener and a shutdown future, so tests bind
//! `127.0.0.1:0` and the binary binds the configured address. Health starts
//! NOT_SERVING and turns SERVING once the network and stock have loaded; on
//! shutdown it turns NOT_SERVING, in-flight requests drain, and `serve`
//! returns.

pub mod allocate;
pub mod config;
pub mod convert;
pub mod deadline;
pub mod decisions;
pub mod error;
pub mod gate;
pub mod idempotency;
pub mod pool;
pub mod replay;
pub mod serve;
pub mod services;
pub mod state;
pub mod telemetry;

pub use config::Config;
pub use serve::{ServeError, serve};
