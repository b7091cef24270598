//! Latency histograms and status counts of a load run, and their summary.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tonic::Code;

use super::mix::RpcKind;
use crate::error::code_name;

/// Largest latency a histogram holds (60 s); longer ones count as 60 s.
const MAX_LATENCY_US: u64 = 60_000_000;
/// Number of gRPC status codes.
const CODES: usize = 17;

/// A latency histogram in microseconds with 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

/// Records `latency` in `histogram`, in whole microseconds.
pub fn record_latency(histogram: &mut Histogram<u64>, latency: Duration) {
    let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    histogram.saturating_record(micros);
}

/// Answers of one kind of request: latencies and status codes.
#[derive(Debug, Clone)]
pub struct RpcStats {
    /// Latency of every answered request, whatever its status.
    pub all: Histogram<u64>,
    /// Latency of the requests answered OK.
    pub ok: Histogram<u64>,
    /// Answers per gRPC status code, indexed by the code's number.
    pub codes: [u64; CODES],
    /// Requests the client did not send because too many were outstanding
    /// (open loop only).
    pub client_dropped: u64,
}

impl Default for RpcStats {
    fn default() -> Self {
        RpcStats {
            all: new_histogram(),
            ok: new_histogram(),
            codes: [0; CODES],
            client_dropped: 0,
        }
    }
}

impl RpcStats {
    /// Counts one answer.
    pub fn record(&mut self, code: Code, latency: Duration) {
        record_latency(&mut self.all, latency);
        if code == Code::Ok {
            record_latency(&mut self.ok, latency);
        }
        self.codes[code as usize] += 1;
    }

    /// Adds `other`'s answers to these.
    pub fn merge(&mut self, other: &RpcStats) {
        self.all.add(&other.all).expect("same histogram bounds");
        self.ok.add(&other.ok).expect("same histogram bounds");
        for (mine, theirs) in self.codes.iter_mut().zip(other.codes) {
            *mine += theirs;
        }
        self.client_dropped += other.client_dropped;
    }

    /// Answers of any status.
    pub fn answered(&self) -> u64 {
        self.codes.iter().sum()
    }

    /// Answers with status OK.
    pub fn ok_count(&self) -> u64 {
        self.codes[Code::Ok as usize]
    }

    /// Answers with another status.
    pub fn error_count(&self) -> u64 {
        self.answered() - self.ok_count()
    }

    /// `(code name, count)` of every status seen, OK first.
    pub fn code_counts(&self) -> Vec<(&'static str, u64)> {
        self.codes
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(code, &n)| (code_name(Code::from_i32(code as i32)), n))
            .collect()
    }

    /// The summary of these answers over a measured window of `seconds`:
    /// `ok`, `errors` (code name -> count), `rps` (answers per second),
    /// latency percentiles `p50_us`, `p90_us`, `p99_us`, `p999_us`,
    /// `max_us` and `mean_us` over every answer, the same over OK answers
    /// only under `ok_latency`, and `client_dropped`.
    pub fn summary(&self, seconds: f64) -> Value {
        let errors: BTreeMap<&str, u64> = self
            .code_counts()
            .into_iter()
            .filter(|&(name, _)| name != "OK")
            .collect();
        let rps = if seconds > 0.0 {
            self.answered() as f64 / seconds
        } else {
            0.0
        };
        let mut summary = percentiles(&self.all);
        summary.insert("ok".into(), json!(self.ok_count()));
        summary.insert("errors".into(), json!(errors));
        summary.insert("requests".into(), json!(self.answered()));
        summary.insert("rps".into(), json!((rps * 10.0).round() / 10.0));
        summary.insert("client_dropped".into(), json!(self.client_dropped));
        summary.insert("ok_latency".into(), Value::Object(percentiles(&self.ok)));
        Value::Object(summary)
    }
}

/// `p50_us` .. `max_us` and `mean_us` of a histogram (zeros when empty).
fn percentiles(histogram: &Histogram<u64>) -> serde_json::Map<String, Value> {
    let at = |q: f64| histogram.value_at_quantile(q);
    let mut map = serde_json::Map::new();
    map.insert("p50_us".into(), json!(at(0.50)));
    map.insert("p90_us".into(), json!(at(0.90)));
    map.insert("p99_us".into(), json!(at(0.99)));
    map.insert("p999_us".into(), json!(at(0.999)));
    map.insert("max_us".into(), json!(histogram.max()));
    map.insert("mean_us".into(), json!(histogram.mean().round()));
    map
}

/// Answers of every kind of a run.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    /// Per kind, indexed by [`RpcKind::index`].
    pub by_kind: [RpcStats; RpcKind::ALL.len()],
}

impl RunStats {
    /// Counts one answer of `kind`.
    pub fn record(&mut self, kind: RpcKind, code: Code, latency: Duration) {
        self.by_kind[kind.index()].record(code, latency);
    }

    /// Counts one request of `kind` the client dropped.
    pub fn drop_request(&mut self, kind: RpcKind) {
        self.by_kind[kind.index()].client_dropped += 1;
    }

    /// Every kind merged.
    pub fn total(&self) -> RpcStats {
        let mut total = RpcStats::default();
        for stats in &self.by_kind {
            total.merge(stats);
        }
        total
    }

    /// The kinds that were sent (answered or dropped), in report order.
    pub fn kinds_seen(&self) -> Vec<(RpcKind, &RpcStats)> {
        RpcKind::ALL
            .into_iter()
            .zip(&self.by_kind)
            .filter(|(_, s)| s.answered() + s.client_dropped > 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_has_the_promised_fields() {
        let mut stats = RunStats::default();
        for us in 1..=1000 {
            stats.record(RpcKind::Allocate, Code::Ok, Duration::from_micros(us));
        }
        stats.record(
            RpcKind::Allocate,
            Code::ResourceExhausted,
            Duration::from_micros(5),
        );
        stats.record(
            RpcKind::Score,
            Code::Unimplemented,
            Duration::from_micros(7),
        );
        stats.drop_request(RpcKind::Score);
        let total = stats.total();
        let summary = total.summary(2.0);
        for field in [
            "ok",
            "errors",
            "rps",
            "p50_us",
            "p90_us",
            "p99_us",
            "p999_us",
            "max_us",
            "mean_us",
            "requests",
            "client_dropped",
            "ok_latency",
        ] {
            assert!(summary.get(field).is_some(), "{field} missing: {summary}");
        }
        assert_eq!(summary["ok"], 1000);
        assert_eq!(summary["requests"], 1002);
        assert_eq!(summary["errors"]["RESOURCE_EXHAUSTED"], 1);
        assert_eq!(summary["errors"]["UNIMPLEMENTED"], 1);
        assert!(summary["errors"].get("OK").is_none());
        assert_eq!(summary["rps"], 501.0);
        assert_eq!(summary["client_dropped"], 1);
        assert_eq!(summary["max_us"], 1000);
        let p99 = summary["p99_us"].as_u64().unwrap();
        assert!((985..=995).contains(&p99), "{p99}");
        assert_eq!(summary["ok_latency"]["max_us"], 1000);
        let kinds: Vec<_> = stats.kinds_seen().iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, [RpcKind::Allocate, RpcKind::Score]);
    }

    #[test]
    fn empty_summary_is_zeros() {
        let summary = RpcStats::default().summary(0.0);
        assert_eq!(summary["p99_us"], 0);
        assert_eq!(summary["rps"], 0.0);
        assert_eq!(summary["errors"], json!({}));
    }
}
