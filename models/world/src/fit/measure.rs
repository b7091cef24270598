//! Measuring a calibration on scored held-out shipments: the reliability
//! of the promised-date probability and its expected calibration error
//! (calibrated and raw), the on-time share of the promised date, and the
//! window coverage. `allot-world calibrate` measures its fit with these on
//! the eval half, `allot-world evaluate` measures the shipped calibration
//! on other worlds with the same code.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use allot_engine::calendar::{days_between, end_of_day, promised_date};
use allot_engine::network::ServiceLevel;
use allot_engine::transit::{Lane, TransitError, TransitPredictor, TransitQuantiles};
use allot_models::transit::{Calibration, EtaPredictor, quantile_cdf};
use chrono_tz::Tz;
use serde::Serialize;

use crate::world::{Split, World};

/// Edges of the reliability bins of the promised-date probability (most
/// promises state 0.85 to 0.99, so the bins are finer there).
pub const PROMISE_BINS: [f64; 10] = [0.0, 0.5, 0.7, 0.8, 0.85, 0.9, 0.925, 0.95, 0.975, 1.0];

/// One held-out shipment as the engine would have seen it, with the truth.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeldOut {
    pub(crate) lane: Lane,
    pub(crate) order: u32,
    pub(crate) released: SystemTime,
    /// Day of the world's calendar it was released on.
    pub(crate) day: i64,
    /// Destination time zone.
    pub(crate) tz: Tz,
    /// True transit, days.
    pub(crate) actual: f64,
}

/// A held-out shipment with the model's quantiles: raw, and with the
/// window adjustment of its service.
#[derive(Debug, Clone)]
pub(crate) struct Scored {
    pub(crate) held: HeldOut,
    /// Carrier service code.
    pub(crate) service: String,
    /// Its service level.
    pub(crate) level: ServiceLevel,
    /// The model's sorted quantiles.
    pub(crate) raw: TransitQuantiles,
    /// The quantiles the engine uses (window adjusted).
    pub(crate) adjusted: TransitQuantiles,
}

/// Every shipment of `world` released on a `valid` or `test` day (the ETA
/// model trains on `train` days only), in the world's order.
pub(crate) fn held_out(world: &World) -> Vec<HeldOut> {
    world
        .shipments
        .iter()
        .filter_map(|s| {
            let day = world.calendar.day_of(s.released);
            (world.calendar.split(day) != Split::Train).then(|| HeldOut {
                lane: Lane {
                    node: s.node,
                    service: s.service,
                    region: s.region,
                },
                order: s.order,
                released: UNIX_EPOCH + Duration::from_secs(s.released.max(0) as u64),
                day,
                tz: world.network.region(s.region).time_zone,
                actual: (s.delivered - s.released) as f64 / 86_400.0,
            })
        })
        .collect()
}

/// Scores `shipments` with `raw` (a predictor with the identity
/// calibration); the adjusted quantiles come from `served` when given (the
/// predictor as the server loads it), else they are the raw ones.
pub(crate) fn score(
    shipments: &[HeldOut],
    raw: &EtaPredictor,
    served: Option<&EtaPredictor>,
) -> Result<Vec<Scored>, TransitError> {
    let network = raw.network();
    shipments
        .iter()
        .map(|h| {
            let q = raw.predict(&[h.lane], h.released)?[0];
            let adjusted = match served {
                Some(p) => p.predict(&[h.lane], h.released)?[0],
                None => q,
            };
            let service = network.service(h.lane.service);
            Ok(Scored {
                held: *h,
                service: service.code.clone(),
                level: service.level,
                raw: q,
                adjusted,
            })
        })
        .collect()
}

/// Days from release to the end of the destination-local date of release +
/// `days`.
pub(crate) fn days_to_end_of_date(h: &HeldOut, days: f64) -> f64 {
    let date = promised_date(h.tz, h.released, days);
    end_of_day(h.tz, date).map_or(days, |end| days_between(h.released, end))
}

/// 1.0 when the shipment arrived before `by` days after release, else 0.0.
pub(crate) fn outcome(h: &HeldOut, by: f64) -> f64 {
    f64::from(u8::from(h.actual < by))
}

/// The promise `GetDeliveryPromise` makes for `s` with `calibration`
/// (latest date = local date of release + calibrated q90) as (stated
/// probability, kept).
pub(crate) fn promise(s: &Scored, calibration: &Calibration) -> (f64, f64) {
    let by = days_to_end_of_date(&s.held, s.adjusted.q90);
    (calibration.p_within(&s.adjusted, by), outcome(&s.held, by))
}

/// The same promise without calibration: the raw q90's date and the raw
/// CDF.
pub(crate) fn promise_raw(s: &Scored) -> (f64, f64) {
    let by = days_to_end_of_date(&s.held, s.raw.q90);
    (quantile_cdf(&s.raw, by), outcome(&s.held, by))
}

/// True when the true transit lies in the window [q10, q90] of `q`.
pub(crate) fn inside(s: &Scored, q: &TransitQuantiles) -> bool {
    s.held.actual >= q.q10 && s.held.actual <= q.q90
}

/// One reliability bin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bin {
    /// Lower edge (inclusive).
    pub lo: f64,
    /// Upper edge (exclusive; the last bin includes 1.0).
    pub hi: f64,
    /// Shipments in the bin.
    pub n: usize,
    /// Mean stated probability.
    pub stated: f64,
    /// Observed on-time share.
    pub observed: f64,
}

/// Reliability bins of (stated, outcome) pairs and their ECE.
pub(crate) fn reliability(pairs: &[(f64, f64)], edges: &[f64]) -> (Vec<Bin>, f64) {
    let mut bins: Vec<Bin> = edges
        .windows(2)
        .map(|w| Bin {
            lo: w[0],
            hi: w[1],
            n: 0,
            stated: 0.0,
            observed: 0.0,
        })
        .collect();
    let last = bins.len() - 1;
    for &(p, y) in pairs {
        let i = bins
            .iter()
            .position(|b| p >= b.lo && p < b.hi)
            .unwrap_or(last);
        bins[i].n += 1;
        bins[i].stated += p;
        bins[i].observed += y;
    }
    let total = pairs.len().max(1) as f64;
    let mut ece = 0.0;
    for b in &mut bins {
        if b.n > 0 {
            b.stated /= b.n as f64;
            b.observed /= b.n as f64;
            ece += b.n as f64 / total * (b.stated - b.observed).abs();
        }
    }
    (bins, ece)
}

/// Window coverage of one service (or `all`).
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    /// Service code, or `all`.
    pub service: String,
    /// Shipments.
    pub n: usize,
    /// Share of true transit in the model's raw [q10, q90].
    pub raw: f64,
    /// Share in the calibrated window.
    pub calibrated: f64,
    /// The adjustment of the service's window (zero for `all`).
    pub adjust: (f64, f64),
}

/// Window coverage of `rows` per service (sorted by code), then `all`.
pub(crate) fn coverage<'a>(
    rows: impl IntoIterator<Item = &'a Scored>,
    calibration: &Calibration,
) -> Vec<Coverage> {
    let mut cover: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut all = (0, 0, 0);
    for s in rows {
        let (r, c) = (
            usize::from(inside(s, &s.raw)),
            usize::from(inside(s, &s.adjusted)),
        );
        for counts in [cover.entry(s.service.clone()).or_default(), &mut all] {
            counts.0 += 1;
            counts.1 += r;
            counts.2 += c;
        }
    }
    let share = |k: usize, n: usize| k as f64 / n.max(1) as f64;
    cover
        .into_iter()
        .map(|(service, (n, r, c))| Coverage {
            adjust: calibration
                .window_for(&service)
                .map_or((0.0, 0.0), |w| (w.lower_days, w.upper_days)),
            service,
            n,
            raw: share(r, n),
            calibrated: share(c, n),
        })
        .chain(std::iter::once(Coverage {
            service: "all".to_string(),
            n: all.0,
            raw: share(all.1, all.0),
            calibrated: share(all.2, all.0),
            adjust: (0.0, 0.0),
        }))
        .collect()
}

/// What a set of shipments says about a calibration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measures {
    /// Shipments measured.
    pub rows: usize,
    /// Expected calibration error of the promised-date probability
    /// ([`PROMISE_BINS`]), calibrated.
    pub ece: f64,
    /// The same with the raw CDF and raw window (no calibration).
    pub ece_raw: f64,
    /// Observed on-time share of the (calibrated) promised date.
    pub on_time: f64,
    /// Share of true transit in the calibrated window, all services.
    pub coverage: f64,
    /// Share in the model's raw [q10, q90], all services.
    pub coverage_raw: f64,
}

/// Measures `calibration` on `rows` (whose `adjusted` quantiles carry its
/// window); also returns the promised-date reliability bins.
pub(crate) fn measure(rows: &[&Scored], calibration: &Calibration) -> (Measures, Vec<Bin>) {
    let promised: Vec<(f64, f64)> = rows.iter().map(|s| promise(s, calibration)).collect();
    let promised_raw: Vec<(f64, f64)> = rows.iter().map(|s| promise_raw(s)).collect();
    let (bins, ece) = reliability(&promised, &PROMISE_BINS);
    let (_, ece_raw) = reliability(&promised_raw, &PROMISE_BINS);
    let all = coverage(rows.iter().copied(), calibration)
        .pop()
        .expect("coverage ends with all");
    let measures = Measures {
        rows: rows.len(),
        ece,
        ece_raw,
        on_time: promised.iter().map(|p| p.1).sum::<f64>() / rows.len().max(1) as f64,
        coverage: all.calibrated,
        coverage_raw: all.raw,
    };
    (measures, bins)
}

/// Splits release days into `n` windows of consecutive days (as equal in
/// days as they divide; at least one): returns, for each of `days`, the
/// index of its window. Earlier days never get a later window.
pub(crate) fn windows(days: &[i64], n: usize) -> Vec<usize> {
    let mut distinct = days.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let n = n.max(1);
    days.iter()
        .map(|d| {
            let i = distinct.partition_point(|x| x < d);
            i * n / distinct.len()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reliability_bins_and_ece() {
        let pairs = [(0.95, 1.0), (0.95, 0.0), (0.2, 0.0), (1.0, 1.0)];
        let (bins, ece) = reliability(&pairs, &PROMISE_BINS);
        assert_eq!(bins.iter().map(|b| b.n).sum::<usize>(), 4);
        assert_eq!(bins.last().unwrap().n, 1, "1.0 falls in the last bin");
        // |0.2 - 0| * 1/4 + |0.95 - 0.5| * 2/4 + |1 - 1| * 1/4
        assert!((ece - (0.05 + 0.225)).abs() < 1e-9, "{ece}");
    }

    /// A shipment released at noon UTC on day `day` of 2026-12, taking
    /// `actual` days, with window [q10, q90] raw and `shift` wider.
    fn row(service: &str, actual: f64, q: [f64; 3], shift: f64) -> Scored {
        let raw = TransitQuantiles::sorted(q);
        Scored {
            held: HeldOut {
                lane: Lane {
                    node: allot_engine::network::NodeId(0),
                    service: allot_engine::network::ServiceId(0),
                    region: allot_engine::network::RegionId(0),
                },
                order: 0,
                released: UNIX_EPOCH + Duration::from_secs(1_796_212_800),
                day: 0,
                tz: chrono_tz::UTC,
                actual,
            },
            service: service.to_string(),
            level: ServiceLevel::Ground,
            raw,
            adjusted: TransitQuantiles::sorted([q[0] - shift, q[1], q[2] + shift]),
        }
    }

    #[test]
    fn coverage_counts_per_service_and_all() {
        let rows = [
            // Inside both windows.
            row("A", 2.0, [1.0, 2.0, 3.0], 0.5),
            // Outside the raw window, inside the widened one.
            row("A", 3.2, [1.0, 2.0, 3.0], 0.5),
            // Outside both.
            row("B", 9.0, [1.0, 2.0, 3.0], 0.5),
        ];
        let cal = Calibration::identity("v");
        let c = coverage(rows.iter(), &cal);
        let names: Vec<&str> = c.iter().map(|c| c.service.as_str()).collect();
        assert_eq!(names, ["A", "B", "all"]);
        assert_eq!((c[0].n, c[0].raw, c[0].calibrated), (2, 0.5, 1.0));
        assert_eq!((c[1].n, c[1].raw, c[1].calibrated), (1, 0.0, 0.0));
        assert_eq!(c[2].n, 3);
        assert!((c[2].raw - 1.0 / 3.0).abs() < 1e-12);
        assert!((c[2].calibrated - 2.0 / 3.0).abs() < 1e-12);

        let refs: Vec<&Scored> = rows.iter().collect();
        let (m, bins) = measure(&refs, &cal);
        assert_eq!(m.rows, 3);
        assert_eq!((m.coverage, m.coverage_raw), (c[2].calibrated, c[2].raw));
        assert_eq!(bins.iter().map(|b| b.n).sum::<usize>(), 3);
        // The promised date is the end of the date of release + q90: the
        // first two rows arrive by it, the third does not.
        let kept: Vec<f64> = rows.iter().map(|s| promise(s, &cal).1).collect();
        assert_eq!(kept, [1.0, 1.0, 0.0]);
        assert!((m.on_time - 2.0 / 3.0).abs() < 1e-12);
        // With the identity calibration and no widening, calibrated and
        // raw agree.
        let unwidened: Vec<Scored> = rows
            .iter()
            .map(|s| Scored {
                adjusted: s.raw,
                ..s.clone()
            })
            .collect();
        let refs: Vec<&Scored> = unwidened.iter().collect();
        let (m, _) = measure(&refs, &cal);
        assert_eq!(m.ece, m.ece_raw);
        assert_eq!(m.coverage, m.coverage_raw);
    }

    #[test]
    fn windows_partition_the_days_in_order() {
        // Days out of order and repeated, as shipments come.
        let days: Vec<i64> = (0..1_000).map(|i| 84 + (i * 37) % 38).collect();
        for n in 1..=5 {
            let w = windows(&days, n);
            assert_eq!(w.len(), days.len());
            let used: std::collections::BTreeSet<usize> = w.iter().copied().collect();
            assert_eq!(used, (0..n).collect(), "{n} windows, each non-empty");
            for (a, wa) in days.iter().zip(&w) {
                for (b, wb) in days.iter().zip(&w) {
                    if a < b {
                        assert!(wa <= wb, "day {a} in window {wa}, day {b} in {wb}");
                    }
                    if a == b {
                        assert_eq!(wa, wb, "one day, one window");
                    }
                }
            }
            // As equal in days as they divide.
            let sizes: Vec<usize> = (0..n)
                .map(|k| {
                    let mut d: Vec<i64> = days
                        .iter()
                        .zip(&w)
                        .filter(|(_, wk)| **wk == k)
                        .map(|(d, _)| *d)
                        .collect();
                    d.sort_unstable();
                    d.dedup();
                    d.len()
                })
                .collect();
            let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(hi - lo <= 1, "{sizes:?}");
        }
        assert!(windows(&[], 3).is_empty());
        assert_eq!(windows(&[5, 5], 0), vec![0, 0], "zero windows means one");
    }
}
