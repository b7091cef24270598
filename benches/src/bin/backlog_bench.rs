//! backlog-bench: re-plans a backlog of held orders on the demo network
//! (see `allot_benches::backlog`) three ways, on the same backlog:
//!
//! - **joint**: `reoptimize` (Lagrangian bound and best responses, each
//!   order solved exactly), by the deadline;
//! - **greedy re-brokering**: every hold released, each order in arrival
//!   order planned by the greedy heuristic against what the earlier ones
//!   took (rules in sequence);
//! - **sequential exact re-brokering**: the same, each order planned by
//!   the exact solver.
//!
//! Cost is the sum of the orders' objectives (docs/allocation.md) plus the
//! move penalty per changed order; packages are the shipping nodes summed
//! over orders. Prints a summary and one JSON line.

use std::time::{Duration, Instant};

use allot_benches::alloc::DemoWorld;
use allot_benches::backlog::demo_backlog;
use allot_engine::allocation::backlog::{
    Backlog, PerOrder, check_joint, reoptimize_within, sequential,
};
use allot_engine::allocation::problem::{Plan, objective};
use clap::Parser;
use serde_json::json;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "backlog-bench",
    about = "Benchmark joint backlog re-optimisation"
)]
struct Args {
    /// Orders offered to the backlog (those that found a plan when they arrived are held).
    #[arg(long, default_value_t = 1000)]
    orders: usize,
    /// Share of today's stock and capacity the pools held when the orders arrived.
    #[arg(long, default_value_t = 0.5)]
    arrival_share: f64,
    /// Share of the (SKU, node) pools that were empty when the orders
    /// arrived and are stocked today.
    #[arg(long, default_value_t = 0.3)]
    restocked: f64,
    /// Least share of its daily capacity a node has left today.
    #[arg(long, default_value_t = 0.2)]
    capacity_min: f64,
    /// Largest share of its daily capacity a node has left today.
    #[arg(long, default_value_t = 0.6)]
    capacity_max: f64,
    /// Share of the demo stock the pools hold today.
    #[arg(long, default_value_t = 1.0)]
    stock_share: f64,
    /// Deadline of the joint re-plan, milliseconds.
    #[arg(long, default_value_t = 2000)]
    deadline_ms: u64,
    /// Largest joint MILP handed to HiGHS when a gap is left (columns).
    #[arg(long, default_value_t = allot_engine::allocation::backlog::JOINT_MILP_MAX_COLUMNS)]
    milp_columns: usize,
    /// Backlog seeds to run, one after the other.
    #[arg(long, default_value_t = 3)]
    seeds: u64,
}

/// Cost (move penalties included), packages, moves and unplanned orders of
/// a set of plans.
fn measure(backlog: &Backlog, plans: &[Option<Plan>]) -> (i64, u64, usize, usize) {
    let (mut cost, mut packages, mut moves, mut unplanned) = (0, 0, 0, 0);
    for (order, plan) in backlog.orders.iter().zip(plans) {
        let Some(plan) = plan else {
            unplanned += 1;
            continue;
        };
        cost += objective(&order.problem, plan).total();
        packages += plan.used(&order.problem).len() as u64;
        if *plan != order.current {
            moves += 1;
            cost += backlog.move_penalty;
        }
    }
    (cost, packages, moves, unplanned)
}

fn main() {
    let args = Args::parse();
    let world = DemoWorld::new();
    let mut rows = Vec::new();
    for seed in 1..=args.seeds {
        let backlog = demo_backlog(
            &world,
            seed,
            args.orders,
            args.arrival_share,
            args.restocked,
            (args.capacity_min, args.capacity_max),
            args.stock_share,
        );
        let current: Vec<Option<Plan>> = backlog
            .orders
            .iter()
            .map(|o| Some(o.current.clone()))
            .collect();
        let (cur_cost, cur_pkg, _, _) = measure(&backlog, &current);

        let started = Instant::now();
        let far = started + Duration::from_secs(600);
        let greedy = sequential(&backlog, PerOrder::Greedy, far);
        let greedy_ms = started.elapsed().as_secs_f64() * 1e3;
        let (g_cost, g_pkg, g_moves, g_unplanned) = measure(&backlog, &greedy);

        let started = Instant::now();
        let exact_seq = sequential(
            &backlog,
            PerOrder::Exact,
            started + Duration::from_secs(600),
        );
        let seq_ms = started.elapsed().as_secs_f64() * 1e3;
        let (s_cost, s_pkg, s_moves, s_unplanned) = measure(&backlog, &exact_seq);

        let started = Instant::now();
        let joint = reoptimize_within(
            &backlog,
            started + Duration::from_millis(args.deadline_ms),
            args.milp_columns,
        )
        .expect("the held plans fit today's pools");
        let joint_ms = started.elapsed().as_secs_f64() * 1e3;
        check_joint(&backlog, &joint.plans).expect("the joint plan fits the pools");
        let plans: Vec<Option<Plan>> = joint.plans.iter().cloned().map(Some).collect();
        let (j_cost, j_pkg, j_moves, _) = measure(&backlog, &plans);
        assert_eq!(j_cost, joint.objective);

        println!(
            "seed {seed}: {} held orders; current {cur_cost} cents, {cur_pkg} packages",
            backlog.orders.len()
        );
        println!(
            "  joint       {j_cost} ({:+.2}%), {j_pkg} packages, {j_moves} moves, gap {:.3}%, bound {}, {} iterations, {joint_ms:.0} ms",
            100.0 * (j_cost - cur_cost) as f64 / cur_cost as f64,
            100.0 * joint.gap(),
            joint.lower_bound,
            joint.iterations
        );
        println!(
            "  greedy      {g_cost} ({:+.2}%), {g_pkg} packages, {g_moves} moves, {g_unplanned} unplanned, {greedy_ms:.0} ms",
            100.0 * (g_cost - cur_cost) as f64 / cur_cost as f64
        );
        println!(
            "  sequential  {s_cost} ({:+.2}%), {s_pkg} packages, {s_moves} moves, {s_unplanned} unplanned, {seq_ms:.0} ms",
            100.0 * (s_cost - cur_cost) as f64 / cur_cost as f64
        );
        rows.push(json!({
            "seed": seed,
            "orders": backlog.orders.len(),
            "current": {"cost": cur_cost, "packages": cur_pkg},
            "joint": {"cost": j_cost, "packages": j_pkg, "moves": j_moves, "gap": joint.gap(),
                      "lower_bound": joint.lower_bound, "iterations": joint.iterations, "ms": joint_ms,
                      "proven": joint.status == allot_engine::allocation::solution::SolveStatus::Optimal},
            "greedy": {"cost": g_cost, "packages": g_pkg, "moves": g_moves, "unplanned": g_unplanned, "ms": greedy_ms},
            "sequential": {"cost": s_cost, "packages": s_pkg, "moves": s_moves, "unplanned": s_unplanned, "ms": seq_ms},
        }));
    }
    println!("{}", json!({"bench": "backlog", "runs": rows}));
}
