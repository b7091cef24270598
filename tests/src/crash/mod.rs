//! The crash harness: a real `allot serve` process, concurrent clients
//! committing, confirming, releasing and reading reservations of a few
//! contested SKUs, `kill -9` at a random moment, a restart on the same data
//! directory, and the invariants checked against what the clients saw
//! acknowledged; repeated for every kill.
//!
//! After each restart, once SERVING:
//!
//! 1. every call of unknown outcome is settled (`recover`): committing
//!    Allocates re-sent with their idempotency key, reservations with a
//!    confirm or release in flight read back;
//! 2. the stock of every contested (node, SKU) (`check::stock`): reserved
//!    = baseline reserved + the live holds, on_hand = baseline on_hand - the
//!    confirmed units, no node holding and shipping more than it had;
//! 3. per client (`check::client`): every acknowledged reservation reads
//!    back in its last acknowledged state, every acknowledged decision is
//!    explainable (ExplainDecision OK), every acknowledged idempotency key
//!    re-sent with its request answers the same bytes (`encode_to_vec`).
//!
//! The gate test is `server/tests/crash.rs`; the benchmark is `crash-bench`
//! in `benches/`.

mod check;
mod client;
mod ledger;
mod recover;
mod report;
pub mod rpc;
pub mod server;
pub mod workload;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use allot_client::AllotClient;
use anyhow::Context;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use report::{Counts, CrashReport, Round, Violation, ViolationKind, quantile};

use ledger::ClientLedger;
use server::Launch;
use workload::Workload;

/// HTTP/2 connections the clients of a round share.
const CONNECTIONS: usize = 2;

/// Idempotency keys the server remembers (`allocation.idempotency_keys`):
/// far more than a run makes, so every acknowledged key is still
/// remembered when it is re-sent (the default, 100,000, is a capacity with
/// least-recently-used eviction).
const IDEMPOTENCY_KEYS: u64 = 10_000_000;

/// How a crash run goes.
#[derive(Debug, Clone)]
pub struct CrashConfig {
    /// The `allot` binary.
    pub allot_bin: PathBuf,
    /// Seeds the kill moments, the clients' choices and their orders.
    pub seed: u64,
    /// Rounds: kills (and restarts).
    pub kills: usize,
    /// Kill the server at the end of each round. False is the control:
    /// each round ends by stopping the clients, and the same server is
    /// checked; a correct server then shows no violation whatever its
    /// durability, so violations seen only with kills come from the crash,
    /// not from the harness.
    pub kill: bool,
    /// Concurrent clients.
    pub clients: usize,
    /// Contested SKUs the orders are for.
    pub skus: usize,
    /// Most units of one order line.
    pub max_quantity: u32,
    /// The clients work a random time in this range (inclusive) before
    /// each kill.
    pub kill_after: (Duration, Duration),
    /// Longest wait for SERVING after a start.
    pub serving_timeout: Duration,
    /// Stop after the first round with a violation (the gate) or run every
    /// kill and count them (the benchmark).
    pub stop_at_first_violation: bool,
    /// Extra server environment, e.g. `("ALLOT__MODELS__ETA_REFRESH",
    /// "false")`.
    pub server_env: Vec<(String, String)>,
    /// Print a line per round to standard error.
    pub progress: bool,
}

impl CrashConfig {
    /// 3 kills, 8 clients, 2 contested SKUs, lines of up to 24 units, kills
    /// 0.3 to 1.2 s into each round, stop at the first violation.
    pub fn new(allot_bin: impl Into<PathBuf>, seed: u64) -> CrashConfig {
        CrashConfig {
            allot_bin: allot_bin.into(),
            seed,
            kills: 3,
            kill: true,
            clients: 8,
            skus: 2,
            max_quantity: 24,
            kill_after: (Duration::from_millis(300), Duration::from_millis(1200)),
            serving_timeout: Duration::from_secs(60),
            stop_at_first_violation: true,
            server_env: Vec::new(),
            progress: false,
        }
    }
}

/// Runs the harness. An error is the harness failing (the server does not
/// start, the network cannot be read); broken invariants are in the report.
pub async fn run(config: &CrashConfig) -> anyhow::Result<CrashReport> {
    let dir = tempfile::Builder::new()
        .prefix("allot-crash-")
        .tempdir()
        .context("no temporary directory")?;
    let mut env = vec![(
        "ALLOT__ALLOCATION__IDEMPOTENCY_KEYS".to_string(),
        IDEMPOTENCY_KEYS.to_string(),
    )];
    env.extend(config.server_env.iter().cloned());
    let launch = Launch {
        bin: config.allot_bin.clone(),
        data_dir: dir.path().join("data"),
        log_dir: dir.path().to_path_buf(),
        env,
    };
    let mut server = launch.spawn(0)?;
    let first_start = server.wait_serving(config.serving_timeout).await?;
    let api = AllotClient::connect_lazy(server.endpoint())?;
    let workload = Arc::new(Workload::discover(&api, config.skus, config.max_quantity).await?);
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut ledgers: Vec<ClientLedger> = (0..config.clients).map(ClientLedger::new).collect();
    let mut rounds = Vec::new();
    for kill in 1..=config.kills {
        let (min, max) = config.kill_after;
        let killed_after = rng.random_range(min..=max.max(min));
        let stop = Arc::new(AtomicBool::new(false));
        let apis = (0..CONNECTIONS)
            .map(|_| AllotClient::connect_lazy(server.endpoint()))
            .collect::<Result<Vec<_>, _>>()?;
        let tasks: Vec<_> = ledgers
            .drain(..)
            .map(|ledger| {
                let api = apis[ledger.client % apis.len()].clone();
                let client_rng = ChaCha8Rng::seed_from_u64(rng.random());
                tokio::spawn(client::work(
                    api,
                    Arc::clone(&workload),
                    ledger,
                    client_rng,
                    config.seed,
                    Arc::clone(&stop),
                ))
            })
            .collect();
        tokio::time::sleep(killed_after).await;
        let killed = if config.kill { server.kill() } else { Ok(()) };
        stop.store(true, Ordering::Release);
        for task in tasks {
            ledgers.push(task.await.context("a client panicked")?);
        }
        killed?;

        let recovery = if config.kill {
            server = launch.spawn(kill)?;
            server.wait_serving(config.serving_timeout).await?
        } else {
            Duration::ZERO
        };
        let checking = Instant::now();
        let api = AllotClient::connect_lazy(server.endpoint())?;
        let resolved;
        (ledgers, resolved) = settle_all(&api, ledgers).await?;
        let mut counts = Counts::default();
        let mut violations = Vec::new();
        for ledger in &mut ledgers {
            let (c, v) = ledger.end_round();
            counts.add(&c);
            violations.extend(v);
        }
        violations.extend(check::stock(&api, &workload, &ledgers).await);
        let checked;
        (ledgers, checked) = check_all(&api, ledgers).await?;
        violations.extend(checked);
        let round = Round {
            kill,
            killed_after,
            recovery,
            check: checking.elapsed(),
            resolved,
            counts,
            violations,
        };
        if config.progress {
            eprintln!("{}", round.line(config.kill));
        }
        let failed = !round.violations.is_empty();
        rounds.push(round);
        if failed && config.stop_at_first_violation {
            break;
        }
    }
    drop(server);
    let mut report = CrashReport {
        seed: config.seed,
        clients: config.clients,
        killed: config.kill,
        skus: workload.skus.clone(),
        first_start,
        rounds,
        kept_dir: None,
    };
    if report.violation_count() > 0 {
        report.kept_dir = Some(dir.keep());
    }
    Ok(report)
}

/// [`recover::settle`] for every client at once; the ledgers back in order
/// and the number of outcomes settled.
async fn settle_all(
    api: &AllotClient,
    ledgers: Vec<ClientLedger>,
) -> anyhow::Result<(Vec<ClientLedger>, usize)> {
    let tasks: Vec<_> = ledgers
        .into_iter()
        .map(|mut ledger| {
            let api = api.clone();
            tokio::spawn(async move {
                let settled = recover::settle(&api, &mut ledger).await;
                (ledger, settled)
            })
        })
        .collect();
    let mut ledgers = Vec::with_capacity(tasks.len());
    let mut settled = 0;
    for task in tasks {
        let (ledger, n) = task.await.context("settling panicked")?;
        ledgers.push(ledger);
        settled += n;
    }
    Ok((ledgers, settled))
}

/// [`check::client`] for every client at once; the ledgers back in order
/// and the violations found.
async fn check_all(
    api: &AllotClient,
    ledgers: Vec<ClientLedger>,
) -> anyhow::Result<(Vec<ClientLedger>, Vec<Violation>)> {
    let tasks: Vec<_> = ledgers
        .into_iter()
        .map(|ledger| {
            let api = api.clone();
            tokio::spawn(async move {
                let violations = check::client(&api, &ledger).await;
                (ledger, violations)
            })
        })
        .collect();
    let mut ledgers = Vec::with_capacity(tasks.len());
    let mut violations = Vec::new();
    for task in tasks {
        let (ledger, found) = task.await.context("checking panicked")?;
        ledgers.push(ledger);
        violations.extend(found);
    }
    Ok((ledgers, violations))
}
