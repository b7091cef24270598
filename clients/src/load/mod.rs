//! The load generator behind `allotctl load`: drives a running allot server
//! (your own, normally on loopback; or its replicas, see [`run_load_many`])
//! with health checks, random allocations, promises, risk scores or a
//! weighted mix, in closed loop (fixed
//! concurrency) or open loop (fixed rate, coordinated-omission-corrected
//! latencies), and reports latency percentiles (HDR histograms), throughput
//! and status codes per RPC.
//!
//! ```no_run
//! # async fn demo() -> Result<(), allot_client::ClientError> {
//! use std::time::Duration;
//! use allot_client::load::{LoadConfig, Mix, Pacing, RpcKind, Stop, run_load};
//! let mut config = LoadConfig::new(Mix::single(RpcKind::Allocate));
//! config.pacing = Pacing::Open { rate: 500.0, max_in_flight: 4096 };
//! config.stop = Stop::Duration(Duration::from_secs(5));
//! let options = allot_client::ConnectOptions::default(); // TLS, token
//! let report = run_load("http://127.0.0.1:50051", &options, &config, false).await?;
//! println!("{}", report.to_json());
//! # Ok(()) }
//! ```

mod body;
mod duration;
mod mix;
mod progress;
mod report;
mod requests;
mod runner;
mod schedule;
mod stats;
mod target;

use std::sync::Arc;
use std::time::Duration;

pub use body::{fixed_body_allowed, grpc_frame, rpc_path};
pub use duration::parse_duration;
pub use mix::{Mix, RpcKind};
pub use report::LoadReport;
pub use requests::{Call, DEFAULT_POOL_SIZE, RequestPlan, retry_of};
pub use schedule::{SimulatedRun, corrected_latency, intended_offset, simulate_open_loop};
pub use stats::{RpcStats, RunStats, new_histogram, record_latency};
pub use target::{Target, status_code};

use crate::client::AllotClient;
use crate::connect::ConnectOptions;
use crate::error::ClientError;
use crate::proto::GetNetworkRequest;
use crate::replicas::ReplicaState;

/// How requests are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// `concurrency` senders, each sending its next request when the
    /// previous one answered. Latency runs from the actual send.
    Closed {
        /// Number of senders (requests outstanding at any time).
        concurrency: usize,
    },
    /// Requests at `rate` per second whatever the answers; latency runs from
    /// each request's intended send time.
    Open {
        /// Requests per second.
        rate: f64,
        /// Most requests outstanding; beyond it requests are dropped by the
        /// client and counted as `client_dropped`.
        max_in_flight: usize,
    },
}

/// When a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// After sending for this long (after the warmup).
    Duration(Duration),
    /// After this many requests (after the warmup).
    Requests(u64),
}

/// Everything a load run needs besides the endpoint.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// What to send.
    pub mix: Mix,
    /// Whether `mix` came from `--rpc mix` (reported as `rpc: "mix"`).
    pub is_mix: bool,
    /// Lines of the random orders.
    pub lines: usize,
    /// Seed of the random orders: order `k` of the pool uses `seed + k`.
    pub seed: u64,
    /// Distinct random orders generated before the run.
    pub pool_size: usize,
    /// Allocate without a buyer or a promised date (no fraud scoring, no
    /// lateness term) instead of the one call.
    pub plain_allocate: bool,
    /// Closed or open loop.
    pub pacing: Pacing,
    /// How long to run.
    pub stop: Stop,
    /// Sent first and left out of the results.
    pub warmup: Duration,
    /// Number of HTTP/2 connections (to each replica, with several), used
    /// round robin.
    pub connections: usize,
    /// gRPC deadline of each request.
    pub timeout: Duration,
}

impl LoadConfig {
    /// The defaults of `allotctl load` for `mix`: 5 lines, seed 1, closed
    /// loop with 16 senders, 10 s after a 1 s warmup, 2 connections, 1 s
    /// deadline.
    pub fn new(mix: Mix) -> LoadConfig {
        LoadConfig {
            mix,
            is_mix: false,
            lines: 5,
            seed: 1,
            pool_size: DEFAULT_POOL_SIZE,
            plain_allocate: false,
            pacing: Pacing::Closed { concurrency: 16 },
            stop: Stop::Duration(Duration::from_secs(10)),
            warmup: Duration::from_secs(1),
            connections: 2,
            timeout: Duration::from_millis(1000),
        }
    }

    /// The `rpc` of the report: `mix`, or the one kind sent.
    pub fn rpc_label(&self) -> String {
        match self.mix.weights() {
            [(kind, _)] if !self.is_mix => kind.name().to_string(),
            _ => String::from("mix"),
        }
    }
}

/// Connects `config.connections` times to `endpoint` (with `options`: TLS,
/// token), fetches the network
/// if the mix needs random orders, generates the request pool, runs the
/// load and returns its report. With `progress`, prints a progress line to
/// stderr every second.
pub async fn run_load(
    endpoint: &str,
    options: &ConnectOptions,
    config: &LoadConfig,
    progress: bool,
) -> Result<LoadReport, ClientError> {
    run_load_many(&[endpoint], options, config, progress).await
}

/// [`run_load`] over several replicas: each of the `config.connections`
/// connections is a client of every endpoint
/// ([`AllotClient::connect_many_with`]: a connection to each replica, calls
/// spread over those that serve). The report counts the targets, and how
/// many served at the end. One endpoint: as [`run_load`].
pub async fn run_load_many(
    endpoints: &[impl AsRef<str>],
    options: &ConnectOptions,
    config: &LoadConfig,
    progress: bool,
) -> Result<LoadReport, ClientError> {
    let mut clients = Vec::with_capacity(config.connections.max(1));
    for _ in 0..config.connections.max(1) {
        clients.push(connect(endpoints, options).await?);
    }
    let targets = clients[0].replicas().len().max(1);
    let plan = request_plan(&clients[0], config).await?;
    let senders = clients.iter().map(Target::new).collect();
    let shared = Arc::new(runner::Shared::new(plan, senders, config));
    let reporter =
        progress.then(|| tokio::spawn(progress::report_every_second(Arc::clone(&shared))));
    let mut report = runner::drive(shared, config, targets).await;
    if let Some(reporter) = reporter {
        reporter.abort();
    }
    report.targets_serving = (targets > 1).then(|| {
        let replicas = clients[0].replicas();
        replicas
            .iter()
            .filter(|r| r.state == ReplicaState::Serving)
            .count()
    });
    Ok(report)
}

/// One endpoint: a client of it; several: a client of the replicas.
async fn connect(
    endpoints: &[impl AsRef<str>],
    options: &ConnectOptions,
) -> Result<AllotClient, ClientError> {
    match endpoints {
        [one] => AllotClient::connect_with(one.as_ref(), options).await,
        several => AllotClient::connect_many_with(several, options).await,
    }
}

/// Fetches the network if the mix needs random orders and generates the
/// request pool of `config`.
async fn request_plan(
    client: &AllotClient,
    config: &LoadConfig,
) -> Result<RequestPlan, ClientError> {
    let needs_orders = config.mix.weights().iter().any(|(k, _)| k.needs_orders());
    let network = if needs_orders {
        let network = client
            .admin()
            .get_network(GetNetworkRequest { include_skus: true })
            .await?
            .into_inner();
        if network.skus.is_empty() {
            return Err(ClientError::Status(tonic::Status::failed_precondition(
                "the served network has no SKUs to build orders from",
            )));
        }
        network
    } else {
        Default::default()
    };
    let plan = RequestPlan::new(
        config.mix.clone(),
        &network,
        config.seed,
        config.lines,
        config.pool_size,
        run_id(),
    );
    Ok(if config.plain_allocate {
        plan.plain_allocations()
    } else {
        plan
    })
}

/// The first request `config` would send, as a gRPC body (see
/// [`grpc_frame`]), and the path to POST it to: for sending the same
/// request from an independent HTTP/2 load tool. Mixes and committing
/// allocations are refused (a body is one RPC; each commit needs its own
/// idempotency key).
pub async fn first_request_body(
    endpoint: &str,
    options: &ConnectOptions,
    config: &LoadConfig,
) -> Result<(&'static str, Vec<u8>), ClientError> {
    let client = AllotClient::connect_with(endpoint, options).await?;
    first_request_body_from(&client, config).await
}

/// [`first_request_body`] with the network read through `client` (e.g. a
/// client of several replicas).
pub async fn first_request_body_from(
    client: &AllotClient,
    config: &LoadConfig,
) -> Result<(&'static str, Vec<u8>), ClientError> {
    if config.is_mix || config.mix.weights().len() != 1 {
        return Err(ClientError::Status(tonic::Status::invalid_argument(
            "a fixed body sends one RPC: choose --rpc health, allocate, promise or score, not mix",
        )));
    }
    let plan = request_plan(client, config).await?;
    let (kind, call) = plan.call(0);
    if !fixed_body_allowed(kind) {
        return Err(ClientError::Status(tonic::Status::invalid_argument(
            format!("a fixed body cannot send {kind}: each commit needs its own idempotency key"),
        )));
    }
    Ok((rpc_path(&call), grpc_frame(&call)))
}

/// A token unique to this run (for idempotency keys): the time in
/// microseconds, base 36.
fn run_id() -> String {
    let mut micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    let mut text = Vec::new();
    while micros > 0 {
        text.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(micros % 36) as usize]);
        micros /= 36;
    }
    text.reverse();
    String::from_utf8(text).expect("ascii")
}
