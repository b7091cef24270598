//! plan-bench: the rebalancing plan (PlanTransfers) on the demo network, as
//! the server computes it: the engine loaded from the default configuration
//! (demo network and stock, the shipped demand model), a sales history of
//! the planned SKUs in every node's region (a few units a day, and some
//! (SKU, region) pairs busy at 20 to 60 a day), then per repetition the
//! forecast and the MILP built (`TransferModel::build`) and solved
//! (`solve_transfers`, HiGHS). The baseline is the same problem solved by
//! HiGHS on the independent formulation (`transfer::reference`: no
//! reductions, an epigraph of each shortfall cost), whose optimum must
//! agree.
//!
//! The last line is one JSON object with the medians and maxima.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use allot_engine::allocation::transfer::greedy::greedy;
use allot_engine::allocation::transfer::milp::TRANSFER_REL_GAP;
use allot_engine::allocation::transfer::reference::reference_optimum;
use allot_engine::allocation::transfer::{cost, solve_transfers};
use allot_engine::network::{RegionId, SkuId, demo_stock};
use allot_service::config::{ServiceConfig, StateStore};
use allot_service::demand::node_region;
use allot_service::demand::transfers::{TransferModel, TransferQuery};
use allot_service::engine::Engine;
use chrono::{Days, Utc};
use clap::Parser;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "plan-bench",
    about = "Benchmark the rebalancing plan on the demo network against the unreduced formulation"
)]
struct Args {
    /// SKUs planned (the most widely held of the demo stock).
    #[arg(long, default_value_t = 100)]
    skus: usize,
    /// Days of demand the plan covers.
    #[arg(long, default_value_t = 14)]
    days: usize,
    /// Timed repetitions.
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Seed of the sales history.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Time limit of each solve, milliseconds.
    #[arg(long, default_value_t = 1_000)]
    limit_ms: u64,
    /// Time limit of the reference formulation's solve, seconds (a solve
    /// that reaches it counts as that long, unproven).
    #[arg(long, default_value_t = 60)]
    reference_limit_s: u64,
    /// Repository root (models/ is read from here).
    #[arg(long, default_value = ".")]
    root: PathBuf,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

fn median(mut xs: Vec<f64>) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let root = if args.root.join("models/demand.onnx").is_file() {
        args.root.clone()
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
    };
    let dir = tempfile::tempdir()?;
    let mut config = ServiceConfig::default();
    config.models.dir = Some(root.join("models"));
    config.decisions.dir = dir.path().join("decisions");
    config.state.store = StateStore::Memory;
    config.demand.price_protection = false;

    // The SKUs held at the most nodes, and a history for them.
    let network = allot_engine::network::Network::demo(config.network.demo_seed);
    let mut held = vec![0usize; network.sku_count()];
    for row in demo_stock(&network, config.network.demo_seed) {
        held[row.sku.0 as usize] += 1;
    }
    let mut skus: Vec<SkuId> = (0..network.sku_count() as u32).map(SkuId).collect();
    skus.sort_by_key(|s| std::cmp::Reverse(held[s.0 as usize]));
    skus.truncate(args.skus);
    let mut regions: Vec<RegionId> = network
        .node_ids()
        .map(|n| node_region(&network, n))
        .collect();
    regions.sort();
    regions.dedup();
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut csv = String::from("sku,region,date,units\n");
    for &sku in &skus {
        for &region in &regions {
            let busy = rng.random_bool(0.05);
            let today = Utc::now()
                .with_timezone(&network.region(region).time_zone)
                .date_naive();
            for back in 1..=9u64 {
                let units = if busy {
                    rng.random_range(20..=60)
                } else {
                    rng.random_range(0..=3)
                };
                csv.push_str(&format!(
                    "{},{},{},{units}\n",
                    network.sku(sku).code,
                    network.region(region).code,
                    today - Days::new(back)
                ));
            }
        }
    }
    let history = dir.path().join("sales.csv");
    std::fs::write(&history, csv)?;
    config.demand.history_file = Some(history);

    let t = Instant::now();
    let engine = Engine::load(&config)?;
    let model = engine
        .demand
        .clone()
        .ok_or("the models directory has no demand.onnx")?;
    println!(
        "plan-bench: demo network ({} nodes, {} lanes), {} SKUs, {} days; engine ready in {:.0} ms",
        engine.network.node_count(),
        engine.network.lanes().len(),
        skus.len(),
        args.days,
        t.elapsed().as_secs_f64() * 1e3
    );
    let limit = Duration::from_millis(args.limit_ms);
    let (mut build, mut solve, mut total, mut reference) = (vec![], vec![], vec![], vec![]);
    let mut last = None;
    let mut reference_proven = 0;
    let mut proven = 0;
    let (mut greedy_ms, mut greedy_cost, mut milp_cost, mut baseline_cost) =
        (vec![], vec![], vec![], vec![]);
    let mut gaps = Vec::new();
    for rep in 0..args.reps {
        let query = TransferQuery {
            skus: skus.clone(),
            nodes: Vec::new(),
            horizon_days: args.days,
            deadline: Instant::now() + limit,
        };
        let started = Instant::now();
        let built = TransferModel::build(&engine, &model, &query, SystemTime::now())?;
        let b = started.elapsed();
        let solution = solve_transfers(built.problem(), Instant::now() + limit)?;
        let s = started.elapsed() - b;
        // The greedy plan alone, over every (lane, SKU).
        let t = Instant::now();
        let problem = built.problem();
        let pairs: Vec<(usize, usize)> = (0..problem.lanes.len())
            .flat_map(|l| (0..problem.items.len()).map(move |i| (l, i)))
            .collect();
        let greedy_plan = greedy(problem, &pairs);
        greedy_ms.push(ms(t.elapsed()));
        let greedy_total = cost(problem, &greedy_plan).total();
        greedy_cost.push(greedy_total);
        milp_cost.push(solution.objective);
        baseline_cost.push(solution.baseline);
        let answer = built.answer(
            &engine.network,
            &solution,
            model.version(),
            SystemTime::now(),
            started,
        );
        total.push(ms(started.elapsed()));
        build.push(ms(b));
        solve.push(ms(s));
        println!(
            "rep {rep}: build {:.1} ms, solve {:.1} ms ({} columns, {}); {} transfers, {} units; cost {:.0} -> {:.0} (greedy alone {:.0} in {:.1} ms)",
            build[rep],
            solve[rep],
            solution.columns,
            if solution.proven {
                "optimal"
            } else {
                "time limit"
            },
            answer.transfers.len(),
            answer.transfers.iter().map(|t| t.units).sum::<u32>(),
            solution.baseline,
            solution.objective,
            greedy_total,
            greedy_ms[rep],
        );
        gaps.push(solution.gap());
        if !solution.proven {
            println!(
                "  stopped at the time limit, gap {:.3}%",
                100.0 * solution.gap()
            );
            reference.push(f64::NAN);
            last = Some(answer);
            continue;
        }
        proven += 1;
        let t = Instant::now();
        let reference_limit = Duration::from_secs(args.reference_limit_s);
        match reference_optimum(built.problem(), Instant::now() + reference_limit) {
            Ok(optimum) => {
                let agree = (optimum - solution.objective).abs()
                    <= TRANSFER_REL_GAP * optimum.abs().max(1.0);
                println!(
                    "  reference formulation: {:.1} ms, optimum {optimum:.0} ({})",
                    ms(t.elapsed()),
                    if agree { "agrees" } else { "DIFFERS" }
                );
                if !agree {
                    return Err("the reference optimum differs".into());
                }
                reference_proven += 1;
            }
            Err(e) => println!("  reference formulation: {:.1} ms, {e}", ms(t.elapsed())),
        }
        reference.push(ms(t.elapsed()));
        last = Some(answer);
    }
    let answer = last.ok_or("no repetition")?;
    let out = json!({
        "skus": skus.len(),
        "days": args.days,
        "reps": args.reps,
        "transfers": answer.transfers.len(),
        "units": answer.transfers.iter().map(|t| t.units).sum::<u32>(),
        "columns": answer.columns,
        "build_ms_p50": median(build.clone()),
        "solve_ms_p50": median(solve.clone()),
        "total_ms_p50": median(total.clone()),
        "total_ms_max": total.iter().copied().fold(0.0, f64::max),
        "proven": proven,
        "cost_none": median(baseline_cost),
        "cost_greedy": median(greedy_cost),
        "cost_plan": median(milp_cost),
        "greedy_ms_p50": median(greedy_ms),
        "gap_max": gaps.iter().copied().fold(0.0, f64::max),
        "reference_ms_p50": median(reference.iter().copied().filter(|x| !x.is_nan()).collect()),
        "reference_proven": reference_proven,
        "solve_speedup": median(reference.iter().copied().filter(|x| !x.is_nan()).collect())
            / median(solve).max(1e-9),
    });
    println!("{out}");
    Ok(())
}
