//! Fitting and evaluating the ETA calibration on held-out shipments of the
//! synthetic world (`allot-world calibrate`).
//!
//! Held out: every shipment released on a `valid` or `test` day of the
//! world (the model is trained on `train` days only). Those shipments are
//! split by order into two disjoint halves: the **fit** half learns the
//! per-service window adjustment (pooled over the service level for a
//! service with few shipments) and the isotonic map, the **eval** half
//! measures them. The promise being evaluated is the one the promise RPC
//! makes: the latest delivery date (destination-local date of release +
//! q90), on time when delivered before the end of that date.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use allot_engine::calendar::{days_between, end_of_day, promised_date};
use allot_engine::network::Network;
use allot_engine::transit::{Lane, TransitError, TransitPredictor, TransitQuantiles};
use allot_models::scoring::EtaModel;
use allot_models::transit::{
    CDF_NAME, Calibration, EtaPredictor, PredictorOptions, WindowAdjust, quantile_cdf,
};
use chrono_tz::Tz;

use crate::world::{Split, World};

mod report;

pub use report::{render, write_section};

/// Start of the section `allot-world calibrate` writes into REPORT.md.
pub const REPORT_BEGIN: &str = "<!-- eta-calibration: begin (written by allot-world calibrate) -->";
/// End of that section.
pub const REPORT_END: &str = "<!-- eta-calibration: end -->";

/// Fit shipments below which a service's window shift is fitted on every
/// service of its level.
const MIN_WINDOW_ROWS: usize = 1_000;

/// Edges of the reliability bins of the promised-date probability (most
/// promises state 0.85 to 0.99, so the bins are finer there).
const PROMISE_BINS: [f64; 10] = [0.0, 0.5, 0.7, 0.8, 0.85, 0.9, 0.925, 0.95, 0.975, 1.0];

/// One held-out shipment as the engine would have seen it, with the truth.
#[derive(Debug, Clone, Copy)]
struct HeldOut {
    lane: Lane,
    order: u32,
    released: SystemTime,
    /// Destination time zone.
    tz: Tz,
    /// True transit, days.
    actual: f64,
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

/// Window coverage of one service on the eval half.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    /// Service code.
    pub service: String,
    /// Eval shipments.
    pub n: usize,
    /// Share of true transit in the model's raw [q10, q90].
    pub raw: f64,
    /// Share in the calibrated window.
    pub calibrated: f64,
    /// The adjustment fitted for it.
    pub adjust: (f64, f64),
}

/// What the fit measured on the eval half.
#[derive(Debug, Clone, PartialEq)]
pub struct FitReport {
    /// The ETA model version.
    pub model_version: String,
    /// World seed.
    pub seed: u64,
    /// Shipments in the fit half.
    pub fit_rows: usize,
    /// Shipments in the eval half.
    pub eval_rows: usize,
    /// Reliability of the promised-date probability, calibrated.
    pub promise: Vec<Bin>,
    /// Expected calibration error of that table.
    pub promise_ece: f64,
    /// The same, with the raw CDF and raw window (no calibration).
    pub promise_ece_raw: f64,
    /// Reliability over three dates per shipment (those of release + q10,
    /// q50, q90), ten equal bins: the map over its whole range.
    pub all_dates: Vec<Bin>,
    /// Expected calibration error of that table.
    pub all_dates_ece: f64,
    /// Window coverage per service, then `all`.
    pub coverage: Vec<Coverage>,
    /// Observed on-time share of the promised date on the eval half.
    pub promise_on_time: f64,
}

/// Deterministic half assignment of an order (splitmix64 parity).
fn in_fit_half(order: u32) -> bool {
    let mut z = u64::from(order).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) & 1 == 0
}

fn held_out(world: &World) -> Vec<HeldOut> {
    world
        .shipments
        .iter()
        .filter(|s| world.calendar.split(world.calendar.day_of(s.released)) != Split::Train)
        .map(|s| HeldOut {
            lane: Lane {
                node: s.node,
                service: s.service,
                region: s.region,
            },
            order: s.order,
            released: UNIX_EPOCH + Duration::from_secs(s.released.max(0) as u64),
            tz: world.network.region(s.region).time_zone,
            actual: (s.delivered - s.released) as f64 / 86_400.0,
        })
        .collect()
}

/// Days from release to the end of the destination-local date of release +
/// `days`.
fn days_to_end_of_date(h: &HeldOut, days: f64) -> f64 {
    let date = promised_date(h.tz, h.released, days);
    end_of_day(h.tz, date).map_or(days, |end| days_between(h.released, end))
}

/// Nearest-rank quantile of `v` (sorted in place).
fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

/// Reliability bins of (stated, outcome) pairs and their ECE.
fn reliability(pairs: &[(f64, f64)], edges: &[f64]) -> (Vec<Bin>, f64) {
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

/// Isotonic regression (pool adjacent violators) of outcomes on raw
/// probabilities: `pairs` are (raw, outcome 0 or 1). Returns knots
/// `[raw, calibrated]` with raw strictly increasing and calibrated
/// non-decreasing, adjacent blocks closer than `min_step` in raw merged
/// (merging keeps the map monotone). Deterministic.
pub fn isotonic_fit(pairs: &mut [(f64, f64)], min_step: f64) -> Vec<[f64; 2]> {
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    // Blocks: (sum x, sum y, weight).
    let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
    for &(x, y) in pairs.iter() {
        if !x.is_finite() || !y.is_finite() {
            continue;
        }
        blocks.push((x, y, 1.0));
        while blocks.len() >= 2 {
            let b = blocks[blocks.len() - 1];
            let a = blocks[blocks.len() - 2];
            if a.1 / a.2 >= b.1 / b.2 {
                let n = blocks.len();
                blocks[n - 2] = (a.0 + b.0, a.1 + b.1, a.2 + b.2);
                blocks.pop();
            } else {
                break;
            }
        }
    }
    let mut knots: Vec<(f64, f64, f64)> = Vec::new();
    for b in blocks {
        match knots.last_mut() {
            Some(k) if b.0 / b.2 - k.0 / k.2 < min_step => {
                k.0 += b.0;
                k.1 += b.1;
                k.2 += b.2;
            }
            _ => knots.push(b),
        }
    }
    let round = |v: f64| (v * 1e6).round() / 1e6;
    let mut out: Vec<[f64; 2]> = Vec::with_capacity(knots.len());
    for k in knots {
        let p = [
            round(k.0 / k.2).clamp(0.0, 1.0),
            round(k.1 / k.2).clamp(0.0, 1.0),
        ];
        match out.last() {
            Some(last) if p[0] <= last[0] => {}
            Some(last) => out.push([p[0], p[1].max(last[1])]),
            None => out.push(p),
        }
    }
    out
}

/// Fits the calibration of `model` on the world's held-out shipments and
/// measures it on the other half. Blocking (seconds).
pub fn fit(model: EtaModel, world: &World) -> Result<(Calibration, FitReport), TransitError> {
    let version = model.model().card().version.clone();
    let network: Arc<Network> = Arc::new(world.network.clone());
    let raw_predictor = EtaPredictor::new(
        model,
        network.clone(),
        Calibration::identity(&version),
        PredictorOptions {
            cache_entries: 2_000_000,
            cache_ttl: Duration::from_secs(86_400),
        },
    );
    let shipments = held_out(world);
    let mut raw: Vec<TransitQuantiles> = Vec::with_capacity(shipments.len());
    for s in &shipments {
        raw.push(raw_predictor.predict(&[s.lane], s.released)?[0]);
    }
    let code = |s: &HeldOut| network.service(s.lane.service).code.clone();
    let (fit_idx, eval_idx): (Vec<usize>, Vec<usize>) =
        (0..shipments.len()).partition(|&i| in_fit_half(shipments[i].order));

    // Window: split-conformal per service on the fit half; a service with
    // fewer than MIN_WINDOW_ROWS fit shipments uses the residuals of every
    // service of its level (its own quantiles are too noisy).
    let level_of = |s: &HeldOut| network.service(s.lane.service).level;
    let mut by_service: BTreeMap<String, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    let mut by_level: BTreeMap<allot_engine::network::ServiceLevel, (Vec<f64>, Vec<f64>)> =
        BTreeMap::new();
    let mut level_of_code = BTreeMap::new();
    for &i in &fit_idx {
        let (lo, hi) = (
            shipments[i].actual - raw[i].q10,
            shipments[i].actual - raw[i].q90,
        );
        let r = by_service.entry(code(&shipments[i])).or_default();
        r.0.push(lo);
        r.1.push(hi);
        let l = by_level.entry(level_of(&shipments[i])).or_default();
        l.0.push(lo);
        l.1.push(hi);
        level_of_code.insert(code(&shipments[i]), level_of(&shipments[i]));
    }
    let window: Vec<WindowAdjust> = by_service
        .into_iter()
        .map(|(service, (mut lo, mut hi))| {
            if lo.len() < MIN_WINDOW_ROWS
                && let Some((l, h)) = level_of_code.get(&service).and_then(|l| by_level.get(l))
            {
                lo = l.clone();
                hi = h.clone();
            }
            WindowAdjust {
                service,
                lower_days: round4(quantile(&mut lo, 0.10)),
                upper_days: round4(quantile(&mut hi, 0.90)),
            }
        })
        .collect();
    let mut calibration = Calibration {
        model_version: version.clone(),
        cdf: CDF_NAME.to_string(),
        window,
        map: Vec::new(),
        fitted_on: String::new(),
    };
    let adjusted: Vec<TransitQuantiles> = shipments
        .iter()
        .zip(&raw)
        .map(|(s, q)| calibration.adjust(&code(s), q))
        .collect();

    // Map: isotonic over three dates per fit shipment.
    let dates = |q: &TransitQuantiles| [q.q10, q.q50, q.q90];
    let mut pairs = Vec::with_capacity(fit_idx.len() * 3);
    for &i in &fit_idx {
        let (s, q) = (&shipments[i], &adjusted[i]);
        for d in dates(q) {
            let by = days_to_end_of_date(s, d);
            pairs.push((quantile_cdf(q, by), f64::from(u8::from(s.actual < by))));
        }
    }
    calibration.map = isotonic_fit(&mut pairs, 0.002);
    calibration.fitted_on = format!(
        "world seed {}: shipments released on valid and test days, orders hashed into halves; fit on {} shipments, evaluated on {}",
        world.config.seed,
        fit_idx.len(),
        eval_idx.len()
    );

    // Evaluation on the other half.
    let mut promise = Vec::with_capacity(eval_idx.len());
    let mut promise_raw = Vec::with_capacity(eval_idx.len());
    let mut all = Vec::with_capacity(eval_idx.len() * 3);
    for &i in &eval_idx {
        let (s, q, r) = (&shipments[i], &adjusted[i], &raw[i]);
        let by = days_to_end_of_date(s, q.q90);
        promise.push((
            calibration.p_within(q, by),
            f64::from(u8::from(s.actual < by)),
        ));
        let by_raw = days_to_end_of_date(s, r.q90);
        promise_raw.push((
            quantile_cdf(r, by_raw),
            f64::from(u8::from(s.actual < by_raw)),
        ));
        for d in dates(q) {
            let by = days_to_end_of_date(s, d);
            all.push((
                calibration.p_within(q, by),
                f64::from(u8::from(s.actual < by)),
            ));
        }
    }
    let (promise_bins, promise_ece) = reliability(&promise, &PROMISE_BINS);
    let (_, promise_ece_raw) = reliability(&promise_raw, &PROMISE_BINS);
    let tenths: Vec<f64> = (0..=10).map(|i| f64::from(i) / 10.0).collect();
    let (all_dates, all_dates_ece) = reliability(&all, &tenths);

    let mut cover: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for &i in &eval_idx {
        let (s, q, r) = (&shipments[i], &adjusted[i], &raw[i]);
        let inside = |w: &TransitQuantiles| usize::from(s.actual >= w.q10 && s.actual <= w.q90);
        for key in [code(s), "all".to_string()] {
            let c = cover.entry(key).or_default();
            c.0 += 1;
            c.1 += inside(r);
            c.2 += inside(q);
        }
    }
    let mut coverage: Vec<Coverage> = cover
        .into_iter()
        .map(|(service, (n, raw_in, cal_in))| Coverage {
            adjust: calibration
                .window_for(&service)
                .map_or((0.0, 0.0), |w| (w.lower_days, w.upper_days)),
            service,
            n,
            raw: raw_in as f64 / n.max(1) as f64,
            calibrated: cal_in as f64 / n.max(1) as f64,
        })
        .collect();
    coverage.sort_by_key(|c| c.service == "all");
    let promise_on_time = promise.iter().map(|p| p.1).sum::<f64>() / promise.len().max(1) as f64;
    let report = FitReport {
        model_version: version,
        seed: world.config.seed,
        fit_rows: fit_idx.len(),
        eval_rows: eval_idx.len(),
        promise: promise_bins,
        promise_ece,
        promise_ece_raw,
        all_dates,
        all_dates_ece,
        coverage,
        promise_on_time,
    };
    Ok((calibration, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isotonic_map_is_monotone_and_in_range() {
        // Outcomes that are truly 0.8 * raw + noise in the order.
        let mut pairs: Vec<(f64, f64)> = (0..5_000)
            .map(|i| {
                let x = f64::from(i) / 5_000.0;
                let y = if (i * 7_919) % 100 < (80.0 * x) as i32 {
                    1.0
                } else {
                    0.0
                };
                (x, y)
            })
            .collect();
        let map = isotonic_fit(&mut pairs, 0.01);
        assert!(map.len() > 5);
        let cal = Calibration {
            map,
            ..Calibration::identity("v")
        };
        cal.check().unwrap();
        let mut prev = 0.0;
        for i in 0..=1_000 {
            let p = cal.apply(f64::from(i) / 1_000.0);
            assert!((0.0..=1.0).contains(&p));
            assert!(p >= prev, "{p} < {prev}");
            prev = p;
        }
        assert!((cal.apply(0.5) - 0.4).abs() < 0.08, "{}", cal.apply(0.5));
        assert_eq!(cal.apply(f64::NAN), cal.apply(0.0));
    }

    #[test]
    fn halves_are_disjoint_and_balanced() {
        let fit = (0..10_000).filter(|&o| in_fit_half(o)).count();
        assert!((4_700..5_300).contains(&fit), "{fit}");
    }

    #[test]
    fn reliability_bins_and_ece() {
        let pairs = [(0.95, 1.0), (0.95, 0.0), (0.2, 0.0), (1.0, 1.0)];
        let (bins, ece) = reliability(&pairs, &PROMISE_BINS);
        assert_eq!(bins.iter().map(|b| b.n).sum::<usize>(), 4);
        assert_eq!(bins.last().unwrap().n, 1, "1.0 falls in the last bin");
        // |0.2 - 0| * 1/4 + |0.95 - 0.5| * 2/4 + |1 - 1| * 1/4
        assert!((ece - (0.05 + 0.225)).abs() < 1e-9, "{ece}");
    }

    #[test]
    fn the_section_is_replaced_not_duplicated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("REPORT.md");
        std::fs::write(&path, "# Report\n\ntext\n").unwrap();
        let a = format!("{REPORT_BEGIN}\nfirst\n{REPORT_END}\n");
        let b = format!("{REPORT_BEGIN}\nsecond\n{REPORT_END}\n");
        write_section(&path, &a).unwrap();
        write_section(&path, &b).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# Report\n\ntext\n\n"));
        assert_eq!(text.matches(REPORT_BEGIN).count(), 1);
        assert!(text.contains("second") && !text.contains("first"));
    }
}
