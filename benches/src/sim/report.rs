//! The planning report: per arm, each KPI's mean and spread (min..max)
//! over the seeds; each arm's difference to `off` per seed; the forecast's
//! day-ahead error on the series the plans read; and the raw sums.

use std::fmt::Write;

use super::kpi::{ArmResult, Kpis};

/// What the report says about how it was made.
#[derive(Debug, Clone)]
pub struct Header {
    /// The command that made it.
    pub command: String,
    /// The machine (CPU, cores).
    pub machine: String,
    /// Wall time of the whole run, seconds.
    pub seconds: f64,
    /// The setup, one bullet each.
    pub setup: Vec<String>,
}

/// One KPI: its name, how it reads, and its value.
struct Metric {
    name: &'static str,
    unit: Unit,
    value: fn(&Kpis) -> f64,
}

#[derive(Clone, Copy)]
enum Unit {
    Dollars,
    Share,
    Count,
}

impl Unit {
    fn show(self, x: f64) -> String {
        match self {
            Unit::Dollars => format!("{x:.3}"),
            Unit::Share => format!("{:.2}%", 100.0 * x),
            Unit::Count => format!("{x:.0}"),
        }
    }

    fn show_diff(self, x: f64) -> String {
        match self {
            Unit::Dollars => format!("{x:+.3}"),
            Unit::Share => format!("{:+.2} pt", 100.0 * x),
            Unit::Count => format!("{x:+.0}"),
        }
    }
}

const METRICS: [Metric; 9] = [
    Metric {
        name: "cost per order, $ (shipping + split + protection + backorder + transfer)",
        unit: Unit::Dollars,
        value: |k| k.cost_per_order,
    },
    Metric {
        name: "cash per order, $ (shipping + transfer)",
        unit: Unit::Dollars,
        value: |k| k.cash_per_order,
    },
    Metric {
        name: "stockout rate (orders with a unit backordered)",
        unit: Unit::Share,
        value: |k| k.stockout_rate,
    },
    Metric {
        name: "stockout rate (lines)",
        unit: Unit::Share,
        value: |k| k.line_stockout_rate,
    },
    Metric {
        name: "split rate (shipped orders in 2+ packages)",
        unit: Unit::Share,
        value: |k| k.split_rate,
    },
    Metric {
        name: "on-time rate (world truth)",
        unit: Unit::Share,
        value: |k| k.on_time_rate,
    },
    Metric {
        name: "parcels within the promised window (q90)",
        unit: Unit::Share,
        value: |k| k.in_window_rate,
    },
    Metric {
        name: "units transferred",
        unit: Unit::Count,
        value: |k| k.units_transferred,
    },
    Metric {
        name: "protected units shipped",
        unit: Unit::Count,
        value: |k| k.protected_units,
    },
];

/// Mean, min and max.
fn spread(xs: &[f64]) -> (f64, f64, f64) {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (mean, min, max)
}

/// The report over `results` (every arm of `arms` on every seed of
/// `seeds`), `off` first when it ran.
pub fn render(header: &Header, arms: &[String], seeds: &[u64], results: &[ArmResult]) -> String {
    let mut out = String::new();
    let find = |arm: &str, seed: u64| results.iter().find(|r| r.arm == arm && r.seed == seed);
    let _ = writeln!(out, "# Planning report\n");
    let _ = writeln!(
        out,
        "Made by `plan-sim` (benches/src/bin/plan_sim.rs); what the arms are and how to read this: docs/planning.md, \"Planning simulator\".\n"
    );
    let _ = writeln!(out, "```sh\n{}\n```\n", header.command);
    let _ = writeln!(
        out,
        "Machine: {}. Whole run: {:.0} s.\n",
        header.machine, header.seconds
    );
    let _ = writeln!(out, "## Setup\n");
    for s in &header.setup {
        let _ = writeln!(out, "- {s}");
    }
    verdict(&mut out, arms, seeds, results);
    let _ = writeln!(
        out,
        "\n## KPIs per arm: mean over {} seeds (min .. max)\n",
        seeds.len()
    );
    let _ = write!(out, "| KPI |");
    for a in arms {
        let _ = write!(out, " {a} |");
    }
    let _ = write!(out, "\n| --- |");
    for _ in arms {
        let _ = write!(out, " --- |");
    }
    let _ = writeln!(out);
    for m in &METRICS {
        let _ = write!(out, "| {} |", m.name);
        for a in arms {
            let xs: Vec<f64> = seeds
                .iter()
                .filter_map(|&s| find(a, s))
                .map(|r| (m.value)(&r.tally.kpis()))
                .collect();
            let (mean, min, max) = spread(&xs);
            let _ = write!(
                out,
                " {} ({} .. {}) |",
                m.unit.show(mean),
                m.unit.show(min),
                m.unit.show(max)
            );
        }
        let _ = writeln!(out);
    }
    if arms.iter().any(|a| a == "off") {
        for a in arms.iter().filter(|a| *a != "off") {
            let _ = writeln!(out, "\n## {a} - off, per seed\n");
            let _ = write!(out, "| KPI |");
            for s in seeds {
                let _ = write!(out, " seed {s} |");
            }
            let _ = writeln!(out, " mean (min .. max) |");
            let _ = write!(out, "| --- |");
            for _ in seeds {
                let _ = write!(out, " --- |");
            }
            let _ = writeln!(out, " --- |");
            for m in &METRICS {
                let _ = write!(out, "| {} |", m.name);
                let mut diffs = Vec::new();
                for &s in seeds {
                    match (find(a, s), find("off", s)) {
                        (Some(x), Some(off)) => {
                            let d = (m.value)(&x.tally.kpis()) - (m.value)(&off.tally.kpis());
                            diffs.push(d);
                            let _ = write!(out, " {} |", m.unit.show_diff(d));
                        }
                        _ => {
                            let _ = write!(out, " - |");
                        }
                    }
                }
                let (mean, min, max) = spread(&diffs);
                let _ = writeln!(
                    out,
                    " {} ({} .. {}) |",
                    m.unit.show_diff(mean),
                    m.unit.show_diff(min),
                    m.unit.show_diff(max)
                );
            }
        }
    }
    let _ = writeln!(out, "\n## The forecast the plans read\n");
    let _ = writeln!(
        out,
        "Each morning, the demand model's forecast of the day for the transfer plan's SKUs (the best sellers of the last 7 days) in every node's region, against the units ordered that day (the same in every arm: the orders do not depend on the arm).\n"
    );
    let _ = writeln!(
        out,
        "| seed | series-days | units sold | model's units | 7-day average's units | model WAPE | 7-day average WAPE |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- | --- |");
    for &s in seeds {
        let Some(r) = arms.iter().find_map(|a| find(a, s)) else {
            continue;
        };
        let t = &r.tally;
        let sold = (t.sold_units as f64).max(1.0);
        let _ = writeln!(
            out,
            "| {s} | {} | {} | {:.0} | {:.0} | {:.1}% | {:.1}% |",
            t.forecast_series_days,
            t.sold_units,
            t.forecast_units,
            t.naive_units,
            100.0 * t.forecast_abs_error / sold,
            100.0 * t.naive_abs_error / sold
        );
    }
    let _ = writeln!(out, "\n## Sums per seed and arm\n");
    let _ = writeln!(
        out,
        "| seed | arm | orders | lines | units | orders short | lines short (of SKUs no node held) | units short | packages | shipping $ | split $ | protection $ | backorder $ | transfer $ | units moved | dispatches | plans (proven) | restocked units | run s |"
    );
    let _ = writeln!(
        out,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for &s in seeds {
        for a in arms {
            let Some(r) = find(a, s) else { continue };
            let t = &r.tally;
            let _ = writeln!(
                out,
                "| {s} | {a} | {} | {} | {} | {} | {} ({}) | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} ({}) | {} | {:.0} |",
                t.orders,
                t.lines,
                t.units,
                t.orders_short,
                t.lines_short,
                t.lines_short_unstocked,
                t.units_short,
                t.packages,
                t.shipping as f64 / 100.0,
                t.split as f64 / 100.0,
                t.protection as f64 / 100.0,
                t.backorder as f64 / 100.0,
                t.transfer as f64 / 100.0,
                t.units_transferred,
                t.dispatches,
                t.plans,
                t.plans_proven,
                t.restocked_units,
                r.seconds
            );
        }
    }
    out
}

/// Per arm against `off`: in how many seeds cost per order and stockouts
/// were lower, by how much; and how the forecast compared with the units
/// sold (the first reason to look at when planning does not pay).
fn verdict(out: &mut String, arms: &[String], seeds: &[u64], results: &[ArmResult]) {
    let find = |arm: &str, seed: u64| results.iter().find(|r| r.arm == arm && r.seed == seed);
    if !arms.iter().any(|a| a == "off") {
        return;
    }
    let _ = writeln!(out, "\n## Verdict against off\n");
    for a in arms.iter().filter(|a| *a != "off") {
        let pairs: Vec<(Kpis, Kpis)> = seeds
            .iter()
            .filter_map(|&s| Some((find(a, s)?.tally.kpis(), find("off", s)?.tally.kpis())))
            .collect();
        let cost: Vec<f64> = pairs
            .iter()
            .map(|(x, o)| x.cost_per_order - o.cost_per_order)
            .collect();
        let short: Vec<f64> = pairs
            .iter()
            .map(|(x, o)| x.stockout_rate - o.stockout_rate)
            .collect();
        let (cm, cmin, cmax) = spread(&cost);
        let (sm, smin, smax) = spread(&short);
        let _ = writeln!(
            out,
            "- {a}: cost per order lower in {} of {} seeds ({} $/order, {} .. {}); stockout rate lower in {} of {} seeds ({}, {} .. {}).",
            cost.iter().filter(|&&d| d < 0.0).count(),
            pairs.len(),
            Unit::Dollars.show_diff(cm),
            Unit::Dollars.show_diff(cmin),
            Unit::Dollars.show_diff(cmax),
            short.iter().filter(|&&d| d < 0.0).count(),
            pairs.len(),
            Unit::Share.show_diff(sm),
            Unit::Share.show_diff(smin),
            Unit::Share.show_diff(smax),
        );
    }
    let ratios: Vec<f64> = seeds
        .iter()
        .filter_map(|&s| arms.iter().find_map(|a| find(a, s)))
        .map(|r| r.tally.forecast_units / (r.tally.sold_units as f64).max(1.0))
        .collect();
    let (rm, rmin, rmax) = spread(&ratios);
    let _ = writeln!(
        out,
        "- The forecast the plans read was {rm:.1} times the units sold ({rmin:.1} .. {rmax:.1} over the seeds; table below): plans and prices rest on it. Why planning does or does not pay here: docs/planning.md, \"Planning simulator\"."
    );
}
