//! The allot gRPC server: tonic adapters over the service layer.
//!
//! Each RPC handler converts its request (`convert`), calls a use case of
//! `allot_service`, and maps the answer or the error (one exhaustive map in
//! `error`). Decision records are built in one module (`records`), which
//! also gives the use cases their wire format.
//!
//! [`serve()`] takes a bound listener and a shutdown future, so tests bind
//! `127.0.0.1:0` and the binary binds the configured address. Health starts
//! NOT_SERVING and turns SERVING once the network and stock have loaded; on
//! shutdown it turns NOT_SERVING, in-flight requests drain, and `serve`
//! returns.

pub mod auth;
pub mod config;
mod connections;
mod convert;
mod deadline;
mod error;
mod explorer;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod gate;
pub mod metrics_https;
pub mod plaintext;
mod records;
mod replay;
mod scale_out;
mod serve;
mod services;
mod streams;
pub mod telemetry;
pub mod tls;

pub use config::Config;
pub use explorer::ExplorerConfig;
pub use serve::{ServeError, serve, serve_with_explorer};
