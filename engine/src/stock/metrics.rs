//! The stock metrics, recorded once per batch or load (never per row).

use std::time::UNIX_EPOCH;

use super::delta::DeltaOutcome;
use super::level::NodeFreshness;
use super::quarantine::QuarantineReason;
use crate::network::Network;

/// Counter of delta rows by `outcome` (`applied`, `duplicate`, `quarantined`).
pub const DELTAS_TOTAL: &str = "allot_stock_deltas_total";
/// Counter of quarantined delta rows by `reason`.
pub const QUARANTINED_TOTAL: &str = "allot_stock_quarantined_total";
/// Gauge: snapshot version by `node`.
pub const SNAPSHOT_VERSION: &str = "allot_stock_snapshot_version";
/// Gauge: unix time (seconds) the snapshot last changed, by `node`.
pub const SNAPSHOT_UPDATED_SECONDS: &str = "allot_stock_snapshot_updated_seconds";
/// Counter of sequence gaps seen in delta streams.
pub const SEQUENCE_GAPS_TOTAL: &str = "allot_stock_sequence_gaps_total";

/// Sets the version and updated gauges of the given nodes.
pub(crate) fn snapshot_changed(network: &Network, nodes: &[NodeFreshness]) {
    for f in nodes {
        let code = network.node(f.node).code.clone();
        metrics::gauge!(SNAPSHOT_VERSION, "node" => code.clone()).set(f.version as f64);
        let secs = f
            .updated_at
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        metrics::gauge!(SNAPSHOT_UPDATED_SECONDS, "node" => code).set(secs);
    }
}

/// Records the counters of one delta batch and the gauges of touched nodes.
pub(crate) fn delta_batch(network: &Network, outcome: &DeltaOutcome) {
    let quarantined = outcome.quarantined.len() as u64;
    for (label, n) in [
        ("applied", outcome.applied),
        ("duplicate", outcome.duplicates),
        ("quarantined", quarantined),
    ] {
        if n > 0 {
            metrics::counter!(DELTAS_TOTAL, "outcome" => label).increment(n);
        }
    }
    if quarantined > 0 {
        let mut per_reason = [0u64; QuarantineReason::ALL.len()];
        for row in &outcome.quarantined {
            per_reason[row.reason as usize] += 1;
        }
        for (reason, n) in QuarantineReason::ALL.iter().zip(per_reason) {
            if n > 0 {
                metrics::counter!(QUARANTINED_TOTAL, "reason" => reason.as_str()).increment(n);
            }
        }
    }
    if !outcome.gaps.is_empty() {
        metrics::counter!(SEQUENCE_GAPS_TOTAL).increment(outcome.gaps.len() as u64);
    }
    snapshot_changed(network, &outcome.touched);
}
