//! Logging and the Prometheus metrics endpoint.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::config::{LogConfig, MetricsConfig};
use crate::plaintext::PlaintextRefused;

/// Installs the global `tracing` subscriber (idempotent: a second call is a
/// no-op, which keeps tests that start several servers simple).
pub fn init_logging(config: &LogConfig) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&config.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true);
    let result = if config.json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // Already installed (tests, or an embedding application): keep theirs.
    drop(result);
}

/// Why the metrics endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// A plaintext endpoint on an address other than loopback, not allowed.
    #[error(transparent)]
    Plaintext(#[from] PlaintextRefused),
    /// The exporter could not be built or bound.
    #[error("cannot serve Prometheus metrics on {addr}: {source}")]
    Build {
        /// The endpoint's address.
        addr: SocketAddr,
        /// Why.
        source: metrics_exporter_prometheus::BuildError,
    },
    /// The HTTPS endpoint's address could not be bound.
    #[error("cannot listen for Prometheus metrics on {addr}: {source}")]
    Bind {
        /// The endpoint's address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// The process's Prometheus recorder, once [`install_metrics`] installed
/// it: the decision explorer's traffic page reads it.
static INSTALLED: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
    std::sync::OnceLock::new();

/// The installed Prometheus recorder's handle; `None` with metrics off.
pub fn prometheus() -> Option<&'static metrics_exporter_prometheus::PrometheusHandle> {
    INSTALLED.get()
}

/// Installs the process-wide Prometheus recorder and serves `/metrics` on
/// `config.listen`: over HTTPS with `tls` (the `[grpc.tls]` certificate,
/// crate::metrics_https), else plaintext HTTP, refused on an address other
/// than loopback unless `config.allow_plaintext`. Call once per process,
/// from a tokio runtime.
pub fn install_metrics(
    config: &MetricsConfig,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Result<(), MetricsError> {
    let addr = config.listen;
    let builder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&[
            0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1,
            0.25, 0.5, 1.0, 2.5,
        ])
        .map_err(|source| MetricsError::Build { addr, source })?;
    match tls {
        Some(tls) => {
            let listener = std::net::TcpListener::bind(addr)
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .and_then(tokio::net::TcpListener::from_std)
                .map_err(|source| MetricsError::Bind { addr, source })?;
            let handle = builder
                .install_recorder()
                .map_err(|source| MetricsError::Build { addr, source })?;
            let _ = INSTALLED.set(handle.clone());
            tokio::spawn(crate::metrics_https::serve(listener, tls, handle));
        }
        None => {
            crate::plaintext::check_metrics(addr, config.allow_plaintext)?;
            // What `install` does, keeping the handle for the explorer.
            let (recorder, exporter) = builder
                .with_http_listener(addr)
                .build()
                .map_err(|source| MetricsError::Build { addr, source })?;
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).map_err(|e| MetricsError::Build {
                addr,
                source: metrics_exporter_prometheus::BuildError::FailedToSetGlobalRecorder(e),
            })?;
            let _ = INSTALLED.set(handle);
            tokio::spawn(exporter);
        }
    }
    describe();
    Ok(())
}

fn describe() {
    metrics::describe_gauge!(
        "allot_grpc_connections_open",
        "gRPC connections open now (TCP accepted, TLS handshake included)"
    );
    metrics::describe_counter!(
        "allot_grpc_connections_refused_total",
        "gRPC connections closed as soon as accepted because grpc.max_connections were open"
    );
    metrics::describe_counter!(
        "allot_allocations_total",
        "Allocate decisions answered, by disposition (held_fraud and held_review are the orders the fraud check held)"
    );
    metrics::describe_counter!(
        "allot_transit_fallback_total",
        "allocations whose lateness term fell back to the nominal curve because the ETA model failed"
    );
    metrics::describe_counter!(
        "allot_grpc_requests_total",
        "gRPC requests answered, by rpc and gRPC status code"
    );
    metrics::describe_histogram!(
        "allot_grpc_request_duration_seconds",
        metrics::Unit::Seconds,
        "gRPC request latency at the server, by rpc"
    );
    metrics::describe_counter!(
        "allot_grpc_shed_total",
        "requests refused with RESOURCE_EXHAUSTED because the concurrency limit was reached"
    );
    metrics::describe_counter!(
        "allot_solver_shed_total",
        "solves and scores refused with RESOURCE_EXHAUSTED because the solver wait queue was full"
    );
    metrics::describe_counter!(
        "allot_stock_deltas_total",
        "stock delta rows received, by outcome (applied, duplicate, quarantined)"
    );
    metrics::describe_counter!(
        "allot_stock_quarantined_total",
        "stock delta rows quarantined, by reason"
    );
    metrics::describe_gauge!(
        "allot_stock_snapshot_updated_seconds",
        metrics::Unit::Seconds,
        "unix time of the last change to each node's stock snapshot"
    );
    metrics::describe_gauge!(
        "allot_decisions_queue_depth",
        "decision log entries waiting for the writer"
    );
    metrics::describe_histogram!(
        "allot_decisions_batch_size",
        "decision log entries per committed write transaction"
    );
    metrics::describe_histogram!(
        "allot_decisions_write_seconds",
        metrics::Unit::Seconds,
        "time to commit one decision log batch, fsync included when durability is immediate"
    );
    metrics::describe_counter!(
        "allot_decisions_shed_total",
        "decisions refused or reservation events not logged because the decision log queue was full"
    );
    metrics::describe_counter!(
        "allot_decisions_write_errors_total",
        "decision log entries lost because their batch failed to commit"
    );
    metrics::describe_counter!(
        "allot_decisions_pruned_total",
        "decision log records and events removed past retention, by what"
    );
    metrics::describe_counter!(
        "allot_decisions_watchers_dropped_total",
        "WatchDecisions streams ended with RESOURCE_EXHAUSTED for falling behind"
    );
    metrics::describe_gauge!(
        "allot_stock_snapshot_version",
        "version of each node's stock snapshot"
    );
}
