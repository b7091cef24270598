//! What the use cases serve from: the network, the stock and its
//! reservation book, the models and the decision sink, loaded once at
//! startup.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use allot_engine::allocation::allocate::Allocator;
use allot_engine::allocation::protection::ProtectionPricer;
use allot_engine::network::{Network, NetworkError, demo_stock};
use allot_engine::promise::{PromiseCacheConfig, Promiser};
use allot_engine::reservation::ReservationBook;
use allot_engine::stock::{StockError, StockLevel, StockStore};
use allot_engine::transit::{ModelTag, TransitPredictor};
use allot_models::demand::{DemandForecaster, SalesHistory};
use allot_models::features::StoreConfig;
use allot_models::registry::GateRefusal;
use allot_models::risk::{RiskScorer, VersionOptions};
use allot_models::scoring::{OrtRuntime, ScoringError};
use allot_models::transit::{
    EtaVersion, EtaVersionOptions, LiveTransit, PredictorOptions, Refresher,
};

use crate::config::{ModelsConfig, ServiceConfig, StateStore};
use crate::demand::protection::ForecastProtection;
use crate::hash::{config_hash, network_hash};
use crate::privacy::Pseudonymizer;
use crate::sink::{DecisionSink, LogSink};
use crate::state::{self, Durable, Recovery, StateError};

/// The loaded engine: the network and its stock.
pub struct Engine {
    /// Where decisions are recorded: records, events and the live feed.
    pub decisions: Arc<dyn DecisionSink>,
    /// Hex SHA-256 of the configuration that affects decisions.
    pub config_hash: String,
    /// Hex SHA-256 of the network served.
    pub network_hash: String,
    /// The network being served.
    pub network: Arc<Network>,
    /// Stock snapshots per (SKU, node).
    pub stock: Arc<StockStore>,
    /// Allocation over the stock and its reservation book.
    pub allocator: Arc<Allocator>,
    /// Fraud scoring with its feature store; its model versions (live,
    /// previous, shadow) swap on reload.
    pub risk: Arc<RiskScorer>,
    /// The configured models directory (where a reload without a directory
    /// reads from).
    pub models_dir: PathBuf,
    /// Transit quantiles and calibrated on-time probabilities from the ETA
    /// model (cached per lane and 15-minute bucket); `None` only when the
    /// models directory has no `eta.onnx`.
    pub transit: Option<Arc<dyn TransitPredictor>>,
    /// The ETA model's versions (live, previous) behind `transit`.
    pub eta: Option<Arc<LiveTransit>>,
    /// Keeps the ETA cache warm for the current and the next bucket; stops
    /// when the engine is dropped. `None` without `eta.onnx` or with
    /// `models.eta_refresh = false`.
    pub transit_refresher: Option<Refresher>,
    /// Delivery promises over the same stock, book, costs and transit model
    /// as allocation, with their cache.
    pub promiser: Arc<Promiser>,
    /// The durable state over the stock and the book; `None` with
    /// `state.store = "memory"`.
    pub durable: Option<Arc<Durable>>,
    /// What opening the durable state did.
    pub recovery: Option<Recovery>,
    /// The keyed hashing of personal data (records, feature store keys).
    pub privacy: Arc<Pseudonymizer>,
    /// The demand model with its dispersion; `None` when the models
    /// directory has no `demand.onnx`.
    pub demand: Option<Arc<DemandForecaster>>,
    /// Units ordered per SKU x region x day: the demand model's lags.
    pub sales: Arc<SalesHistory>,
    /// Protected units priced from the demand forecast; `None` without the
    /// demand model or with `demand.price_protection = false`.
    pub protection: Option<Arc<ForecastProtection>>,
}

/// Why the engine could not load at startup.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The decision log could not be opened.
    #[error("cannot open the decision log: {0}")]
    Decisions(#[from] allot_engine::decisions::DecisionLogError),
    /// The privacy key could not be read or created.
    #[error("cannot load the privacy key: {0}")]
    Privacy(#[from] crate::privacy::PrivacyError),
    /// The network file could not be read to hash it.
    #[error("cannot hash the network file: {0}")]
    NetworkFile(std::io::Error),
    /// The network file is invalid.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// The stock file could not be opened.
    #[error("cannot open stock file {path}: {source}")]
    StockFile {
        /// The configured path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The stock file or the demo stock is invalid.
    #[error(transparent)]
    Stock(#[from] StockError),
    /// The ONNX Runtime library could not be loaded.
    #[error("cannot load the models from {dir}: {source}")]
    Models {
        /// The models directory.
        dir: String,
        /// What failed.
        source: ScoringError,
    },
    /// A model failed one of its gates.
    #[error("cannot serve the models of {dir}: {source}")]
    Gate {
        /// The models directory.
        dir: String,
        /// The gate that refused, and why.
        source: GateRefusal,
    },
    /// The ETA refresher thread could not start.
    #[error("cannot start the ETA refresher thread: {0}")]
    Refresher(std::io::Error),
    /// The durable state could not be opened or recovered.
    #[error(transparent)]
    State(#[from] StateError),
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// The models directory: configured, else `./models` when it holds the
/// fraud model, else the source tree's `models/`.
fn models_dir(config: &ModelsConfig) -> PathBuf {
    if let Some(dir) = &config.dir {
        return dir.clone();
    }
    let local = PathBuf::from("models");
    if local.join("fraud.onnx").exists() {
        return local;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models"))
}

impl Engine {
    /// The live version of every served model: name, version and file
    /// hash (what decision records carry and replay checks).
    pub fn live_models(&self) -> Vec<ModelTag> {
        let fraud = self.risk.versions().live();
        let mut models = vec![tag(fraud.identity())];
        if let Some(eta) = &self.eta {
            models.push(tag(eta.versions().live().identity()));
        }
        models
    }

    /// Loads the configured network (or the demo network) and the configured
    /// stock (or the demo stock). Blocking: call it off the async workers.
    pub fn load(config: &ServiceConfig) -> Result<Engine, LoadError> {
        config.returns.economics().map_err(LoadError::Config)?;
        let decisions: Arc<dyn DecisionSink> = Arc::new(LogSink::open(&config.decisions)?);
        let privacy = Arc::new(Pseudonymizer::load(&config.privacy, &config.decisions.dir)?);
        tracing::info!(
            key_id = privacy.key_id(),
            "personal data is hashed under the privacy key"
        );
        let network_hash = network_hash(config).map_err(LoadError::NetworkFile)?;
        let network = Arc::new(match &config.network.file {
            Some(path) => Network::load(path)?,
            None => Network::demo(config.network.demo_seed),
        });
        let stock = Arc::new(StockStore::new(network.clone()));
        let book = Arc::new(ReservationBook::new(stock.clone()));
        let now = SystemTime::now();
        // With a shared ledger the ledger is the state of record: this
        // process keeps its snapshot in memory and rebuilds it from there.
        let state_dir = (config.state.store == StateStore::Durable
            && config.state.ledger.is_none())
        .then(|| config.state.dir(&config.decisions));
        let recovering = state_dir.as_deref().is_some_and(state::has_state);
        match &config.stock.file {
            _ if recovering => {
                tracing::info!(
                    "state directory holds state: the startup stock is not loaded, the state is recovered"
                );
            }
            Some(path) => {
                let file = std::fs::File::open(path).map_err(|source| LoadError::StockFile {
                    path: path.display().to_string(),
                    source,
                })?;
                let summary = stock.load_csv(
                    std::io::BufReader::new(file),
                    &path.display().to_string(),
                    now,
                )?;
                tracing::info!(rows = summary.rows, nodes = summary.nodes.len(), file = %path.display(), "stock loaded");
            }
            None if config.stock.demo && config.network.file.is_none() => {
                let rows = demo_stock(&network, config.network.demo_seed);
                let count = rows.len();
                let mut by_node: Vec<Vec<_>> = vec![Vec::new(); network.node_count()];
                for row in rows {
                    let level = StockLevel {
                        on_hand: row.on_hand,
                        reserved: row.reserved,
                        protected: row.protected,
                    };
                    by_node[row.node.0 as usize].push((row.sku, level));
                }
                for (node, rows) in network.node_ids().zip(by_node) {
                    stock.replace_node(node, rows, 0, now)?;
                }
                tracing::info!(rows = count, "demo stock loaded");
            }
            None => tracing::info!("no stock file: every node starts empty"),
        }
        let (durable, recovery) = match &state_dir {
            Some(dir) => {
                let (durable, recovery) = state::open(
                    &config.state,
                    dir,
                    stock.clone(),
                    book.clone(),
                    decisions.clone(),
                )?;
                tracing::info!(
                    dir = %dir.display(),
                    fresh = recovery.fresh,
                    checkpoint = recovery.checkpoint_seq,
                    replayed = recovery.replayed,
                    commits = recovery.commits,
                    live_reservations = recovery.live_reservations,
                    torn_bytes = recovery.torn_bytes,
                    dropped = recovery.dropped,
                    ms = recovery.elapsed.as_millis() as u64,
                    "durable state opened"
                );
                (Some(Arc::new(durable)), Some(recovery))
            }
            None if config.state.ledger.is_some() => {
                tracing::info!("state.ledger is set: the shared ledger is the state of record");
                (None, None)
            }
            None => {
                tracing::warn!(
                    "state.store = \"memory\": reservations, stock changes and idempotency keys are lost on exit"
                );
                (None, None)
            }
        };
        let dir = models_dir(&config.models);
        let models_error = |source| LoadError::Models {
            dir: dir.display().to_string(),
            source,
        };
        OrtRuntime::init(config.models.onnxruntime_lib.as_deref()).map_err(models_error)?;
        let store = StoreConfig {
            max_entities: if config.models.feature_store_entities == 0 {
                StoreConfig::default().max_entities
            } else {
                config.models.feature_store_entities
            },
            ..StoreConfig::default()
        };
        let gate_error = |source| LoadError::Gate {
            dir: dir.display().to_string(),
            source,
        };
        let risk = Arc::new(
            RiskScorer::load(
                &dir,
                &config.models.risk,
                store,
                privacy.as_ref(),
                VersionOptions {
                    drift_window: config.models.drift_window,
                },
            )
            .map_err(gate_error)?,
        );
        let (name, version) = risk.model_version();
        tracing::info!(model = %name, version = %version, dir = %dir.display(), "fraud model loaded");
        let (transit, transit_refresher, eta) = match load_transit(&dir, &network, &config.models)?
        {
            Some((eta, refresher)) => (
                Some(eta.clone() as Arc<dyn TransitPredictor>),
                refresher,
                Some(eta),
            ),
            None => (None, None, None),
        };
        let demand = if dir.join("demand.onnx").is_file() {
            let forecaster = DemandForecaster::load(&dir).map_err(models_error)?;
            tracing::info!(
                version = forecaster.version(),
                dispersion_size = forecaster.dispersion_size(),
                holdout_interval_coverage = forecaster.holdout_coverage().unwrap_or(f64::NAN),
                "demand model loaded"
            );
            Some(Arc::new(forecaster))
        } else {
            tracing::info!(dir = %dir.display(), "no demand.onnx: demand forecasts are off");
            None
        };
        let protection = demand
            .as_ref()
            .filter(|_| config.demand.price_protection)
            .map(|forecaster| {
                Arc::new(ForecastProtection::new(
                    network.clone(),
                    forecaster.clone(),
                    config.allocation.costs.lost_sale_permille,
                ))
            });
        let promiser = Arc::new(
            Promiser::new(
                book.clone(),
                config.allocation.costs,
                transit.clone(),
                PromiseCacheConfig {
                    entries: config.promise.cache_entries,
                    ttl: Duration::from_secs(config.promise.cache_ttl_s),
                },
            )
            .with_protection(protection.clone().map(|p| p as Arc<dyn ProtectionPricer>)),
        );
        let allocator = Arc::new(
            Allocator::new(book, config.allocation.costs)
                .with_transit(transit.clone())
                .with_protection(protection.clone().map(|p| p as Arc<dyn ProtectionPricer>)),
        );
        Ok(Engine {
            decisions,
            config_hash: config_hash(config),
            network_hash,
            network,
            stock,
            allocator,
            risk,
            models_dir: dir,
            transit,
            transit_refresher,
            eta,
            promiser,
            durable,
            recovery,
            privacy,
            demand,
            sales: Arc::new(SalesHistory::new()),
            protection,
        })
    }
}

/// The ETA model and its refresher (`None` when switched off).
type LoadedTransit = (Arc<LiveTransit>, Option<Refresher>);

/// How the ETA versions of this configuration load.
pub(crate) fn eta_options(config: &ModelsConfig) -> EtaVersionOptions {
    EtaVersionOptions {
        predictor: PredictorOptions {
            cache_entries: config.eta_cache_entries,
            ..PredictorOptions::default()
        },
        drift_window: config.drift_window,
    }
}

/// The ETA model through its gates and its refresher, or `None` when `dir`
/// has no `eta.onnx`.
fn load_transit(
    dir: &std::path::Path,
    network: &Arc<Network>,
    config: &ModelsConfig,
) -> Result<Option<LoadedTransit>, LoadError> {
    if !dir.join("eta.onnx").is_file() {
        tracing::warn!(dir = %dir.display(), "no eta.onnx: promises and allocation use nominal transit times");
        return Ok(None);
    }
    let version =
        EtaVersion::load(dir, network.clone(), &eta_options(config), None).map_err(|source| {
            LoadError::Gate {
                dir: dir.display().to_string(),
                source,
            }
        })?;
    let calibration = version.predictor().calibration();
    if calibration.is_identity() {
        tracing::warn!(dir = %dir.display(), "no eta.calibration.json: on-time probabilities are uncalibrated");
    }
    tracing::info!(
        model = %version.identity().name,
        version = %version.identity().version,
        calibration = %calibration.fitted_on,
        "eta model loaded"
    );
    let eta = Arc::new(LiveTransit::new(Arc::new(version)));
    if !config.eta_refresh {
        tracing::info!(
            "eta refresher off (models.eta_refresh = false): lanes are scored on demand"
        );
        return Ok(Some((eta, None)));
    }
    let live = eta.clone();
    let refresher = Refresher::spawn(
        move || live.versions().live().predictor().clone(),
        Duration::from_secs(config.eta_refresh_lead_s),
        |pass| match pass {
            Ok(lanes) => {
                metrics::counter!("allot_eta_prefilled_lanes_total").increment(lanes as u64);
                tracing::debug!(lanes, "eta cache prefilled");
            }
            Err(e) => {
                metrics::counter!("allot_eta_prefill_errors_total").increment(1);
                tracing::warn!(error = %e, "eta prefill failed");
            }
        },
    )
    .map_err(LoadError::Refresher)?;
    Ok(Some((eta, Some(refresher))))
}

fn tag(identity: &allot_models::registry::ModelIdentity) -> ModelTag {
    ModelTag {
        name: identity.name.clone(),
        version: identity.version.clone(),
        sha256: identity.sha256.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eta_refresher_runs_unless_switched_off_and_the_model_serves_either_way() {
        for refresh in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let mut config = ServiceConfig::default();
            config.decisions.dir = dir.path().to_path_buf();
            config.models.eta_refresh = refresh;
            let engine = Engine::load(&config).unwrap();
            assert_eq!(engine.transit_refresher.is_some(), refresh);
            // Without the refresher a lane is scored when first asked for.
            let transit = engine.transit.as_ref().expect("the shipped eta.onnx");
            let lane = allot_engine::transit::Lane {
                node: allot_engine::network::NodeId(0),
                service: allot_engine::network::ServiceId(0),
                region: allot_engine::network::RegionId(0),
            };
            let q = transit.predict(&[lane], SystemTime::now()).unwrap()[0];
            assert!(q.q50 > 0.0 && q.q10 <= q.q50 && q.q50 <= q.q90, "{q:?}");
            engine.decisions.close();
        }
    }
}
