//! The crash gate: the real `allot` binary (`CARGO_BIN_EXE_allot`) killed
//! with SIGKILL at random moments under concurrent clients committing,
//! confirming, releasing and reading reservations of contested SKUs, and
//! restarted on the same data directory; after each restart what the
//! clients saw acknowledged must still hold (reservations in their last
//! acknowledged state, reserved and on-hand units matching the live and
//! confirmed holds, idempotency keys answering their first answer byte for
//! byte, decisions explainable). The harness is `allot_tests::crash`;
//! `crash-bench` runs it at benchmark scale.
//!
//! The seed is printed; `ALLOT_CRASH_SEED=N` replays the same kill moments,
//! choices and orders (the interleaving still depends on timing).
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

use std::time::{SystemTime, UNIX_EPOCH};

use allot_tests::crash::{CrashConfig, run};

/// Kills in the gate.
const KILLS: usize = 3;

/// Concurrent clients in the gate: enough to contend for stock and have
/// calls in flight at each kill, few enough for a debug build on 2 cores.
const CLIENTS: usize = 6;

/// `ALLOT_CRASH_SEED`, else one from the clock.
fn seed() -> u64 {
    match std::env::var("ALLOT_CRASH_SEED") {
        Ok(text) => text.parse().unwrap(),
        Err(_) => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_state_survives_kill_9_and_restart() {
    let seed = seed();
    eprintln!("crash harness seed {seed} (replay with ALLOT_CRASH_SEED={seed})");
    let mut config = CrashConfig::new(env!("CARGO_BIN_EXE_allot"), seed);
    config.kills = KILLS;
    config.clients = CLIENTS;
    config.progress = true;
    let report = run(&config).await.unwrap();
    eprintln!("{}", report.summary(0));
    assert_eq!(report.violation_count(), 0, "{}", report.summary(3));
    assert_eq!(report.kills(), KILLS);
    let totals = report.totals();
    assert!(
        totals.commits_reserved > 0 && totals.confirms_acked + totals.releases_acked > 0,
        "the clients reserved, confirmed or released nothing, so nothing was checked: {}",
        report.summary(0)
    );
}

/// The control: the same rounds ending without a kill, checked on the same
/// server. Whatever the server keeps across a restart, nothing here may be
/// flagged, so what the gate above flags comes from the crash, not from the
/// harness.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_kill_the_checks_find_nothing() {
    let seed = seed();
    eprintln!("crash harness seed {seed} (replay with ALLOT_CRASH_SEED={seed})");
    let mut config = CrashConfig::new(env!("CARGO_BIN_EXE_allot"), seed);
    config.kills = KILLS;
    config.kill = false;
    config.clients = CLIENTS;
    config.progress = true;
    let report = run(&config).await.unwrap();
    eprintln!("{}", report.summary(0));
    assert_eq!(report.violation_count(), 0, "{}", report.summary(3));
    assert_eq!(report.rounds.len(), KILLS);
    assert!(
        report.totals().commits_reserved > 0,
        "{}",
        report.summary(0)
    );
}
