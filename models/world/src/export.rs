//! Writing the world's training tables: `fraud.csv`, `eta.csv`,
//! `demand.csv`, `returns.csv` and `world.json` (seed, counts, fraud rate,
//! sha256 of each CSV). Column order is `models/training/SCHEMA.md`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use allot_models::features::{CATEGORIES, DEMAND_FEATURES, ETA_FEATURES, FRAUD_FEATURES};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::world::{DemandRow, EtaRow, FraudRow, World};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Creating or writing a file failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// CSV encoding failed.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    /// JSON encoding failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

/// What `world.json` records.
#[derive(Debug, Clone, Serialize)]
pub struct WorldSummary {
    /// Always `allot-world`.
    pub generator: String,
    /// Crate version that generated the data.
    pub version: String,
    /// World seed.
    pub seed: u64,
    /// First day, ISO date.
    pub start_date: String,
    /// Number of days.
    pub days: u32,
    /// Row counts per table, and entity counts.
    pub counts: BTreeMap<String, u64>,
    /// Share of orders that are fraud.
    pub fraud_rate: f64,
    /// Fraud orders by kind (hidden truth, for the README / report).
    pub fraud_by_kind: BTreeMap<String, u64>,
    /// sha256 (hex) of each CSV, keyed by file name.
    pub sha256: BTreeMap<String, String>,
}

/// A writer that hashes what passes through it.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A feature value as CSV text; a missing value (NaN) is an empty field.
fn f(x: f32) -> String {
    if x.is_nan() {
        String::new()
    } else {
        x.to_string()
    }
}

/// Writes fraud rows (header included) to `w`.
pub fn write_fraud<W: Write>(rows: &[FraudRow], w: W) -> Result<(), ExportError> {
    let mut out = csv::Writer::from_writer(w);
    let mut header: Vec<&str> = FRAUD_FEATURES.to_vec();
    header.extend(["is_fraud", "order_time", "split"]);
    out.write_record(&header)?;
    for r in rows {
        let mut rec: Vec<String> = r.features.to_row().iter().map(|&x| f(x)).collect();
        rec.push(u8::from(r.is_fraud).to_string());
        rec.push(r.order_time.to_string());
        rec.push(r.split.as_str().to_string());
        out.write_record(&rec)?;
    }
    out.flush().map_err(|e| ExportError::Io {
        path: "fraud.csv".into(),
        source: e,
    })
}

/// Writes ETA rows (header included) to `w`.
pub fn write_eta<W: Write>(world: &World, rows: &[EtaRow], w: W) -> Result<(), ExportError> {
    let mut out = csv::Writer::from_writer(w);
    let mut header: Vec<&str> = ETA_FEATURES.to_vec();
    header.extend(["transit_days", "service", "split"]);
    out.write_record(&header)?;
    for r in rows {
        let mut rec: Vec<String> = r.features.to_row().iter().map(|&x| f(x)).collect();
        rec.push(format!("{:.5}", r.transit_days));
        rec.push(world.network.service(r.service).code.clone());
        rec.push(r.split.as_str().to_string());
        out.write_record(&rec)?;
    }
    out.flush().map_err(|e| ExportError::Io {
        path: "eta.csv".into(),
        source: e,
    })
}

/// Writes demand rows (header included) to `w`.
pub fn write_demand<W: Write>(rows: &[DemandRow], w: W) -> Result<(), ExportError> {
    let mut out = csv::Writer::from_writer(w);
    let mut header: Vec<&str> = DEMAND_FEATURES.to_vec();
    header.extend(["units", "split", "date"]);
    out.write_record(&header)?;
    for r in rows {
        let mut rec: Vec<String> = r.features.to_row().iter().map(|&x| f(x)).collect();
        rec.push(r.units.to_string());
        rec.push(r.split.as_str().to_string());
        rec.push(r.date.format("%Y-%m-%d").to_string());
        out.write_record(&rec)?;
    }
    out.flush().map_err(|e| ExportError::Io {
        path: "demand.csv".into(),
        source: e,
    })
}

/// Writes the returns (header included) to `w`.
pub fn write_returns<W: Write>(world: &World, w: W) -> Result<(), ExportError> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record([
        "order_time",
        "return_time",
        "category",
        "reason",
        "condition",
        "days_after_delivery",
    ])?;
    for r in &world.returns {
        out.write_record([
            r.order_time.to_string(),
            r.time.to_string(),
            CATEGORIES
                .get(r.category)
                .copied()
                .unwrap_or("unknown")
                .to_string(),
            r.reason.as_str().to_string(),
            r.condition.as_str().to_string(),
            format!("{:.3}", r.days_after_delivery),
        ])?;
    }
    out.flush().map_err(|e| ExportError::Io {
        path: "returns.csv".into(),
        source: e,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes one file through `write`, returning its sha256 (hex).
fn write_file(
    dir: &Path,
    name: &str,
    write: impl FnOnce(&mut Hashing<BufWriter<File>>) -> Result<(), ExportError>,
) -> Result<String, ExportError> {
    let path = dir.join(name);
    let io = |source| ExportError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = File::create(&path).map_err(io)?;
    let mut w = Hashing {
        inner: BufWriter::with_capacity(1 << 20, file),
        hash: Sha256::new(),
    };
    write(&mut w)?;
    w.flush().map_err(io)?;
    Ok(hex(&w.hash.finalize()))
}

/// Writes every table of `world` and `world.json` into `dir` (created if
/// missing) and returns the summary written to `world.json`.
pub fn write_world(world: &World, dir: &Path) -> Result<WorldSummary, ExportError> {
    std::fs::create_dir_all(dir).map_err(|source| ExportError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let fraud = world.fraud_rows();
    let eta = world.eta_rows();
    let mut sha256 = BTreeMap::new();
    sha256.insert(
        "fraud.csv".to_string(),
        write_file(dir, "fraud.csv", |w| write_fraud(&fraud, w))?,
    );
    sha256.insert(
        "eta.csv".to_string(),
        write_file(dir, "eta.csv", |w| write_eta(world, &eta, w))?,
    );
    sha256.insert(
        "demand.csv".to_string(),
        write_file(dir, "demand.csv", |w| write_demand(&world.demand, w))?,
    );
    sha256.insert(
        "returns.csv".to_string(),
        write_file(dir, "returns.csv", |w| write_returns(world, w))?,
    );

    let mut by_kind = BTreeMap::new();
    for o in &world.orders {
        if let Some(k) = o.fraud {
            *by_kind.entry(format!("{k:?}")).or_insert(0u64) += 1;
        }
    }
    let fraud_orders: u64 = by_kind.values().sum();
    let counts = BTreeMap::from([
        ("orders".to_string(), world.orders.len() as u64),
        ("fraud_orders".to_string(), fraud_orders),
        ("fraud_rows".to_string(), fraud.len() as u64),
        ("eta_rows".to_string(), eta.len() as u64),
        ("demand_rows".to_string(), world.demand.len() as u64),
        ("returns".to_string(), world.returns.len() as u64),
        (
            "customers".to_string(),
            world.population.customers.len() as u64,
        ),
        (
            "addresses".to_string(),
            world.population.addresses.len() as u64,
        ),
        (
            "disruptions".to_string(),
            world.carriers.disruptions.len() as u64,
        ),
    ]);
    let summary = WorldSummary {
        generator: "allot-world".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        seed: world.config.seed,
        start_date: world.config.start.to_string(),
        days: world.config.days,
        counts,
        fraud_rate: world.fraud_rate(),
        fraud_by_kind: by_kind,
        sha256,
    };
    let path = dir.join("world.json");
    let mut json = serde_json::to_string_pretty(&summary)?;
    json.push('\n');
    std::fs::write(&path, json).map_err(|source| ExportError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(summary)
}
