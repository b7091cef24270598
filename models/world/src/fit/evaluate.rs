//! `allot-world evaluate`: the shipped ETA model and calibration, loaded
//! as the server loads them, measured on worlds of other seeds (nothing of
//! such a world was seen by the model or the fit), over the whole world
//! and over consecutive windows of release dates.

use std::path::Path;
use std::sync::Arc;

use allot_engine::network::Network;
use allot_engine::transit::TransitError;
use allot_models::scoring::EtaModel;
use allot_models::transit::{Calibration, ETA_CARD, ETA_ONNX, EtaPredictor, PredictorLoadError};
use serde::Serialize;

use super::measure::{HeldOut, Measures, Scored, held_out, measure, score, windows};
use super::scoring_options;
use crate::world::World;

/// The worlds `allot-world evaluate` measures by default. The calibration
/// must never be fitted on them (`allot-world calibrate` refuses).
pub const EVALUATION_SEEDS: [u64; 5] = [11, 23, 31, 47, 59];

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    /// The model or its calibration could not be loaded.
    #[error(transparent)]
    Load(#[from] PredictorLoadError),
    /// The models directory has no calibration file: nothing to evaluate.
    #[error("{0} has no eta.calibration.json: run `allot-world calibrate` first")]
    NoCalibration(String),
    /// A world does not run over the network the predictors were built on.
    #[error("world seed {0} does not run over the evaluator's network")]
    Network(u64),
    /// The model failed on a shipment.
    #[error("prediction failed: {0}")]
    Predict(#[from] TransitError),
}

/// One line of the evaluation: a world, or one window of its release
/// dates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalRow {
    /// World seed.
    pub seed: u64,
    /// Window index (from 0, earliest dates first); `None` for the whole
    /// world.
    pub window: Option<usize>,
    /// First release date measured.
    pub from: String,
    /// Last release date measured.
    pub to: String,
    /// What the shipments released in it say.
    #[serde(flatten)]
    pub measures: Measures,
}

/// The whole evaluation, as `--json` writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// The ETA model version evaluated.
    pub model_version: String,
    /// What the evaluated calibration says it was fitted on.
    pub fitted_on: String,
    /// Release-date windows per world.
    pub windows: usize,
    /// Per world: its windows, then the whole world.
    pub rows: Vec<EvalRow>,
}

/// The shipped model twice: as the server loads it (with its calibration)
/// and with the identity calibration (the raw quantiles).
pub struct Evaluator {
    served: EtaPredictor,
    raw: EtaPredictor,
}

impl Evaluator {
    /// Loads `eta.onnx`, `cards/eta.json` and `eta.calibration.json` from
    /// `models` over `network` as the server does
    /// ([`EtaPredictor::load`]), and the raw model beside it. Needs the
    /// ONNX Runtime initialised.
    pub fn load(models: &Path, network: Arc<Network>) -> Result<Evaluator, EvaluateError> {
        let served = EtaPredictor::load(models, network.clone(), scoring_options())?;
        if served.calibration().is_identity() {
            return Err(EvaluateError::NoCalibration(models.display().to_string()));
        }
        let model = EtaModel::load(&models.join(ETA_ONNX), &models.join(ETA_CARD))
            .map_err(PredictorLoadError::from)?;
        let version = model.model().card().version.clone();
        let raw = EtaPredictor::new(
            model,
            network,
            Calibration::identity(&version),
            scoring_options(),
        );
        Ok(Evaluator { served, raw })
    }

    /// The calibration evaluated.
    pub fn calibration(&self) -> &Calibration {
        self.served.calibration()
    }

    /// The held-out shipments of `world` that `keep` accepts, scored by
    /// both predictors.
    fn scored(
        &self,
        world: &World,
        keep: impl Fn(&HeldOut) -> bool,
    ) -> Result<Vec<Scored>, EvaluateError> {
        let network = self.served.network();
        if network.node_count() != world.network.node_count()
            || network.services().len() != world.network.services().len()
            || network.regions().len() != world.network.regions().len()
        {
            return Err(EvaluateError::Network(world.config.seed));
        }
        let shipments: Vec<HeldOut> = held_out(world).into_iter().filter(keep).collect();
        Ok(score(&shipments, &self.raw, Some(&self.served))?)
    }

    /// Measures the calibration on every shipment of `world` released on
    /// a `valid` or `test` day: one row per window of consecutive release
    /// dates (`windows` of them, as equal in days as they divide), then
    /// one for the whole world. Blocking (seconds).
    pub fn world(&self, world: &World, windows: usize) -> Result<Vec<EvalRow>, EvaluateError> {
        let rows = self.scored(world, |_| true)?;
        Ok(self.rows(world, &rows, windows))
    }

    fn rows(&self, world: &World, rows: &[Scored], n: usize) -> Vec<EvalRow> {
        let days: Vec<i64> = rows.iter().map(|s| s.held.day).collect();
        let assigned = windows(&days, n);
        let date = |d: i64| world.calendar.date(d.max(0) as u32).to_string();
        let line = |window: Option<usize>| {
            let members: Vec<&Scored> = rows
                .iter()
                .zip(&assigned)
                .filter(|(_, w)| window.is_none_or(|k| **w == k))
                .map(|(s, _)| s)
                .collect();
            let first = members.iter().map(|s| s.held.day).min().unwrap_or(0);
            let last = members.iter().map(|s| s.held.day).max().unwrap_or(0);
            EvalRow {
                seed: world.config.seed,
                window,
                from: date(first),
                to: date(last),
                measures: measure(&members, self.calibration()).0,
            }
        };
        let count = assigned.iter().max().map_or(0, |m| m + 1);
        (0..count).map(Some).chain([None]).map(line).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use allot_models::scoring::OrtRuntime;

    use super::super::{fit, in_fit_half};
    use super::*;
    use crate::world::WorldConfig;

    /// The shipped model directory, or `None` (skipped) without it.
    fn shipped_models() -> Option<PathBuf> {
        OrtRuntime::init(None).unwrap_or_else(|e| panic!("{e}"));
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        if !dir.join(ETA_ONNX).is_file() {
            let msg = "models/eta.onnx missing; run models/training/retrain";
            if std::env::var_os("CI").is_some() {
                panic!("{msg}");
            }
            eprintln!("SKIPPED (not CI): {msg}");
            return None;
        }
        Some(dir)
    }

    #[test]
    fn evaluating_the_fit_worlds_eval_half_reproduces_the_fit() {
        let Some(shipped) = shipped_models() else {
            return;
        };
        // Fit on a small world, save the calibration beside a copy of the
        // shipped model, load it back as the server does.
        let world = World::generate(WorldConfig::small(3));
        let model = EtaModel::load(&shipped.join(ETA_ONNX), &shipped.join(ETA_CARD)).unwrap();
        let (calibration, report) = fit(model, [&world]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("cards")).unwrap();
        for f in [ETA_ONNX, ETA_CARD] {
            std::fs::copy(shipped.join(f), dir.path().join(f)).unwrap();
        }
        calibration
            .save(&dir.path().join(allot_models::transit::CALIBRATION_FILE))
            .unwrap();
        let evaluator = Evaluator::load(dir.path(), Arc::new(world.network.clone())).unwrap();
        assert_eq!(evaluator.calibration(), &calibration);

        let eval = evaluator.scored(&world, |h| !in_fit_half(h.order)).unwrap();
        let refs: Vec<&Scored> = eval.iter().collect();
        let (m, bins) = measure(&refs, evaluator.calibration());
        let all = report.coverage.last().unwrap();
        assert_eq!(all.service, "all");
        assert_eq!(m.rows, report.eval_rows);
        assert_eq!(bins, report.promise);
        for (got, want) in [
            (m.ece, report.promise_ece),
            (m.ece_raw, report.promise_ece_raw),
            (m.on_time, report.promise_on_time),
            (m.coverage, all.calibrated),
            (m.coverage_raw, all.raw),
        ] {
            assert!((got - want).abs() < 1e-12, "{got} != {want}");
        }

        // The whole world, in windows: the windows partition its
        // shipments, and the whole-world row counts them all.
        let rows = evaluator.world(&world, 3).unwrap();
        let (whole, parts) = rows.split_last().unwrap();
        assert_eq!(whole.window, None);
        assert_eq!(parts.len(), 3);
        assert_eq!(whole.measures.rows, report.fit_rows + report.eval_rows);
        assert_eq!(
            parts.iter().map(|r| r.measures.rows).sum::<usize>(),
            whole.measures.rows
        );
        for pair in parts.windows(2) {
            assert!(pair[0].to < pair[1].from, "{pair:?}");
        }
        let kept: f64 = parts
            .iter()
            .map(|r| r.measures.on_time * r.measures.rows as f64)
            .sum();
        assert!((kept / whole.measures.rows as f64 - whole.measures.on_time).abs() < 1e-9);
    }

    #[test]
    fn a_pooled_fit_uses_every_world_in_order_and_is_deterministic() {
        let Some(shipped) = shipped_models() else {
            return;
        };
        let load = || EtaModel::load(&shipped.join(ETA_ONNX), &shipped.join(ETA_CARD)).unwrap();
        let worlds = [
            World::generate(WorldConfig::small(3)),
            World::generate(WorldConfig::small(4)),
        ];
        let (pooled, report) = fit(load(), &worlds).unwrap();
        assert_eq!(report.seeds, [3, 4]);
        let held: usize = worlds.iter().map(|w| held_out(w).len()).sum();
        assert_eq!(report.fit_rows + report.eval_rows, held);
        assert!(
            pooled.fitted_on.starts_with("world seeds 3, 4:"),
            "{}",
            pooled.fitted_on
        );
        pooled.check().unwrap();
        assert_eq!(
            fit(load(), &worlds).unwrap().0,
            pooled,
            "same worlds, same fit"
        );
        let (single, _) = fit(load(), &worlds[..1]).unwrap();
        assert_ne!(single, pooled, "the second world counts");
        assert!(
            fit(load(), Vec::<World>::new()).is_err(),
            "no world, no fit"
        );
    }
}
