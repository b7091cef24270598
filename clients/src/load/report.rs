//! The end-of-run report: a table for people, one JSON object for tools.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use super::stats::{RpcStats, RunStats};
use super::{LoadConfig, Pacing};

/// What a load run measured.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// How the run was made.
    pub config: LoadConfig,
    /// The answers of the measured requests.
    pub stats: RunStats,
    /// The measured window (warmup excluded): from the end of the warmup to
    /// the last answer.
    pub measured: Duration,
    /// Open loop only: how late the scheduler issued requests after their
    /// intended time (client-side lag, already included in the latencies).
    pub schedule_lag: Option<Histogram<u64>>,
    /// The endpoints the calls were spread over (1: one server).
    pub targets: usize,
    /// With several targets: how many of them served when the run ended.
    pub targets_serving: Option<usize>,
}

impl LoadReport {
    /// The report as one JSON object: `rpc`, `mode`, `concurrency` or
    /// `rate` (and `max_in_flight`), `duration_s`, `targets` (and, with
    /// several, `targets_serving` at the end), `connections`, `lines`,
    /// `seed`, `warmup_s`, `timeout_ms`, then the totals of
    /// [`RpcStats::summary`] (`ok`, `errors`, `rps`, `p50_us`, `p90_us`,
    /// `p99_us`, `p999_us`, `max_us`, ...), and `by_rpc` (name -> the same
    /// summary) when more than one kind of request was sent.
    pub fn to_json(&self) -> Value {
        let config = &self.config;
        let seconds = self.measured.as_secs_f64();
        let mut object = serde_json::Map::new();
        object.insert("rpc".into(), json!(config.rpc_label()));
        if config.is_mix {
            object.insert("mix".into(), json!(config.mix.to_string()));
        }
        if config.plain_allocate {
            object.insert("plain".into(), json!(true));
        }
        match config.pacing {
            Pacing::Closed { concurrency } => {
                object.insert("mode".into(), json!("closed"));
                object.insert("concurrency".into(), json!(concurrency));
            }
            Pacing::Open {
                rate,
                max_in_flight,
            } => {
                object.insert("mode".into(), json!("open"));
                object.insert("rate".into(), json!(rate));
                object.insert("max_in_flight".into(), json!(max_in_flight));
            }
        }
        object.insert("duration_s".into(), json!(round3(seconds)));
        object.insert("targets".into(), json!(self.targets));
        if let Some(serving) = self.targets_serving {
            object.insert("targets_serving".into(), json!(serving));
        }
        object.insert("connections".into(), json!(config.connections));
        object.insert("lines".into(), json!(config.lines));
        object.insert("seed".into(), json!(config.seed));
        object.insert(
            "warmup_s".into(),
            json!(round3(config.warmup.as_secs_f64())),
        );
        object.insert("timeout_ms".into(), json!(config.timeout.as_millis()));
        if let Value::Object(total) = self.stats.total().summary(seconds) {
            object.extend(total);
        }
        if let Some(lag) = &self.schedule_lag {
            object.insert(
                "schedule_lag_p99_us".into(),
                json!(lag.value_at_quantile(0.99)),
            );
            object.insert("schedule_lag_max_us".into(), json!(lag.max()));
        }
        let kinds = self.stats.kinds_seen();
        if config.is_mix || kinds.len() > 1 {
            let by_rpc: serde_json::Map<String, Value> = kinds
                .iter()
                .map(|(kind, stats)| (kind.name().to_string(), stats.summary(seconds)))
                .collect();
            object.insert("by_rpc".into(), Value::Object(by_rpc));
        }
        Value::Object(object)
    }

    /// The report as a table: one row per kind of request (and a total row
    /// when there are several), then the status codes.
    pub fn table(&self) -> String {
        let config = &self.config;
        let seconds = self.measured.as_secs_f64();
        let mut out = String::new();
        let pacing = match config.pacing {
            Pacing::Closed { concurrency } => format!("closed loop, concurrency {concurrency}"),
            Pacing::Open {
                rate,
                max_in_flight,
            } => format!("open loop, {rate} req/s (max in flight {max_in_flight})"),
        };
        let what = if config.is_mix {
            format!("mix {}", config.mix)
        } else {
            config.rpc_label()
        };
        let targets = match self.targets_serving {
            Some(serving) => format!(
                "{} targets ({serving} serving at the end), {} connection(s) to each",
                self.targets, config.connections
            ),
            None => format!("{} connection(s)", config.connections),
        };
        let _ = writeln!(
            out,
            "{what}: {pacing}, {targets}, measured {seconds:.2}s after {:.2}s warmup",
            config.warmup.as_secs_f64(),
        );
        let _ = writeln!(
            out,
            "{:<22} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}",
            "rpc", "requests", "rps", "p50", "p90", "p99", "p99.9", "max", "ok", "errors"
        );
        let kinds = self.stats.kinds_seen();
        let total = self.stats.total();
        let mut rows: Vec<(&str, &RpcStats)> = kinds
            .iter()
            .map(|(kind, stats)| (kind.name(), *stats))
            .collect();
        if kinds.len() > 1 {
            rows.push(("total", &total));
        }
        for (name, stats) in &rows {
            let q = |p: f64| format_us(stats.all.value_at_quantile(p));
            let _ = writeln!(
                out,
                "{name:<22} {:>9} {:>10.1} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}",
                stats.answered(),
                if seconds > 0.0 {
                    stats.answered() as f64 / seconds
                } else {
                    0.0
                },
                q(0.5),
                q(0.9),
                q(0.99),
                q(0.999),
                format_us(stats.all.max()),
                stats.ok_count(),
                stats.error_count(),
            );
        }
        let _ = writeln!(out, "status codes:");
        for (name, stats) in &rows[..kinds.len()] {
            let codes: Vec<String> = stats
                .code_counts()
                .iter()
                .map(|(code, n)| format!("{code} {n}"))
                .collect();
            let dropped = if stats.client_dropped > 0 {
                format!(", client_dropped {}", stats.client_dropped)
            } else {
                String::new()
            };
            let _ = writeln!(out, "  {name:<20} {}{dropped}", codes.join(", "));
        }
        if let Some(lag) = &self.schedule_lag {
            let _ = writeln!(
                out,
                "scheduler lag (client side, included above): p99 {}, max {}",
                format_us(lag.value_at_quantile(0.99)),
                format_us(lag.max()),
            );
        }
        out
    }
}

/// A latency for people: `850us`, `1.25ms`, `2.50s`.
pub fn format_us(micros: u64) -> String {
    match micros {
        0..1_000 => format!("{micros}us"),
        1_000..1_000_000 => format!("{:.2}ms", micros as f64 / 1e3),
        _ => format!("{:.2}s", micros as f64 / 1e6),
    }
}

/// Rounds to 3 decimals.
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;
    use crate::load::{Mix, Stop};

    fn report(mix: &str, is_mix: bool, pacing: Pacing) -> LoadReport {
        let mut config = LoadConfig::new(mix.parse::<Mix>().unwrap());
        config.is_mix = is_mix;
        config.pacing = pacing;
        config.stop = Stop::Requests(3);
        let mut stats = RunStats::default();
        for (kind, _) in config.mix.weights() {
            stats.record(*kind, Code::Ok, Duration::from_micros(800));
            stats.record(*kind, Code::Unimplemented, Duration::from_micros(90));
        }
        LoadReport {
            config,
            stats,
            measured: Duration::from_secs(2),
            schedule_lag: matches!(pacing, Pacing::Open { .. }).then(crate::load::new_histogram),
            targets: 1,
            targets_serving: None,
        }
    }

    #[test]
    fn json_of_a_single_rpc_closed_loop() {
        let json = report("allocate", false, Pacing::Closed { concurrency: 32 }).to_json();
        for field in [
            "rpc",
            "ok",
            "errors",
            "rps",
            "p50_us",
            "p90_us",
            "p99_us",
            "p999_us",
            "max_us",
            "mode",
            "concurrency",
            "duration_s",
            "connections",
        ] {
            assert!(json.get(field).is_some(), "{field} missing: {json}");
        }
        assert_eq!(json["rpc"], "allocate");
        assert_eq!(json["mode"], "closed");
        assert_eq!(json["concurrency"], 32);
        assert_eq!(json["duration_s"], 2.0);
        assert_eq!(json["rps"], 1.0);
        assert_eq!(json["ok"], 1);
        assert_eq!(json["errors"]["UNIMPLEMENTED"], 1);
        assert!(json.get("by_rpc").is_none());
        assert!(json.get("rate").is_none());
        // One line when printed compactly.
        assert!(!json.to_string().contains('\n'));
    }

    #[test]
    fn json_of_an_open_loop_mix_has_a_breakdown() {
        let pacing = Pacing::Open {
            rate: 500.0,
            max_in_flight: 4096,
        };
        let json = report("allocate=6,promise=3,score=1", true, pacing).to_json();
        assert_eq!(json["rpc"], "mix");
        assert_eq!(json["mode"], "open");
        assert_eq!(json["rate"], 500.0);
        assert_eq!(json["ok"], 3);
        assert!(json.get("schedule_lag_p99_us").is_some());
        let by_rpc = json["by_rpc"].as_object().unwrap();
        assert_eq!(by_rpc.len(), 3);
        assert_eq!(by_rpc["promise"]["errors"]["UNIMPLEMENTED"], 1);
        assert!(by_rpc["score"].get("p999_us").is_some());
    }

    #[test]
    fn table_lists_every_rpc_and_the_codes() {
        let pacing = Pacing::Closed { concurrency: 4 };
        let table = report("allocate=1,score=1", true, pacing).table();
        assert!(table.contains("allocate "), "{table}");
        assert!(table.contains("score "), "{table}");
        assert!(table.contains("total "), "{table}");
        assert!(table.contains("UNIMPLEMENTED 1"), "{table}");
    }

    #[test]
    fn several_targets_are_counted() {
        let mut report = report("health", false, Pacing::Closed { concurrency: 4 });
        assert_eq!(report.to_json()["targets"], 1);
        assert!(report.to_json().get("targets_serving").is_none());
        (report.targets, report.targets_serving) = (3, Some(2));
        let json = report.to_json();
        assert_eq!(
            (json["targets"].clone(), json["targets_serving"].clone()),
            (3.into(), 2.into())
        );
        let table = report.table();
        assert!(
            table.contains("3 targets (2 serving at the end), 2 connection(s) to each"),
            "{table}"
        );
    }

    #[test]
    fn formats_latencies() {
        assert_eq!(format_us(850), "850us");
        assert_eq!(format_us(1_250), "1.25ms");
        assert_eq!(format_us(2_500_000), "2.50s");
    }
}
