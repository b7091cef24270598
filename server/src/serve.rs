//! Assembles the gRPC server: health, reflection, the allot services, the
//! request gate, limits from config, and graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use allot_proto::v1::admin_service_server::AdminServiceServer;
use allot_proto::v1::allocation_service_server::AllocationServiceServer;
use allot_proto::v1::decision_service_server::DecisionServiceServer;
use allot_proto::v1::inventory_service_server::InventoryServiceServer;
use allot_proto::v1::planning_service_server::PlanningServiceServer;
use allot_proto::v1::promise_service_server::PromiseServiceServer;
use allot_proto::v1::returns_service_server::ReturnsServiceServer;
use allot_proto::v1::risk_service_server::RiskServiceServer;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::server::NamedService;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use allot_service::Services;
use allot_service::engine::{Engine, LoadError};
use allot_service::pool::SolverPool;

use crate::config::Config;
use crate::connections::ConnectionLimit;
use crate::deadline::Budget;
use crate::gate::RequestGateLayer;
use crate::records::ProtoWire;
use crate::services::{
    AdminApi, AllocationApi, DecisionApi, InventoryApi, PlanningApi, PromiseApi, ReturnsApi,
    RiskApi,
};

/// The services the adapters serve from, once loaded.
pub(crate) type Ready = allot_service::Ready<ProtoWire>;

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The network or stock could not be loaded.
    #[error("startup failed: {0}")]
    Load(#[from] LoadError),
    /// The fraud feature history could not be rebuilt from the decision log.
    #[error("startup failed: {0}")]
    History(#[from] allot_service::fraud_history::HistoryError),
    /// The demand sales history could not be rebuilt (decision log or
    /// `demand.history_file`).
    #[error("startup failed: cannot rebuild the demand sales history: {0}")]
    Sales(allot_service::ServiceError),
    /// The shared ledger or the bus could not be opened.
    #[error("startup failed: {0}")]
    Shared(#[from] allot_shared::SharedError),
    /// The loader thread panicked (a bug).
    #[error("startup failed: the loader stopped unexpectedly: {0}")]
    Loader(String),
    /// gRPC reflection could not be built from the descriptors (a bug).
    #[error("cannot build gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// A per-RPC concurrency limit names an unknown RPC.
    #[error("invalid configuration: {0}")]
    Limits(#[from] crate::gate::UnknownRpc),
    /// A token of `[auth]` cannot be used.
    #[error("invalid configuration: {0}")]
    Auth(#[from] crate::auth::TokenConfigError),
    /// `[grpc.tls]` cannot be used.
    #[error("invalid configuration: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// Plaintext on an address other machines can reach, not allowed.
    #[error("invalid configuration: {0}")]
    Plaintext(#[from] crate::plaintext::PlaintextRefused),
    /// The listener's own address could not be read.
    #[error("cannot read the listener's address: {0}")]
    Listener(std::io::Error),
    /// The decision explorer's address could not be bound.
    #[error("cannot listen for the decision explorer on {addr}: {source}")]
    Explorer {
        /// `explorer.listen`.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The transport failed.
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Names of every service whose health is reported (besides the overall "").
fn service_names() -> [&'static str; 8] {
    fn name<S: NamedService>() -> &'static str {
        S::NAME
    }
    [
        name::<InventoryServiceServer<InventoryApi>>(),
        name::<AdminServiceServer<AdminApi>>(),
        name::<AllocationServiceServer<AllocationApi>>(),
        name::<PromiseServiceServer<PromiseApi>>(),
        name::<RiskServiceServer<RiskApi>>(),
        name::<ReturnsServiceServer<ReturnsApi>>(),
        name::<DecisionServiceServer<DecisionApi>>(),
        name::<PlanningServiceServer<PlanningApi>>(),
    ]
}

async fn set_health(reporter: &HealthReporter, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for name in service_names() {
        reporter.set_service_status(name, status).await;
    }
}

/// Serves allot on `listener` until `shutdown` completes, then reports
/// NOT_SERVING, lets in-flight requests finish (up to
/// `grpc.shutdown_grace_ms`) and returns. The network and stock load in the
/// background while health reports NOT_SERVING; a load failure ends `serve`
/// with the error.
///
/// With `[grpc.tls]` the listener serves TLS; without it, `serve` refuses
/// at once (before accepting anything) when `grpc.listen` or the listener's
/// address is not loopback, unless `grpc.allow_plaintext`.
///
/// With `explorer.enabled` the decision explorer listens on
/// `explorer.listen` (see [`serve_with_explorer`]).
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let explorer = if config.explorer.enabled {
        let addr = config.explorer.listen;
        // Refused before it listens (checked again on the bound address).
        if !config.grpc.tls.enabled() {
            crate::plaintext::check_explorer(addr, config.explorer.allow_plaintext)?;
        }
        Some(
            TcpListener::bind(addr)
                .await
                .map_err(|source| ServeError::Explorer { addr, source })?,
        )
    } else {
        None
    };
    serve_with_explorer(config, listener, explorer, shutdown).await
}

/// [`serve()`], with the decision explorer on `explorer` (bound by the
/// caller, e.g. to `127.0.0.1:0`), or none. Plaintext unless `[grpc.tls]`
/// is configured (then HTTPS with the same certificate), refused on an
/// address other than loopback unless `explorer.allow_plaintext`.
pub async fn serve_with_explorer(
    config: Config,
    listener: TcpListener,
    explorer: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let tls = crate::tls::server_tls(&config.grpc.tls)?;
    if tls.is_none() {
        let bound = listener.local_addr().map_err(ServeError::Listener)?;
        for addr in [config.grpc.listen, bound] {
            crate::plaintext::check_grpc(addr, config.grpc.allow_plaintext)?;
        }
    }
    let https = crate::tls::https_config(&config.grpc.tls)?;
    if let (Some(explorer), None) = (&explorer, &https) {
        let bound = explorer.local_addr().map_err(ServeError::Listener)?;
        for addr in [config.explorer.listen, bound] {
            crate::plaintext::check_explorer(addr, config.explorer.allow_plaintext)?;
        }
    }

    let (reporter, health) = tonic_health::server::health_reporter();
    set_health(&reporter, ServingStatus::NotServing).await;

    // Reflection in both versions clients use: v1, and v1alpha (grpcurl
    // before 1.9, grpcio's reflection client).
    let descriptors = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(allot_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection = descriptors().build_v1()?;
    let reflection_v1alpha = descriptors().build_v1alpha()?;

    let ready = Ready::default();
    let (stop_tx, stop_rx) = watch::channel(false);
    let index = Arc::new(crate::explorer::DecisionIndex::new(
        config.explorer.index_limit,
    ));
    let _explorer = match explorer {
        Some(explorer) => {
            let pages = crate::explorer::Explorer::new(
                ready.clone(),
                crate::auth::Access::new(&config.auth)?,
                index.clone(),
                https.is_some(),
            );
            tracing::info!(
                addr = %explorer.local_addr().map_err(ServeError::Listener)?,
                scheme = if https.is_some() { "https" } else { "http" },
                "decision explorer listening"
            );
            Some(AbortOnDrop(tokio::spawn(pages.serve(
                explorer,
                https,
                stop_rx.clone(),
            ))))
        }
        None => None,
    };
    let pool = SolverPool::new(
        config.allocation.solver_threads,
        config.allocation.solver_queue,
    );
    let budget = Budget::configured(&config.allocation);
    let max = config.grpc.max_message_bytes;
    let millis = |ms: u64| (ms > 0).then(|| Duration::from_millis(ms));
    let mut builder = tonic::transport::Server::builder()
        .max_concurrent_streams(config.grpc.max_concurrent_streams)
        .http2_keepalive_interval(millis(config.grpc.keepalive_interval_ms))
        .http2_keepalive_timeout(millis(config.grpc.keepalive_timeout_ms));
    if let Some(tls) = tls {
        builder = builder
            .tls_config(tls)
            .map_err(|e| crate::tls::TlsError::Rejected(transport_error_chain(&e)))?;
    }
    let router = builder
        .layer(RequestGateLayer::new(
            config.grpc.max_concurrent_requests,
            &config.grpc.rpc_concurrency,
            Duration::from_millis(config.grpc.request_timeout_ms),
            Duration::from_millis(config.grpc.stream_stall_timeout_ms),
            crate::auth::Access::new(&config.auth)?,
        )?)
        .add_service(health)
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        .add_service(
            InventoryServiceServer::new(InventoryApi::new(
                ready.clone(),
                Duration::from_millis(config.grpc.stream_idle_timeout_ms),
            ))
            .max_decoding_message_size(max),
        )
        .add_service(
            AdminServiceServer::new(AdminApi::new(ready.clone(), max))
                .max_decoding_message_size(max),
        )
        .add_service(
            AllocationServiceServer::new(AllocationApi::new(ready.clone(), budget))
                .max_decoding_message_size(max),
        )
        .add_service(
            PromiseServiceServer::new(PromiseApi::new(ready.clone(), budget))
                .max_decoding_message_size(max),
        )
        .add_service(
            RiskServiceServer::new(RiskApi::new(ready.clone(), budget))
                .max_decoding_message_size(max),
        )
        .add_service(
            ReturnsServiceServer::new(ReturnsApi::new(ready.clone(), budget))
                .max_decoding_message_size(max),
        )
        .add_service(
            DecisionServiceServer::new(DecisionApi::new(ready.clone()))
                .max_decoding_message_size(max),
        )
        .add_service(
            PlanningServiceServer::new(PlanningApi::new(ready.clone(), budget))
                .max_decoding_message_size(max),
        );

    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });

    // Without TCP_NODELAY, Nagle's algorithm and delayed ACKs hold small
    // responses back ~40 ms on a connection with one request in flight.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let incoming = ConnectionLimit::new(incoming, config.grpc.max_connections);
    let drain_reporter = reporter.clone();
    let mut drain_rx = stop_rx.clone();
    let server = router.serve_with_incoming_shutdown(incoming, async move {
        let _ = drain_rx.wait_for(|stop| *stop).await;
        tracing::info!("shutdown requested: reporting not serving and draining in-flight requests");
        set_health(&drain_reporter, ServingStatus::NotServing).await;
    });

    let grace = Duration::from_millis(config.grpc.shutdown_grace_ms);
    let mut grace_rx = stop_rx.clone();
    let grace_expired = async move {
        let _ = grace_rx.wait_for(|stop| *stop).await;
        tokio::time::sleep(grace).await;
    };

    let service_config = config.service();
    let stall_ms = config.grpc.stream_stall_timeout_ms;
    let load_ready = ready.clone();
    let load_reporter = reporter.clone();
    let watch_stop = stop_rx.clone();
    let index_stop = stop_rx.clone();
    let mut load_stop = stop_rx;
    let load = async move {
        let engine_config = service_config.clone();
        let loaded = tokio::task::spawn_blocking(move || Engine::load(&engine_config))
            .await
            .map_err(|e| ServeError::Loader(e.to_string()))??;
        let engine = Arc::new(loaded);
        let wire = Arc::new(ProtoWire::new(&engine));
        allot_service::fraud_history::refill(engine.clone(), wire.clone()).await?;
        allot_service::demand::sales::rebuild(
            engine.clone(),
            wire.clone(),
            service_config.demand.history_file.clone(),
        )
        .await
        .map_err(ServeError::Sales)?;
        // Decisions price protected stock from the forecast from the first.
        allot_service::demand::protection::refresh(engine.clone()).await;
        let refreshed = engine.clone();
        let refresh_every = Duration::from_secs(service_config.demand.protection_refresh_s.max(1));
        // Kept until `serve` returns: its tasks stop when it is dropped.
        let shared = crate::scale_out::open(&service_config.state, &engine).await?;
        let _health_of_shared = shared
            .as_ref()
            .map(|s| crate::scale_out::report_health(s, load_reporter.clone()));
        let returns_wire = wire.clone();
        let services = Services::new(
            engine,
            wire,
            pool,
            &service_config,
            watch_stop,
            Duration::from_millis(stall_ms),
            shared.as_ref().map(|s| s.state()),
        );
        // Return capacity taken today before a restart stays taken.
        let counted = allot_service::route_return::refill(&services.route_return, returns_wire)
            .await
            .map_err(|e| ServeError::Loader(e.to_string()))?;
        if counted > 0 {
            tracing::info!(
                counted,
                "return capacity used today rebuilt from the decision log"
            );
        }
        let sweeper = services.reservations.clone();
        // Holds whose time ran out while the server was down expire before
        // it serves, with their events.
        let first_sweep = sweeper.clone();
        let expired = first_sweep
            .expire_due()
            .await
            .map_err(|e| ServeError::Loader(e.to_string()))?;
        if expired > 0 {
            tracing::info!(
                expired,
                "holds that ran out while the server was down expired"
            );
        }
        let services = Arc::new(services);
        load_ready.set(services.clone());
        let _index = AbortOnDrop(tokio::spawn(index.follow(services.clone(), index_stop)));
        // Aborted when `serve` returns (this future is dropped then).
        let _sweeper = AbortOnDrop(tokio::spawn(sweeper.expire_every_second()));
        let watched = services.clone();
        let _watch = AbortOnDrop(tokio::spawn(async move { watched.models.watch().await }));
        let _protection = AbortOnDrop(tokio::spawn(async move {
            let mut tick = tokio::time::interval(refresh_every);
            tick.tick().await;
            loop {
                tick.tick().await;
                allot_service::demand::protection::refresh(refreshed.clone()).await;
            }
        }));
        let _drift = AbortOnDrop(tokio::spawn(async move {
            let mut tick = tokio::time::interval(services.models.drift_interval());
            loop {
                tick.tick().await;
                services.models.publish_drift();
            }
        }));
        if !*load_stop.borrow_and_update() {
            set_health(&load_reporter, ServingStatus::Serving).await;
            tracing::info!("network and stock loaded: serving");
        }
        std::future::pending::<Result<(), ServeError>>().await
    };

    tokio::select! {
        result = server => result?,
        result = load => result?,
        () = grace_expired => tracing::warn!(grace_ms = config.grpc.shutdown_grace_ms, "shutdown grace expired with requests still in flight"),
    }
    if let Ok(services) = ready.get() {
        // Every acknowledged change and record is on disk before `serve`
        // returns, so a restart on the same directory sees it. The state
        // first: its checkpoint thread reads the decision log.
        if let Some(durable) = services.engine.durable.clone() {
            let _ = tokio::task::spawn_blocking(move || durable.close()).await;
            tracing::info!("state journal flushed");
        }
        let decisions = services.engine.decisions.clone();
        let queued = decisions.queue_depth();
        let _ = tokio::task::spawn_blocking(move || decisions.close()).await;
        tracing::info!(queued, "decision log flushed");
    }
    tracing::info!("server stopped");
    Ok(())
}

/// `error` and its sources, `: `-separated (rustls's reason is a source).
fn transport_error_chain(error: &tonic::transport::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Aborts a background task when dropped.
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
