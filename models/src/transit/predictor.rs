//! [`EtaPredictor`]: the ETA model behind the engine's transit interface,
//! with its quantile cache and calibration.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use allot_engine::network::{Network, RegionId};
use allot_engine::transit::{Lane, ModelTag, TransitError, TransitPredictor, TransitQuantiles};
use moka::sync::Cache;

use super::calibration::{CALIBRATION_FILE, Calibration, CalibrationError, WindowAdjust};
use crate::drift::DriftMonitor;
use crate::features::{ETA_FEATURE_COUNT, ETA_TIME_BUCKET_SECS, EtaKey};
use crate::scoring::{EtaModel, ScoringError};

/// Sizes of the predictor's cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PredictorOptions {
    /// Lanes x buckets kept (moka TinyLFU beyond it).
    pub cache_entries: u64,
    /// How long an entry lives; a bucket is 15 minutes.
    pub cache_ttl: Duration,
}

impl Default for PredictorOptions {
    /// 200,000 entries (the demo network has 46,943 lanes a bucket: the
    /// current and next bucket fit with room for traffic), 45 minutes.
    fn default() -> Self {
        PredictorOptions {
            cache_entries: 200_000,
            cache_ttl: Duration::from_secs(45 * 60),
        }
    }
}

/// Cache counters since load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PredictorStats {
    /// Lanes answered from the cache.
    pub hits: u64,
    /// Lanes that needed the model.
    pub misses: u64,
    /// Model runs (one per call with misses, one per prefill chunk).
    pub runs: u64,
}

/// The ETA model as a [`TransitPredictor`].
pub struct EtaPredictor {
    model: EtaModel,
    network: Arc<Network>,
    calibration: Calibration,
    /// Per service id: its window adjustment, if any.
    window: Vec<Option<WindowAdjust>>,
    cache: Cache<EtaKey, TransitQuantiles>,
    /// Dense tables of the buckets the refresher prefilled, newest last (at
    /// most [`TABLES_KEPT`]): a lookup there is an index, not a hash.
    tables: RwLock<Vec<Arc<BucketTable>>>,
    hits: AtomicU64,
    misses: AtomicU64,
    runs: AtomicU64,
    /// Hex SHA-256 of the model file (empty when not computed).
    sha256: String,
    /// Watches the lanes decisions ship on, when set.
    drift: Option<DriftMonitor>,
}

impl std::fmt::Debug for EtaPredictor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtaPredictor")
            .field("model", &self.onnx_model().card().version)
            .field("calibration", &self.calibration.fitted_on)
            .field("cached", &self.cache.entry_count())
            .finish()
    }
}

/// Why the predictor could not load.
#[derive(Debug, thiserror::Error)]
pub enum PredictorLoadError {
    /// The model could not be loaded.
    #[error(transparent)]
    Model(#[from] ScoringError),
    /// The calibration file is unusable.
    #[error(transparent)]
    Calibration(#[from] CalibrationError),
}

/// Counter of lane lookups in the predictor's cache, by `result` (hit,
/// miss).
pub const LOOKUPS_METRIC: &str = "allot_eta_cache_lookups_total";
/// Counter of ETA model runs (one per call with misses, one per prefill
/// chunk).
pub const RUNS_METRIC: &str = "allot_eta_model_runs_total";

/// Lanes scored per model run when prefilling.
const PREFILL_CHUNK: usize = 2_048;

/// Prefilled bucket tables kept (the previous, current and next bucket).
const TABLES_KEPT: usize = 3;

/// The quantiles of every lane of one bucket, indexed by
/// [`EtaPredictor::lane_index`].
struct BucketTable {
    bucket: i64,
    lanes: Vec<Option<TransitQuantiles>>,
}

impl EtaPredictor {
    /// Wraps a loaded model with `calibration` (see [`Calibration::identity`]
    /// for none).
    pub fn new(
        model: EtaModel,
        network: Arc<Network>,
        calibration: Calibration,
        options: PredictorOptions,
    ) -> EtaPredictor {
        let window = network
            .services()
            .iter()
            .map(|s| calibration.window_for(&s.code).cloned())
            .collect();
        EtaPredictor {
            model,
            network,
            calibration,
            window,
            // LRU, not TinyLFU: every key of a new bucket is new, and the
            // refresher's prefill must displace the old buckets, not be
            // refused admission by them.
            cache: Cache::builder()
                .eviction_policy(moka::policy::EvictionPolicy::lru())
                .max_capacity(options.cache_entries)
                .time_to_live(options.cache_ttl)
                .build(),
            tables: RwLock::new(Vec::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            runs: AtomicU64::new(0),
            sha256: String::new(),
            drift: None,
        }
    }

    /// This predictor, naming its model file's hex SHA-256 and watching the
    /// lanes decisions ship on with `drift`.
    pub fn with_identity(mut self, sha256: String, drift: DriftMonitor) -> EtaPredictor {
        self.sha256 = sha256;
        self.drift = Some(drift);
        self
    }

    /// The drift monitor of the lanes decisions ship on, when set.
    pub fn drift(&self) -> Option<&DriftMonitor> {
        self.drift.as_ref()
    }

    /// The typed ETA model.
    pub fn eta_model(&self) -> &EtaModel {
        &self.model
    }

    /// Loads `eta.onnx`, `cards/eta.json` and, when present,
    /// `eta.calibration.json` from `dir` (without it: the identity
    /// calibration; [`Calibration::is_identity`] tells).
    pub fn load(
        dir: &Path,
        network: Arc<Network>,
        options: PredictorOptions,
    ) -> Result<EtaPredictor, PredictorLoadError> {
        let model = EtaModel::load(&dir.join("eta.onnx"), &dir.join("cards/eta.json"))?;
        let version = model.model().card().version.clone();
        let path = dir.join(CALIBRATION_FILE);
        let calibration = if path.exists() {
            Calibration::load(&path, &version)?
        } else {
            Calibration::identity(&version)
        };
        Ok(EtaPredictor::new(model, network, calibration, options))
    }

    /// The ETA model (its card and file).
    pub fn onnx_model(&self) -> &crate::scoring::Model {
        self.model.model()
    }

    /// The calibration in use.
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// The network the lanes refer to.
    pub fn network(&self) -> &Arc<Network> {
        &self.network
    }

    /// Cache counters since load.
    pub fn stats(&self) -> PredictorStats {
        PredictorStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            runs: self.runs.load(Ordering::Relaxed),
        }
    }

    /// Lanes x buckets held in the cache (approximate).
    pub fn cached(&self) -> u64 {
        self.cache.entry_count()
    }

    /// Quantiles of a lane from raw model output: sorted, then the service's
    /// window adjustment, floored at zero.
    fn finish(&self, key: &EtaKey, raw: [f32; 3]) -> TransitQuantiles {
        let q = TransitQuantiles::sorted(raw.map(f64::from));
        match self.window.get(key.service.0 as usize) {
            Some(Some(w)) => w.apply(&q),
            _ => q,
        }
    }

    /// Position of a (checked) lane in a bucket table.
    fn lane_index(&self, lane: &Lane) -> usize {
        let services = self.network.services().len();
        let regions = self.network.regions().len();
        (lane.node.0 as usize * services + lane.service.0 as usize) * regions
            + lane.region.0 as usize
    }

    /// The prefilled table of `bucket`, if any.
    fn table(&self, bucket: i64) -> Option<Arc<BucketTable>> {
        let tables = self.tables.read().ok()?;
        tables.iter().rev().find(|t| t.bucket == bucket).cloned()
    }

    fn check_lane(&self, lane: &Lane) -> Result<(), TransitError> {
        let net = &self.network;
        if lane.node.0 as usize >= net.node_count()
            || lane.service.0 as usize >= net.services().len()
            || lane.region.0 as usize >= net.regions().len()
        {
            return Err(TransitError(format!("lane {lane:?} is not in the network")));
        }
        Ok(())
    }

    /// Scores `keys` (none cached) in runs of at most `chunk` rows and
    /// caches them; returns the quantiles in order.
    fn score(&self, keys: &[EtaKey], chunk: usize) -> Result<Vec<TransitQuantiles>, TransitError> {
        let mut out = Vec::with_capacity(keys.len());
        for part in keys.chunks(chunk.max(1)) {
            let rows: Vec<[f32; ETA_FEATURE_COUNT]> = part
                .iter()
                .map(|k| k.features(&self.network).to_row())
                .collect();
            let raw = self
                .model
                .quantiles_batch(&rows)
                .map_err(|e| TransitError(e.to_string()))?;
            self.runs.fetch_add(1, Ordering::Relaxed);
            metrics::counter!(RUNS_METRIC).increment(1);
            for (key, r) in part.iter().zip(raw) {
                let q = self.finish(key, r);
                self.cache.insert(*key, q);
                out.push(q);
            }
        }
        Ok(out)
    }

    /// Every lane of the network: each node x each of its services x each
    /// region.
    pub fn lanes(&self) -> Vec<Lane> {
        let net = &self.network;
        let regions = net.regions().len() as u32;
        let mut lanes = Vec::new();
        for node in net.node_ids() {
            for &service in &net.node(node).services {
                for r in 0..regions {
                    lanes.push(Lane {
                        node,
                        service,
                        region: RegionId(r),
                    });
                }
            }
        }
        lanes
    }

    /// Scores every lane of the network for the 15-minute bucket that holds
    /// `at` (lanes already cached are skipped), in batched model runs.
    /// Returns the number of lanes scored. Blocking: about half a second of
    /// one core on the demo network; run it off the async workers.
    pub fn prefill(&self, at: SystemTime) -> Result<usize, TransitError> {
        self.prefill_while(at, &|| true)
    }

    /// [`EtaPredictor::prefill`], stopping between model runs as soon as
    /// `keep_going` returns false (the lanes scored so far stay cached).
    pub fn prefill_while(
        &self,
        at: SystemTime,
        keep_going: &dyn Fn() -> bool,
    ) -> Result<usize, TransitError> {
        let bucket = unix_secs(at).div_euclid(ETA_TIME_BUCKET_SECS);
        let keys: Vec<EtaKey> = self
            .lanes()
            .into_iter()
            .map(|l| EtaKey {
                node: l.node,
                service: l.service,
                region: l.region,
                bucket,
            })
            .filter(|k| !self.cache.contains_key(k))
            .collect();
        let mut scored = 0;
        for chunk in keys.chunks(PREFILL_CHUNK) {
            if !keep_going() {
                return Ok(scored);
            }
            scored += self.score(chunk, PREFILL_CHUNK)?.len();
        }
        self.publish_table(bucket);
        Ok(scored)
    }

    /// Copies every lane of `bucket` from the cache into a dense table that
    /// [`TransitPredictor::predict`] reads first.
    fn publish_table(&self, bucket: i64) {
        let size = self.network.node_count()
            * self.network.services().len()
            * self.network.regions().len();
        let mut lanes = vec![None; size];
        for lane in self.lanes() {
            let key = EtaKey {
                node: lane.node,
                service: lane.service,
                region: lane.region,
                bucket,
            };
            lanes[self.lane_index(&lane)] = self.cache.get(&key);
        }
        if let Ok(mut tables) = self.tables.write() {
            tables.retain(|t| t.bucket != bucket);
            tables.push(Arc::new(BucketTable { bucket, lanes }));
            tables.sort_by_key(|t| t.bucket);
            let excess = tables.len().saturating_sub(TABLES_KEPT);
            tables.drain(..excess);
        }
    }
}

/// Unix seconds of `t` (negative before 1970).
fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs_f64().ceil() as i64),
    }
}

impl TransitPredictor for EtaPredictor {
    fn model(&self) -> ModelTag {
        let card = self.model.model().card();
        ModelTag {
            name: card.name.clone(),
            version: card.version.clone(),
            sha256: self.sha256.clone(),
        }
    }

    fn observe_shipped(&self, lanes: &[Lane], released: SystemTime) {
        let Some(drift) = &self.drift else {
            return;
        };
        let bucket = unix_secs(released).div_euclid(ETA_TIME_BUCKET_SECS);
        let rows: Vec<[f32; ETA_FEATURE_COUNT]> = lanes
            .iter()
            .filter(|lane| self.check_lane(lane).is_ok())
            .map(|lane| {
                let key = EtaKey {
                    node: lane.node,
                    service: lane.service,
                    region: lane.region,
                    bucket,
                };
                key.features(&self.network).to_row()
            })
            .collect();
        if rows.is_empty() {
            return;
        }
        // The card's output histograms are of the model's raw quantiles,
        // before sorting and the calibrated window: watch the same.
        let Ok(raw) = self.model.quantiles_batch(&rows) else {
            return;
        };
        for (row, q) in rows.iter().zip(raw) {
            drift.observe(row, &q);
        }
    }

    fn predict(
        &self,
        lanes: &[Lane],
        released: SystemTime,
    ) -> Result<Vec<TransitQuantiles>, TransitError> {
        let bucket = unix_secs(released).div_euclid(ETA_TIME_BUCKET_SECS);
        let key = |l: &Lane| EtaKey {
            node: l.node,
            service: l.service,
            region: l.region,
            bucket,
        };
        let table = self.table(bucket);
        let mut out: Vec<Option<TransitQuantiles>> = Vec::with_capacity(lanes.len());
        let mut missing: Vec<EtaKey> = Vec::new();
        for lane in lanes {
            self.check_lane(lane)?;
            if let Some(q) = table.as_ref().and_then(|t| t.lanes[self.lane_index(lane)]) {
                out.push(Some(q));
                continue;
            }
            let k = key(lane);
            let q = self.cache.get(&k);
            if q.is_none() && !missing.contains(&k) {
                missing.push(k);
            }
            out.push(q);
        }
        let hits = out.iter().filter(|q| q.is_some()).count();
        self.hits.fetch_add(hits as u64, Ordering::Relaxed);
        self.misses
            .fetch_add((lanes.len() - hits) as u64, Ordering::Relaxed);
        metrics::counter!(LOOKUPS_METRIC, "result" => "hit").increment(hits as u64);
        metrics::counter!(LOOKUPS_METRIC, "result" => "miss")
            .increment((lanes.len() - hits) as u64);
        if missing.is_empty() {
            return Ok(out.into_iter().flatten().collect());
        }
        let scored = self.score(&missing, usize::MAX)?;
        Ok(lanes
            .iter()
            .zip(out)
            .map(|(lane, q)| {
                q.unwrap_or_else(|| {
                    let k = key(lane);
                    let i = missing.iter().position(|m| *m == k).unwrap_or(0);
                    scored[i]
                })
            })
            .collect())
    }

    fn p_delivered_within(&self, quantiles: &TransitQuantiles, days: f64) -> f64 {
        self.calibration.p_within(quantiles, days)
    }
}
