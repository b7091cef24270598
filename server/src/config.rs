//! Typed configuration: defaults, then a TOML file, then `ALLOT__` environment
//! variables, then command-line flags. Unknown keys are errors.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

pub use allot_service::config::{
    AllocationConfig, DecisionsConfig, DemandConfig, ModelsConfig, NetworkConfig, PromiseConfig,
    ReviewPolicy, ServiceConfig, StateConfig, StockConfig,
};
pub use allot_service::privacy::PrivacyConfig;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// The whole server configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The gRPC listener and its limits.
    pub grpc: GrpcConfig,
    /// The Prometheus endpoint.
    pub metrics: MetricsConfig,
    /// Which network to serve.
    pub network: NetworkConfig,
    /// Which stock to load at startup.
    pub stock: StockConfig,
    /// Allocation: time budgets, reservations, cost parameters.
    pub allocation: AllocationConfig,
    /// The ONNX models and the fraud rules.
    pub models: ModelsConfig,
    /// Delivery promises (docs/promise.md).
    pub promise: PromiseConfig,
    /// Logging.
    pub log: LogConfig,
    /// The decision log (docs/decisions.md).
    pub decisions: DecisionsConfig,
    /// Durable state: reservations, stock, capacity, idempotency keys
    /// (docs/durability.md).
    pub state: StateConfig,
    /// Bearer tokens and their roles; none: authentication off.
    pub auth: crate::auth::AuthConfig,
    /// The key personal data is hashed with (docs/security.md).
    pub privacy: PrivacyConfig,
    /// Demand forecasts: the sales history they start from.
    pub demand: DemandConfig,
    /// What returned units recover in each channel (docs/returns.md).
    pub returns: allot_service::config::ReturnsConfig,
    /// The decision explorer: web pages over the decision log
    /// (docs/explorer.md).
    pub explorer: crate::explorer::ExplorerConfig,
}

/// gRPC listener and limits.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Largest accepted request message, bytes. Larger messages are refused
    /// with OUT_OF_RANGE before they are decoded.
    pub max_message_bytes: usize,
    /// Requests served at once across all connections; beyond it requests are
    /// refused at once with RESOURCE_EXHAUSTED (never queued).
    pub max_concurrent_requests: usize,
    /// HTTP/2 streams per connection.
    pub max_concurrent_streams: u32,
    /// Upper bound on any request's duration, ms (the caller's gRPC deadline
    /// applies when shorter).
    pub request_timeout_ms: u64,
    /// After SIGINT/SIGTERM, how long in-flight requests may finish, ms.
    pub shutdown_grace_ms: u64,
    /// Requests of one RPC (`Service/Method`, e.g.
    /// `AllocationService/Allocate`) served at once, within
    /// `max_concurrent_requests`; beyond it that RPC is refused with
    /// RESOURCE_EXHAUSTED while others still pass. RPCs not listed have no
    /// limit of their own. A server stream holds its permit while it runs.
    pub rpc_concurrency: BTreeMap<String, usize>,
    /// A client stream (ReplaceNodeStock, StreamStockDeltas) that sends no
    /// message for this long, ms, is ended with DEADLINE_EXCEEDED (counted
    /// in `allot_grpc_streams_dropped_total{reason="idle"}`).
    pub stream_idle_timeout_ms: u64,
    /// A server stream (WatchDecisions) whose client leaves a message
    /// untaken this long, ms, gives its `rpc_concurrency` permit back
    /// (`allot_grpc_streams_dropped_total{reason="stalled"}`) and its
    /// watcher stops reading the feed for it.
    pub stream_stall_timeout_ms: u64,
    /// Connections open at once; beyond it a new connection is closed as
    /// soon as it is accepted (`allot_grpc_connections_refused_total`).
    pub max_connections: usize,
    /// HTTP/2 PING sent to an idle connection this often, ms; 0: never.
    pub keepalive_interval_ms: u64,
    /// A connection whose PING is not answered within this, ms, is closed.
    pub keepalive_timeout_ms: u64,
    /// Serve plaintext on an address other than loopback. Off: without
    /// `[grpc.tls]`, the server refuses to listen on such an address.
    pub allow_plaintext: bool,
    /// TLS: the server's certificate and key, and optionally the authority
    /// of client certificates (mutual TLS).
    pub tls: crate::tls::TlsConfig,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        GrpcConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            max_message_bytes: 4 * 1024 * 1024,
            max_concurrent_requests: 1024,
            max_concurrent_streams: 256,
            request_timeout_ms: 30_000,
            shutdown_grace_ms: 10_000,
            rpc_concurrency: BTreeMap::from(
                [
                    ("AllocationService/Allocate", 512),
                    ("AllocationService/EvaluatePlan", 128),
                    ("AllocationService/ReoptimizeBacklog", 2),
                    ("PromiseService/GetDeliveryPromise", 512),
                    ("RiskService/ScoreOrder", 512),
                    ("PlanningService/ForecastDemand", 16),
                    ("PlanningService/PlanTransfers", 2),
                    ("PlanningService/ForecastWorkload", 2),
                    ("InventoryService/ReplaceNodeStock", 8),
                    ("InventoryService/StreamStockDeltas", 16),
                    ("DecisionService/WatchDecisions", 64),
                    ("DecisionService/ReplayDecision", 16),
                ]
                .map(|(rpc, limit)| (rpc.to_string(), limit)),
            ),
            stream_idle_timeout_ms: 10_000,
            stream_stall_timeout_ms: 30_000,
            max_connections: 1024,
            keepalive_interval_ms: 60_000,
            keepalive_timeout_ms: 20_000,
            allow_plaintext: false,
            tls: crate::tls::TlsConfig::default(),
        }
    }
}

/// Prometheus endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve `/metrics` at all.
    pub enabled: bool,
    /// Address of the Prometheus scrape endpoint.
    pub listen: SocketAddr,
    /// Without `[grpc.tls]` (the endpoint is then plaintext HTTP), serve it
    /// on an address other than loopback anyway. Off: the server refuses to
    /// start with such an address. With `[grpc.tls]` the endpoint is HTTPS
    /// with the same certificate, on any address.
    pub allow_plaintext: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
            allow_plaintext: false,
        }
    }
}

/// Logging.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `tracing` filter, e.g. `info` or `allot_server=debug,info`.
    pub filter: String,
    /// Emit JSON lines instead of human-readable text.
    pub json: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            filter: "info".into(),
            json: false,
        }
    }
}

/// A configuration that could not be assembled.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[from] Box<figment::Error>);

impl Config {
    /// The sections the service layer reads.
    pub fn service(&self) -> ServiceConfig {
        ServiceConfig {
            network: self.network.clone(),
            stock: self.stock.clone(),
            allocation: self.allocation.clone(),
            models: self.models.clone(),
            promise: self.promise.clone(),
            decisions: self.decisions.clone(),
            state: self.state.clone(),
            privacy: self.privacy.clone(),
            demand: self.demand.clone(),
            returns: self.returns,
        }
    }

    /// Defaults, then `file` (if any), then `ALLOT__SECTION__KEY` variables
    /// (for example `ALLOT__GRPC__LISTEN=0.0.0.0:50051`), then `overrides`
    /// (typically from command-line flags).
    pub fn load(file: Option<&Path>, overrides: Figment) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment
            .merge(Env::prefixed("ALLOT__").split("__"))
            .merge(overrides)
            .extract()
            .map_err(|e| ConfigError(Box::new(e)))
    }

    /// Defaults, then the TOML `text` of a configuration file: what
    /// [`Config::load`] assembles from a file, without the environment or
    /// overrides.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(text))
            .extract()
            .map_err(|e| ConfigError(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_overrides_and_unknown_keys_fail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("allot.toml");
        std::fs::write(
            &path,
            "[grpc]\nlisten = \"127.0.0.1:7000\"\nmax_concurrent_requests = 8\n",
        )
        .unwrap();
        let overrides = Figment::new().merge(Serialized::default("grpc.listen", "127.0.0.1:7001"));
        let config = Config::load(Some(&path), overrides).unwrap();
        assert_eq!(config.grpc.listen.port(), 7001);
        assert_eq!(config.grpc.max_concurrent_requests, 8);

        std::fs::write(&path, "[grpc]\nlisen = \"127.0.0.1:7000\"\n").unwrap();
        let err = Config::load(Some(&path), Figment::new()).unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail closure returns its own error type
    fn tokens_come_from_the_environment_too() {
        figment::Jail::expect_with(|jail| {
            let hash = "a".repeat(64);
            jail.set_env(
                "ALLOT__AUTH__TOKENS",
                format!(r#"[{{name="oms",sha256="{hash}",roles=["decide","read"]}}]"#),
            );
            let config = Config::load(None, Figment::new()).map_err(|e| e.to_string())?;
            assert_eq!(config.auth.tokens.len(), 1);
            assert_eq!(config.auth.tokens[0].name, "oms");
            assert_eq!(config.auth.tokens[0].sha256, hash);
            assert_eq!(
                config.auth.tokens[0].roles,
                vec![crate::auth::Role::Decide, crate::auth::Role::Read]
            );
            Ok(())
        });
    }

    #[test]
    fn the_documented_configuration_is_the_default() {
        let doc = include_str!("../../docs/operations.md");
        let start = doc
            .find("```toml\n")
            .expect("a toml block in docs/operations.md")
            + 8;
        let end = start + doc[start..].find("```").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("documented.toml");
        std::fs::write(&path, &doc[start..end]).unwrap();
        // In a jail: other tests set ALLOT__ variables, which Config::load
        // reads; the jail serialises them and starts from a clean
        // environment.
        #[allow(clippy::result_large_err)] // figment's error type, in a test
        figment::Jail::expect_with(|_| {
            let documented = Config::load(Some(&path), Figment::new()).unwrap();
            assert_eq!(documented, Config::load(None, Figment::new()).unwrap());
            Ok(())
        });
    }
}
