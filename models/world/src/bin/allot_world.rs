//! `allot-world`: generates the synthetic retail world and writes its
//! training tables.
//!
//! ```text
//! cargo run --release -p allot-training --bin allot-world -- --seed 7 --out models/data
//! cargo run --release -p allot-training --bin allot-world -- calibrate --seed 7 --models models
//! cargo run --release -p allot-training --bin allot-world -- calibrate --seeds 7,8,9 --models models
//! cargo run --release -p allot-training --bin allot-world -- evaluate --seeds 11,23,31,47,59 --models models
//! ```
//!
//! `calibrate` fits the ETA calibration (`models/eta.calibration.json`) on
//! held-out shipments of the world (or of several worlds, pooled) and
//! writes its reliability table and window coverage into
//! `models/REPORT.md`. `evaluate` measures the shipped model and
//! calibration, loaded as the server loads them, on worlds of other seeds.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use allot_models::scoring::{EtaModel, OrtRuntime};
use allot_models::transit::{CALIBRATION_FILE, ETA_CARD, ETA_ONNX};
use allot_training::export::write_world;
use allot_training::fit;
use allot_training::world::{World, WorldConfig};
use clap::{Parser, Subcommand};

/// Generate the synthetic world and write fraud.csv, eta.csv, demand.csv,
/// returns.csv and world.json.
#[derive(Debug, Parser)]
#[command(name = "allot-world", version)]
struct Args {
    /// World seed (same seed, same files byte for byte).
    #[arg(long, default_value_t = 7, global = true)]
    seed: u64,
    /// Output directory (created if missing).
    #[arg(long, default_value = "models/data")]
    out: PathBuf,
    /// Generate the small test world instead of the full one.
    #[arg(long, global = true)]
    small: bool,
    /// What to do instead of writing the training tables.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fit the ETA calibration on held-out shipments, write it next to the
    /// model and its evaluation into the report.
    Calibrate {
        /// Models directory (eta.onnx, cards/eta.json; receives
        /// eta.calibration.json).
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// The report whose calibration section is replaced.
        #[arg(long, default_value = "models/REPORT.md")]
        report: PathBuf,
        /// Fit on the pooled held-out shipments of these worlds (comma
        /// separated, in order) instead of the one of `--seed`.
        #[arg(long, value_delimiter = ',', num_args = 1.., conflicts_with = "seed")]
        seeds: Vec<u64>,
        /// The ONNX Runtime library (default: ORT_DYLIB_PATH, else the
        /// project venv's).
        #[arg(long)]
        onnxruntime_lib: Option<PathBuf>,
    },
    /// Measure the shipped ETA model and calibration, loaded as the server
    /// loads them, on the held-out shipments of worlds of other seeds.
    Evaluate {
        /// Worlds to measure on (comma separated).
        #[arg(long, value_delimiter = ',', num_args = 1.., default_values_t = fit::EVALUATION_SEEDS)]
        seeds: Vec<u64>,
        /// Models directory (eta.onnx, cards/eta.json,
        /// eta.calibration.json).
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// Consecutive release-date windows per world.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..))]
        windows: u16,
        /// Also write the rows as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// The ONNX Runtime library (default: ORT_DYLIB_PATH, else the
        /// project venv's).
        #[arg(long)]
        onnxruntime_lib: Option<PathBuf>,
    },
}

/// The world of `seed`, full or small.
fn config(seed: u64, small: bool) -> WorldConfig {
    if small {
        WorldConfig::small(seed)
    } else {
        WorldConfig::new(seed)
    }
}

/// Measures the calibration in `models` on the worlds of `seeds`; returns
/// the table to print.
fn evaluate(
    seeds: &[u64],
    small: bool,
    models: &Path,
    windows: usize,
    json: Option<&Path>,
    lib: Option<&Path>,
) -> Result<String, String> {
    let started = Instant::now();
    OrtRuntime::init(lib).map_err(|e| e.to_string())?;
    let mut evaluator: Option<fit::Evaluator> = None;
    let mut rows = Vec::new();
    for &seed in seeds {
        let world = World::generate(config(seed, small));
        let e = match evaluator.take() {
            Some(e) => e,
            None => fit::Evaluator::load(models, Arc::new(world.network.clone()))
                .map_err(|e| e.to_string())?,
        };
        rows.extend(e.world(&world, windows).map_err(|e| e.to_string())?);
        evaluator = Some(e);
    }
    let Some(evaluator) = evaluator else {
        return Err("no seeds to evaluate".into());
    };
    let calibration = evaluator.calibration();
    let evaluation = fit::Evaluation {
        model_version: calibration.model_version.clone(),
        fitted_on: calibration.fitted_on.clone(),
        windows,
        rows,
    };
    if let Some(path) = json {
        let mut text = serde_json::to_string_pretty(&evaluation).map_err(|e| e.to_string())?;
        text.push('\n');
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "allot-world evaluate: {} with the calibration in {} (fitted on {})",
        evaluation.model_version,
        models.display(),
        evaluation.fitted_on
    );
    let _ = writeln!(
        out,
        "{:>5} {:>6} {:>23} {:>7} {:>7} {:>7} {:>8} {:>8} {:>8}",
        "seed", "window", "release dates", "rows", "ECE", "ECE raw", "on time", "cover", "cov raw"
    );
    for r in &evaluation.rows {
        let m = &r.measures;
        let _ = writeln!(
            out,
            "{:>5} {:>6} {:>23} {:>7} {:>7.4} {:>7.4} {:>7.1}% {:>7.1}% {:>7.1}%",
            r.seed,
            r.window.map_or("all".to_string(), |w| w.to_string()),
            format!("{}..{}", r.from, r.to),
            m.rows,
            m.ece,
            m.ece_raw,
            100.0 * m.on_time,
            100.0 * m.coverage,
            100.0 * m.coverage_raw
        );
    }
    let worlds: Vec<&fit::EvalRow> = evaluation
        .rows
        .iter()
        .filter(|r| r.window.is_none())
        .collect();
    let worst = |f: fn(&fit::Measures) -> f64| {
        worlds
            .iter()
            .map(|r| f(&r.measures))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            })
    };
    let (_, ece_max) = worst(|m| m.ece);
    let (cov_lo, cov_hi) = worst(|m| m.coverage);
    let _ = write!(
        out,
        "per world: ECE at most {ece_max:.4}, coverage {:.1}%..{:.1}%{}; {:.1}s",
        100.0 * cov_lo,
        100.0 * cov_hi,
        json.map_or(String::new(), |p| format!("; wrote {}", p.display())),
        started.elapsed().as_secs_f64()
    );
    Ok(out)
}

fn calibrate(
    seeds: &[u64],
    small: bool,
    models: &Path,
    report: &Path,
    lib: Option<&Path>,
) -> Result<String, String> {
    let started = Instant::now();
    if let Some(seed) = seeds.iter().find(|s| fit::EVALUATION_SEEDS.contains(s)) {
        return Err(format!(
            "world seed {seed} is kept for `allot-world evaluate` (seeds {:?}); fit on others",
            fit::EVALUATION_SEEDS
        ));
    }
    OrtRuntime::init(lib).map_err(|e| e.to_string())?;
    let model = EtaModel::load(&models.join(ETA_ONNX), &models.join(ETA_CARD))
        .map_err(|e| e.to_string())?;
    let worlds = seeds
        .iter()
        .map(|&seed| World::generate(config(seed, small)));
    let (calibration, fitted) = fit::fit(model, worlds).map_err(|e| e.to_string())?;
    calibration
        .save(&models.join(CALIBRATION_FILE))
        .map_err(|e| e.to_string())?;
    fit::write_section(report, &fit::render(&fitted))
        .map_err(|e| format!("cannot write {}: {e}", report.display()))?;
    let all = fitted.coverage.iter().find(|c| c.service == "all");
    Ok(format!(
        "allot-world calibrate: {} fit / {} eval shipments; promised-date ECE {:.4} (raw {:.4}); window coverage {:.1}% (raw {:.1}%); wrote {} and {} in {:.1}s",
        fitted.fit_rows,
        fitted.eval_rows,
        fitted.promise_ece,
        fitted.promise_ece_raw,
        100.0 * all.map_or(0.0, |c| c.calibrated),
        100.0 * all.map_or(0.0, |c| c.raw),
        models.join(CALIBRATION_FILE).display(),
        report.display(),
        started.elapsed().as_secs_f64()
    ))
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let started = Instant::now();
    let done = |name: &str, result: Result<String, String>| match result {
        Ok(out) => {
            println!("{out}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("allot-world {name}: {e}");
            std::process::ExitCode::FAILURE
        }
    };
    match &args.command {
        Some(Command::Calibrate {
            models,
            report,
            seeds,
            onnxruntime_lib,
        }) => {
            let seeds = if seeds.is_empty() {
                vec![args.seed]
            } else {
                seeds.clone()
            };
            return done(
                "calibrate",
                calibrate(
                    &seeds,
                    args.small,
                    models,
                    report,
                    onnxruntime_lib.as_deref(),
                ),
            );
        }
        Some(Command::Evaluate {
            seeds,
            models,
            windows,
            json,
            onnxruntime_lib,
        }) => {
            return done(
                "evaluate",
                evaluate(
                    seeds,
                    args.small,
                    models,
                    usize::from(*windows),
                    json.as_deref(),
                    onnxruntime_lib.as_deref(),
                ),
            );
        }
        None => {}
    }
    let world = World::generate(config(args.seed, args.small));
    let generated = started.elapsed();
    match write_world(&world, &args.out) {
        Ok(s) => {
            let c = |k: &str| s.counts.get(k).copied().unwrap_or(0);
            println!(
                "allot-world: seed {} -> {}: {} orders ({:.2}% fraud), {} eta rows, {} demand rows, {} returns; generated in {:.1}s, total {:.1}s",
                s.seed,
                args.out.display(),
                c("orders"),
                100.0 * s.fraud_rate,
                c("eta_rows"),
                c("demand_rows"),
                c("returns"),
                generated.as_secs_f64(),
                started.elapsed().as_secs_f64()
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("allot-world: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
