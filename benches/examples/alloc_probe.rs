//! Development probe: per-instance solve time (min of 5 runs, robust to a
//! busy machine), the slowest instances, and p50/p99 of the minima.
use std::time::{Duration, Instant};

use allot_benches::alloc::{DemoWorld, random_problem};
use allot_engine::allocation::exact::solve_exact;
use allot_engine::allocation::greedy::greedy;

/// The `i`-th argument as a number; the usage when it is missing or bad.
fn arg<T: std::str::FromStr>(args: &[String], i: usize) -> T {
    args.get(i)
        .and_then(|v| v.parse().ok())
        .expect("usage: alloc_probe LINES NODES INSTANCES [demo]")
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (l, n, k): (usize, usize, u64) = (arg(&a, 1), arg(&a, 2), arg(&a, 3));
    let demo = a.get(4).is_some_and(|s| s == "demo");
    let world = DemoWorld::new();
    let mut rows = Vec::new();
    for s in 1..=k {
        let p = if demo {
            world.problem(s, l, n)
        } else {
            random_problem(s, l, n)
        };
        let mut best = u128::MAX;
        let mut info = (String::new(), 0);
        for _ in 0..5 {
            let t = Instant::now();
            let g = greedy(&p);
            let sol = solve_exact(&p, t + Duration::from_secs(1), g.as_ref());
            best = best.min(t.elapsed().as_micros());
            info = (format!("{:?}", sol.status), sol.nodes_explored);
        }
        rows.push((best, s, info.0, info.1, p.allow_backorder, p.max_nodes));
    }
    rows.sort();
    for r in rows.iter().rev().take(8) {
        println!("{r:?}");
    }
    let q = |x: f64| rows[((rows.len() - 1) as f64 * x).round() as usize].0;
    println!(
        "p50 {} p90 {} p99 {} max {}",
        q(0.5),
        q(0.9),
        q(0.99),
        rows.last().map_or(0, |r| r.0)
    );
}
