//! `allot-world`: generates the synthetic retail world and writes its
//! training tables.
//!
//! ```text
//! cargo run --release -p allot-training --bin allot-world -- --seed 7 --out models/data
//! cargo run --release -p allot-training --bin allot-world -- calibrate --seed 7 --models models
//! ```
//!
//! `calibrate` fits the ETA calibration (`models/eta.calibration.json`) on
//! held-out shipments of the world and writes its reliability table and
//! window coverage into `models/REPORT.md`.

use std::path::PathBuf;
use std::time::Instant;

use allot_models::scoring::{EtaModel, OrtRuntime};
use allot_models::transit::CALIBRATION_FILE;
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
        /// The ONNX Runtime library (default: ORT_DYLIB_PATH, else the
        /// project venv's).
        #[arg(long)]
        onnxruntime_lib: Option<PathBuf>,
    },
}

fn calibrate(
    config: WorldConfig,
    models: &std::path::Path,
    report: &std::path::Path,
    lib: Option<&std::path::Path>,
) -> Result<String, String> {
    let started = Instant::now();
    OrtRuntime::init(lib).map_err(|e| e.to_string())?;
    let model = EtaModel::load(&models.join("eta.onnx"), &models.join("cards/eta.json"))
        .map_err(|e| e.to_string())?;
    let world = World::generate(config);
    let (calibration, fitted) = fit::fit(model, &world).map_err(|e| e.to_string())?;
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
    let config = if args.small {
        WorldConfig::small(args.seed)
    } else {
        WorldConfig::new(args.seed)
    };
    if let Some(Command::Calibrate {
        models,
        report,
        onnxruntime_lib,
    }) = &args.command
    {
        return match calibrate(config, models, report, onnxruntime_lib.as_deref()) {
            Ok(line) => {
                println!("{line}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("allot-world calibrate: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let world = World::generate(config);
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
