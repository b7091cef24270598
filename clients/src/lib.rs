//! Typed Rust client for allot, the gRPC decision engine for order
//! management, plus the helpers behind the `allotctl` CLI.
//!
//! ```no_run
//! # async fn demo() -> Result<(), allot_client::ClientError> {
//! let client = allot_client::AllotClient::connect("http://127.0.0.1:50051").await?;
//! let status = client.health("").await?;
//! let loaded = client.load_stock_csv("stock.csv").await?;
//! let summary = client.stream_deltas_csv("deltas.csv", allot_client::DEFAULT_DELTA_BATCH_SIZE).await?;
//! println!("{}", allot_client::json::to_json(&summary, "StockDeltaSummary")?);
//! # let _ = (status, loaded);
//! # Ok(()) }
//! ```

mod batch;
mod client;
mod connect;
pub mod decisions;
mod error;
mod health;
pub mod input;
pub mod json;
pub mod load;
pub mod random;
mod replicas;
mod stock;

#[cfg(test)]
mod mock_tests;
#[cfg(test)]
mod replica_tests;

pub use batch::{
    DEFAULT_DELTA_BATCH_SIZE, FeedPosition, MAX_STOCK_ROWS_PER_MESSAGE, batch_deltas,
    chunk_stock_rows,
};
pub use client::{AllotChannel, AllotClient, CONNECT_TIMEOUT, MAX_DECODING_MESSAGE_SIZE};
pub use connect::{BearerToken, ConnectOptions, TlsOptions};
pub use error::{ClientError, code_name};
pub use health::{POLL_INTERVAL, ServingStatus};
pub use replicas::{
    REPLICA_KEEPALIVE_INTERVAL, REPLICA_KEEPALIVE_TIMEOUT, REPLICA_RETRY_INTERVAL, ReplicaState,
    ReplicaStatus, rotation,
};

/// The generated `allot.v1` types, re-exported for convenience.
pub use allot_proto::v1 as proto;
