//! The file formats an operator hands the server: stock CSVs, the network
//! TOML, the configuration TOML.

use std::time::{Duration, Instant, SystemTime};

use allot_engine::network::{Network, NetworkError};
use allot_engine::stock::{StockError, StockStore, read_delta_csv};
use tonic::metadata::{MetadataMap, MetadataValue};

use crate::auth::{Access, TokenConfigError};
use crate::config::{Config, ConfigError};
use crate::deadline::Budget;
use crate::gate::{RequestGateLayer, UnknownRpc};

/// Why a file was refused.
#[derive(Debug, thiserror::Error)]
pub enum FileRejected {
    /// A stock CSV (snapshot or deltas).
    #[error(transparent)]
    Stock(#[from] StockError),
    /// A network file.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// A configuration file.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The configuration's tokens.
    #[error(transparent)]
    Tokens(#[from] TokenConfigError),
    /// The configuration's per-RPC limits.
    #[error(transparent)]
    Limits(#[from] UnknownRpc),
    /// Not UTF-8 (TOML is text).
    #[error("not UTF-8: {0}")]
    Text(#[from] std::str::Utf8Error),
}

/// Loads a bulk snapshot CSV into `stock`.
pub(super) fn stock_csv(stock: &StockStore, bytes: &[u8]) -> Result<(), FileRejected> {
    stock.load_csv(bytes, "fuzz.csv", SystemTime::now())?;
    Ok(())
}

/// Reads a delta CSV (the format `allotctl stock deltas` sends).
pub fn delta_csv(bytes: &[u8]) -> Result<(), FileRejected> {
    read_delta_csv(bytes, "fuzz.csv")?;
    Ok(())
}

/// Reads and validates a network file (docs/network.md).
pub fn network_toml(bytes: &[u8]) -> Result<(), FileRejected> {
    Network::from_toml_str(std::str::from_utf8(bytes)?, "fuzz.toml")?;
    Ok(())
}

/// Reads a configuration file and builds from it what `serve` builds before
/// it listens and what each call then computes from it: the tokens, the
/// request gate's limits, and a call's deadline for a few caller timeouts.
pub fn config_toml(bytes: &[u8]) -> Result<(), FileRejected> {
    let config = Config::from_toml_str(std::str::from_utf8(bytes)?)?;
    config.service();
    let access = Access::new(&config.auth)?;
    RequestGateLayer::new(
        config.grpc.max_concurrent_requests,
        &config.grpc.rpc_concurrency,
        Duration::from_millis(config.grpc.request_timeout_ms),
        Duration::from_millis(config.grpc.stream_stall_timeout_ms),
        access,
    )?;
    let budget = Budget::configured(&config.allocation);
    let started = Instant::now();
    for timeout in ["1m", "100m", "30S", "99999999H"] {
        let mut metadata = MetadataMap::new();
        metadata.insert("grpc-timeout", MetadataValue::from_static(timeout));
        let _ = budget.deadline(&metadata, started);
    }
    Ok(())
}
