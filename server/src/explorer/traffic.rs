//! Request rates and latencies per RPC, read from the process's Prometheus
//! recorder (the same numbers `/metrics` serves): requests and errors from
//! `allot_grpc_requests_total`, latency quantiles from the buckets of
//! `allot_grpc_request_duration_seconds`, and rates from samples of the
//! request counts taken every [`SAMPLE_EVERY`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::PrometheusHandle;
use parking_lot::Mutex;

/// How often the request counts are sampled for rates.
pub(crate) const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// Samples kept: rates cover up to this many intervals.
const SAMPLES: usize = 7;

/// One RPC's traffic.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RpcTraffic {
    /// `Service/Method`.
    pub rpc: String,
    /// Requests answered, every code.
    pub requests: u64,
    /// Requests answered with a code other than OK.
    pub errors: u64,
    /// Requests per second over the sampled window.
    pub per_second: f64,
    /// Upper bound of the bucket holding the median latency, seconds
    /// (infinite above the last bucket).
    pub p50_s: Option<f64>,
    /// The same for the 99th percentile.
    pub p99_s: Option<f64>,
}

/// The request-count samples behind the rates.
#[derive(Default)]
pub(crate) struct Traffic {
    samples: Mutex<VecDeque<(Instant, HashMap<String, u64>)>>,
}

impl Traffic {
    /// Samples the request counts of `handle` every [`SAMPLE_EVERY`], for
    /// ever (the caller aborts the task).
    pub(crate) async fn sample(&self, handle: &PrometheusHandle) {
        let mut tick = tokio::time::interval(SAMPLE_EVERY);
        loop {
            tick.tick().await;
            let counts = parse(&handle.render())
                .into_iter()
                .map(|r| (r.rpc, r.requests))
                .collect();
            let mut samples = self.samples.lock();
            samples.push_back((Instant::now(), counts));
            while samples.len() > SAMPLES {
                samples.pop_front();
            }
        }
    }

    /// Every RPC's traffic now, and the seconds its rates cover.
    pub(crate) fn now(&self, handle: &PrometheusHandle) -> (Vec<RpcTraffic>, u64) {
        let mut rows = parse(&handle.render());
        let samples = self.samples.lock();
        let Some((since, before)) = samples.front() else {
            return (rows, 0);
        };
        let window = since.elapsed().as_secs_f64().max(1e-3);
        for row in &mut rows {
            let then = before.get(&row.rpc).copied().unwrap_or(0);
            row.per_second = row.requests.saturating_sub(then) as f64 / window;
        }
        (rows, window.round() as u64)
    }
}

/// A metric line's name, labels and value.
fn line(text: &str) -> Option<(&str, BTreeMap<&str, &str>, f64)> {
    let (head, value) = text.rsplit_once(' ')?;
    let value: f64 = value.parse().ok()?;
    let (name, labels) = match head.split_once('{') {
        Some((name, rest)) => (name, rest.strip_suffix('}')?),
        None => (head, ""),
    };
    let mut map = BTreeMap::new();
    for pair in labels.split("\",").filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once("=\"")?;
        map.insert(key, value.trim_end_matches('"'));
    }
    Some((name, map, value))
}

/// The RPCs in a Prometheus text rendering, by name.
fn parse(text: &str) -> Vec<RpcTraffic> {
    let mut requests: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut buckets: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for (name, labels, value) in text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(line)
    {
        let Some(rpc) = labels.get("rpc") else {
            continue;
        };
        match name {
            "allot_grpc_requests_total" => {
                let entry = requests.entry((*rpc).to_string()).or_default();
                entry.0 += value as u64;
                if labels.get("code").is_some_and(|c| *c != "Ok") {
                    entry.1 += value as u64;
                }
            }
            "allot_grpc_request_duration_seconds_bucket" => {
                let le = match labels.get("le") {
                    Some(&"+Inf") => f64::INFINITY,
                    Some(le) => le.parse().unwrap_or(f64::INFINITY),
                    None => continue,
                };
                buckets
                    .entry((*rpc).to_string())
                    .or_default()
                    .push((le, value));
            }
            _ => {}
        }
    }
    requests
        .into_iter()
        .map(|(rpc, (total, errors))| {
            let mut cumulative = buckets.remove(&rpc).unwrap_or_default();
            cumulative.sort_by(|a, b| a.0.total_cmp(&b.0));
            let quantile = |q: f64| {
                let count = cumulative.last()?.1;
                (count > 0.0)
                    .then(|| {
                        cumulative
                            .iter()
                            .find(|(_, c)| *c >= q * count)
                            .map(|(le, _)| *le)
                    })
                    .flatten()
            };
            RpcTraffic {
                p50_s: quantile(0.5),
                p99_s: quantile(0.99),
                rpc,
                requests: total,
                errors,
                per_second: 0.0,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_codes_and_reads_quantiles_from_the_buckets() {
        let text = "\
# TYPE allot_grpc_requests_total counter
allot_grpc_requests_total{rpc=\"AllocationService/Allocate\",code=\"Ok\"} 98
allot_grpc_requests_total{rpc=\"AllocationService/Allocate\",code=\"InvalidArgument\"} 2
allot_grpc_request_duration_seconds_bucket{rpc=\"AllocationService/Allocate\",le=\"0.001\"} 40
allot_grpc_request_duration_seconds_bucket{rpc=\"AllocationService/Allocate\",le=\"0.002\"} 97
allot_grpc_request_duration_seconds_bucket{rpc=\"AllocationService/Allocate\",le=\"0.005\"} 99
allot_grpc_request_duration_seconds_bucket{rpc=\"AllocationService/Allocate\",le=\"+Inf\"} 100
allot_grpc_request_duration_seconds_sum{rpc=\"AllocationService/Allocate\"} 0.15
";
        let rows = parse(text);
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!((row.requests, row.errors), (100, 2));
        assert_eq!(row.p50_s, Some(0.002));
        assert_eq!(row.p99_s, Some(0.005));
    }
}
