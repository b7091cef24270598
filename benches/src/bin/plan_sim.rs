//! plan-sim: the planning simulator. Replays the last weeks of the
//! synthetic world's orders (worlds of seeds the models never trained on)
//! through allot's allocation on the demo network, once per arm (planning
//! levers off, on, or one of them), and writes the planning report with
//! each KPI's mean and spread over the seeds. See `allot_benches::sim` and
//! docs/planning.md, "Planning simulator".

use std::path::PathBuf;
use std::time::{Duration, Instant};

use allot_benches::sim::orders::{DAY_START_HOUR, WARMUP_DAYS, window};
use allot_benches::sim::report::{Header, render};
use allot_benches::sim::{Arm, SimConfig, TransferSolver, run_arm};
use allot_training::world::{World, WorldConfig};
use clap::Parser;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "plan-sim",
    about = "Simulate held-out weeks of orders with and without forecast-priced protection and transfers"
)]
struct Args {
    /// World seeds (7 is the seed the models trained on).
    #[arg(long, value_delimiter = ',', default_value = "11,23,31")]
    seeds: Vec<u64>,
    /// Weeks simulated: the last weeks of each world.
    #[arg(long, default_value_t = 3)]
    weeks: u32,
    /// At most this many orders a day (evenly spaced), to run faster.
    #[arg(long)]
    max_orders_per_day: Option<usize>,
    /// Arms: off, protect, transfer, on.
    #[arg(long, value_delimiter = ',', default_value = "off,protect,transfer,on")]
    arms: Vec<String>,
    /// SKUs in each daily transfer plan (the best sellers of the last 7 days).
    #[arg(long, default_value_t = 200)]
    transfer_skus: usize,
    /// Days of demand a transfer plan covers.
    #[arg(long, default_value_t = 7)]
    horizon_days: usize,
    /// Transfer plan solver: greedy (deterministic) or milp (HiGHS within --milp-limit-ms).
    #[arg(long, default_value = "greedy")]
    solver: String,
    /// HiGHS's time limit per transfer plan, milliseconds (with --solver milp).
    #[arg(long, default_value_t = 2_000)]
    milp_limit_ms: u64,
    /// Time budget of one allocation, milliseconds.
    #[arg(long, default_value_t = 1_000)]
    budget_ms: u64,
    /// Where the report is written.
    #[arg(long, default_value = "docs/planning-report.md")]
    out: PathBuf,
    /// Repository root (models/ is read from here).
    #[arg(long, default_value = ".")]
    root: PathBuf,
}

/// The CPU's model name and the cores this process may use.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!(
        "{cpu}, {cores} cores, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let started = Instant::now();
    let root = if args.root.join("models/demand.onnx").is_file() {
        args.root.clone()
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
    };
    let arms: Vec<Arm> = args
        .arms
        .iter()
        .map(|a| {
            Arm::parse(a).ok_or_else(|| format!("unknown arm {a:?}: off, protect, transfer, on"))
        })
        .collect::<Result<_, _>>()?;
    let solver = match args.solver.as_str() {
        "greedy" => TransferSolver::Greedy,
        "milp" => TransferSolver::Milp(Duration::from_millis(args.milp_limit_ms)),
        other => return Err(format!("unknown solver {other:?}: greedy or milp").into()),
    };
    let config = SimConfig {
        models_dir: root.join("models"),
        transfer_skus: args.transfer_skus,
        horizon_days: args.horizon_days,
        solver,
        allocation_budget: Duration::from_millis(args.budget_ms),
    };
    let mut results = Vec::new();
    let mut described = None;
    for &seed in &args.seeds {
        let t = Instant::now();
        let world = World::generate(WorldConfig::new(seed));
        let window = window(&world, args.weeks * 7, args.max_orders_per_day)?;
        let first = world.calendar.date(window.first_day);
        let last = world
            .calendar
            .date(window.first_day + window.days.len() as u32 - 1);
        println!(
            "seed {seed}: world in {:.1} s; {} .. {}: {} orders replayed ({} sampled out), {} warm-up orders",
            t.elapsed().as_secs_f64(),
            first,
            last,
            window.orders(),
            window.sampled_out,
            window.warmup.len()
        );
        described.get_or_insert((first, last, world.config.days));
        for arm in &arms {
            let result = run_arm(&world, &window, &config, arm)?;
            let k = result.tally.kpis();
            println!(
                "  {:<8} cost/order ${:.3}, cash/order ${:.3}, stockouts {:.2}%, splits {:.2}%, on time {:.2}%, {} units transferred, {} protected units shipped ({:.0} s)",
                arm.name,
                k.cost_per_order,
                k.cash_per_order,
                100.0 * k.stockout_rate,
                100.0 * k.split_rate,
                100.0 * k.on_time_rate,
                result.tally.units_transferred,
                result.tally.protected_units,
                result.seconds
            );
            results.push(result);
        }
    }
    let (first, last, days) = described.ok_or("no seed")?;
    let command = format!(
        "cargo run --release -p allot-benches --bin plan-sim -- {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    let solver_text = match solver {
        TransferSolver::Greedy => {
            "the greedy plan (HiGHS's first incumbent; deterministic)".to_string()
        }
        TransferSolver::Milp(limit) => format!(
            "HiGHS from the greedy plan within {} ms (deterministic only where it proves optimality)",
            limit.as_millis()
        ),
    };
    let setup = vec![
        format!(
            "Worlds: `allot-training`'s synthetic world, seeds {:?} (the models trained on seed 7), {days} days each; simulated: the last {} weeks, {first} .. {last} (inside the training split's test period, the Christmas and January days), each day from {DAY_START_HOUR}:00 UTC; the {WARMUP_DAYS} days before are counted as sales only, so the forecast's lags are known from the first day.",
            args.seeds, args.weeks
        ),
        format!(
            "Orders: every order of those days but fraud campaigns' (friendly fraud kept), {}; each allocated at its own time with every line, to its address (point and region), at its service level, backorders allowed, then committed and confirmed at once (the stock depletes).",
            match args.max_orders_per_day {
                Some(m) => format!("at most {m} a day (evenly spaced)"),
                None => "all of them".to_string(),
            }
        ),
        "Engine: in process, as the server loads it (`Engine::load`, demo network and demo stock, models/ with the ETA and demand models, memory state); the allocator's own solve (exact path, HiGHS) and costs (defaults: split 2.50, backorder 40.00 a unit, flat protection 6.00 a unit, lost sale 30% of the price).".to_string(),
        "Supply (every arm): a node is restocked up to its starting on-hand units every `replenishment_days` of the node (DCs 7, 3PLs 10, stores 3), staggered by node; units above that level stay.".to_string(),
        format!(
            "Arms: off = flat protection penalty, no transfers; protect = protected units priced from the demand forecast (ForecastProtection, refreshed every morning); transfer = a transfer plan every morning (PlanTransfers' model for the {} best sellers of the last 7 days over every node, {}-day horizon, solved by {solver_text}), units leave at once and arrive after the lane's lead days; on = both.",
            args.transfer_skus, args.horizon_days
        ),
        "Cost per order: the decisions' own terms (shipping = package + transport + handling, split penalty, protection penalty as the arm priced it, backorder penalty) plus the transfer plans' unit and dispatch costs, over the orders; the expected lateness term is left out. Cash per order: shipping and transfers only.".to_string(),
        "On time: each parcel delivered by the world's carriers (its own dynamics and random draws keyed by order and parcel, so both arms' same choice arrives the same day) within the service's transit days + 2.5 days of the order, the world's definition of late; an order is on time when all its parcels are. The promised window is the ETA model's q90 on the decision.".to_string(),
    ];
    let header = Header {
        command,
        machine: machine(),
        seconds: started.elapsed().as_secs_f64(),
        setup,
    };
    let names: Vec<String> = arms.iter().map(|a| a.name.clone()).collect();
    let report = render(&header, &names, &args.seeds, &results);
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, &report)?;
    println!("\n{report}");
    println!("report written to {}", args.out.display());
    let rows: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            let k = r.tally.kpis();
            serde_json::json!({
                "seed": r.seed,
                "arm": r.arm,
                "orders": r.tally.orders,
                "cost_per_order": k.cost_per_order,
                "cash_per_order": k.cash_per_order,
                "stockout_rate": k.stockout_rate,
                "split_rate": k.split_rate,
                "on_time_rate": k.on_time_rate,
                "units_transferred": r.tally.units_transferred,
                "seconds": r.seconds,
            })
        })
        .collect();
    println!("{}", serde_json::json!({"bench": "plan-sim", "runs": rows}));
    Ok(())
}
