//! Fitting the ETA calibration on held-out shipments of the synthetic world
//! (`allot-world calibrate`), and measuring the shipped one on worlds of
//! other seeds (`allot-world evaluate`, [`Evaluator`]).
//!
//! Held out: every shipment released on a `valid` or `test` day of the
//! world (the model is trained on `train` days only). Those shipments are
//! split by order into two disjoint halves (per world; the halves of
//! several worlds are pooled): the **fit** half learns the
//! per-service window adjustment (pooled over the service level for a
//! service with few shipments) and the isotonic map, the **eval** half
//! measures them. The promise being evaluated is the one the promise RPC
//! makes: the latest delivery date (destination-local date of release +
//! q90), on time when delivered before the end of that date.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use allot_engine::network::ServiceLevel;
use allot_engine::transit::{TransitError, TransitQuantiles};
use allot_models::scoring::EtaModel;
use allot_models::transit::{
    CDF_NAME, Calibration, EtaPredictor, PredictorOptions, WindowAdjust, quantile_cdf,
};

use crate::world::World;

mod evaluate;
mod measure;
mod report;

pub use evaluate::{EVALUATION_SEEDS, EvalRow, EvaluateError, Evaluation, Evaluator};
pub use measure::{Bin, Coverage, Measures, PROMISE_BINS};
pub use report::{render, write_section};

use measure::{Scored, days_to_end_of_date, held_out, measure, outcome, score};

/// Start of the section `allot-world calibrate` writes into REPORT.md.
pub const REPORT_BEGIN: &str = "<!-- eta-calibration: begin (written by allot-world calibrate) -->";
/// End of that section.
pub const REPORT_END: &str = "<!-- eta-calibration: end -->";

/// Fit shipments below which a service's window shift is fitted on every
/// service of its level.
const MIN_WINDOW_ROWS: usize = 1_000;

/// What the fit measured on the eval half.
#[derive(Debug, Clone, PartialEq)]
pub struct FitReport {
    /// The ETA model version.
    pub model_version: String,
    /// World seeds fitted on, in order.
    pub seeds: Vec<u64>,
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

/// Cache options of the predictors scoring held-out shipments (every lane
/// and bucket of a world fits).
pub(crate) fn scoring_options() -> PredictorOptions {
    PredictorOptions {
        cache_entries: 2_000_000,
        cache_ttl: Duration::from_secs(86_400),
    }
}

/// The calibration fitted on the held-out shipments of `worlds` (pooled;
/// each world's shipments split into halves by order) and what it measured
/// on the eval halves. Every world runs over the demo network, so one
/// predictor (over the first world's network) scores them all. Blocking
/// (seconds per world); each world can be dropped once scored.
pub fn fit<W: Borrow<World>>(
    model: EtaModel,
    worlds: impl IntoIterator<Item = W>,
) -> Result<(Calibration, FitReport), TransitError> {
    let version = model.model().card().version.clone();
    let mut model = Some(model);
    let mut raw_predictor: Option<EtaPredictor> = None;
    let mut seeds = Vec::new();
    let mut rows: Vec<Scored> = Vec::new();
    for world in worlds {
        let world = world.borrow();
        let predictor = match (&raw_predictor, model.take()) {
            (Some(p), _) => p,
            (None, Some(m)) => raw_predictor.insert(EtaPredictor::new(
                m,
                Arc::new(world.network.clone()),
                Calibration::identity(&version),
                scoring_options(),
            )),
            (None, None) => unreachable!("the model is taken with the first world"),
        };
        if predictor.network().node_count() != world.network.node_count()
            || predictor.network().services().len() != world.network.services().len()
        {
            return Err(TransitError(format!(
                "world seed {} does not run over the network of world seed {}",
                world.config.seed, seeds[0]
            )));
        }
        seeds.push(world.config.seed);
        rows.extend(score(&held_out(world), predictor, None)?);
    }
    if seeds.is_empty() {
        return Err(TransitError("no world to fit the calibration on".into()));
    }
    Ok(fit_rows(version, seeds, rows))
}

/// [`fit`] on scored rows.
fn fit_rows(version: String, seeds: Vec<u64>, mut rows: Vec<Scored>) -> (Calibration, FitReport) {
    let (fit_idx, eval_idx): (Vec<usize>, Vec<usize>) =
        (0..rows.len()).partition(|&i| in_fit_half(rows[i].held.order));

    // Window: split-conformal per service on the fit half; a service with
    // fewer than MIN_WINDOW_ROWS fit shipments uses the residuals of every
    // service of its level (its own quantiles are too noisy).
    let mut by_service: BTreeMap<String, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    let mut by_level: BTreeMap<ServiceLevel, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    let mut level_of_code = BTreeMap::new();
    for &i in &fit_idx {
        let s = &rows[i];
        let (lo, hi) = (s.held.actual - s.raw.q10, s.held.actual - s.raw.q90);
        let r = by_service.entry(s.service.clone()).or_default();
        r.0.push(lo);
        r.1.push(hi);
        let l = by_level.entry(s.level).or_default();
        l.0.push(lo);
        l.1.push(hi);
        level_of_code.insert(s.service.clone(), s.level);
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
    for s in &mut rows {
        s.adjusted = calibration.adjust(&s.service, &s.raw);
    }

    // Map: isotonic over three dates per fit shipment.
    let dates = |q: &TransitQuantiles| [q.q10, q.q50, q.q90];
    let mut pairs = Vec::with_capacity(fit_idx.len() * 3);
    for &i in &fit_idx {
        let s = &rows[i];
        for d in dates(&s.adjusted) {
            let by = days_to_end_of_date(&s.held, d);
            pairs.push((quantile_cdf(&s.adjusted, by), outcome(&s.held, by)));
        }
    }
    calibration.map = isotonic_fit(&mut pairs, 0.002);
    let shown: Vec<String> = seeds.iter().map(u64::to_string).collect();
    calibration.fitted_on = format!(
        "world seed{} {}: shipments released on valid and test days, orders hashed into halves; fit on {} shipments, evaluated on {}",
        if seeds.len() == 1 { "" } else { "s" },
        shown.join(", "),
        fit_idx.len(),
        eval_idx.len()
    );

    // Evaluation on the other half.
    let eval: Vec<&Scored> = eval_idx.iter().map(|&i| &rows[i]).collect();
    let (measured, promise) = measure(&eval, &calibration);
    let mut all = Vec::with_capacity(eval.len() * 3);
    for s in &eval {
        for d in dates(&s.adjusted) {
            let by = days_to_end_of_date(&s.held, d);
            all.push((calibration.p_within(&s.adjusted, by), outcome(&s.held, by)));
        }
    }
    let tenths: Vec<f64> = (0..=10).map(|i| f64::from(i) / 10.0).collect();
    let (all_dates, all_dates_ece) = measure::reliability(&all, &tenths);
    let report = FitReport {
        model_version: version,
        seeds,
        fit_rows: fit_idx.len(),
        eval_rows: eval_idx.len(),
        promise,
        promise_ece: measured.ece,
        promise_ece_raw: measured.ece_raw,
        all_dates,
        all_dates_ece,
        coverage: measure::coverage(eval.iter().copied(), &calibration),
        promise_on_time: measured.on_time,
    };
    (calibration, report)
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
