//! recovery-bench: how long the durable state takes to recover, for a
//! store of `--nodes` x `--skus` stock rows and `--reservations` live holds.
//!
//! Builds the state in a temporary data directory the way a server does
//! (the stock loaded into a fresh directory becomes the first checkpoint;
//! each hold is a commit record written with a decision record in the
//! decision log, in group commits), then measures opening it as a server
//! does (decision log, then state) twice: with every hold still a commit
//! record to replay (twice the 50,000 after which the checkpoint thread
//! folds them), and after folding them into a checkpoint. Ends with one
//! JSON line.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use allot_benches::stock::{level, network};
use allot_engine::network::{NodeId, SkuId};
use allot_engine::reservation::{ReservationBook, ReservedUnits};
use allot_engine::stock::StockStore;
use allot_service::DecisionId;
use allot_service::config::{DecisionsConfig, StateConfig};
use allot_service::idempotency::KeyStore;
use allot_service::sink::{DecisionSink, Entry, LogSink, Written};
use allot_service::state;
use clap::Parser;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Parser)]
#[command(name = "recovery-bench", about = "Durable state recovery time")]
struct Args {
    /// Nodes of the synthetic network.
    #[arg(long, default_value_t = 100)]
    nodes: usize,
    /// SKUs of the synthetic network (every node stocks every SKU).
    #[arg(long, default_value_t = 10_000)]
    skus: usize,
    /// Live reservations to recover.
    #[arg(long, default_value_t = 100_000)]
    reservations: usize,
    /// Seed of the stock levels and holds.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let network = network(args.nodes, args.skus);
    let data = tempfile::tempdir()?;
    let dir = data.path().join("state");
    let decisions = DecisionsConfig {
        dir: data.path().to_path_buf(),
        ..DecisionsConfig::default()
    };
    let config = StateConfig::default();
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let now = SystemTime::now();

    let stock = Arc::new(StockStore::new(network.clone()));
    for node in network.node_ids() {
        let rows = (0..args.skus as u32)
            .map(|s| (SkuId(s), level(&mut rng)))
            .collect();
        stock.replace_node(node, rows, 0, now)?;
    }
    let book = Arc::new(ReservationBook::new(stock.clone()));
    let log: Arc<dyn DecisionSink> = Arc::new(LogSink::open(&decisions)?);
    let started = Instant::now();
    let (durable, _) = state::open(&config, &dir, stock.clone(), book.clone(), log.clone())?;
    let first_checkpoint = started.elapsed();

    // Each hold is written as a committing Allocate writes it: its commit
    // record with a (here: small) decision record, in group commits.
    let started = Instant::now();
    let mut pending: Vec<Written> = Vec::new();
    let mut held = 0usize;
    while held < args.reservations {
        let units = vec![ReservedUnits {
            line_id: "1".into(),
            node: NodeId(rng.random_range(0..args.nodes as u32)),
            sku: SkuId(rng.random_range(0..args.skus as u32)),
            quantity: 1,
        }];
        let Ok(r) = book.hold(
            &format!("o{held}"),
            &format!("d{held}"),
            units,
            Duration::from_secs(3600),
            now,
        ) else {
            continue;
        };
        let record =
            durable.commit_record(&format!("key-{held}"), [0; 32], vec![7; 300], Some(&r), now);
        let entry = Entry::new(&DecisionId::mint(), vec![1; 200], None);
        pending.push(log.record_durably(entry, record)?);
        if pending.len() == 256 {
            for written in pending.drain(..) {
                futures::executor::block_on(written)?;
            }
        }
        held += 1;
    }
    for written in pending.drain(..) {
        futures::executor::block_on(written)?;
    }
    let journaled = started.elapsed();
    durable.close();
    drop(durable);
    log.close();
    let rows: usize = network
        .node_ids()
        .map(|n| stock.node_image(n).rows.len())
        .sum();

    // Recovery as a server does it: the decision log opened, then the state.
    let recover = || -> Result<(Duration, usize), Box<dyn std::error::Error>> {
        let stock = Arc::new(StockStore::new(network.clone()));
        let book = Arc::new(ReservationBook::new(stock.clone()));
        let started = Instant::now();
        let log: Arc<dyn DecisionSink> = Arc::new(LogSink::open(&decisions)?);
        let (durable, recovery) = state::open(&config, &dir, stock, book.clone(), log.clone())?;
        let elapsed = started.elapsed();
        durable.close();
        log.close();
        assert!(!recovery.fresh);
        Ok((elapsed, book.live()))
    };
    let (from_journal, live_a) = recover()?;
    {
        let log = LogSink::open(&decisions)?;
        state::checkpoint_all(&network, &dir, &log)?;
        log.close();
    }
    let checkpoint_bytes: u64 = std::fs::read_dir(&dir)?
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "checkpoint"))
        .map(|e| e.metadata().map_or(0, |m| m.len()))
        .sum();
    let (from_checkpoint, live_b) = recover()?;
    assert_eq!((live_a, live_b), (held, held), "every hold recovered");
    println!(
        "{}",
        serde_json::json!({
            "stock_rows": rows,
            "live_reservations": held,
            "first_checkpoint_ms": first_checkpoint.as_millis(),
            "journaled_commits_per_s": (held as f64 / journaled.as_secs_f64()).round(),
            "checkpoint_bytes": checkpoint_bytes,
            "recovery_with_journal_tail_ms": from_journal.as_millis(),
            "recovery_from_checkpoint_ms": from_checkpoint.as_millis(),
        })
    );
    Ok(())
}
