//! What the services serve from: the network and the stock, loaded once at
//! startup, and the readiness cell the services consult before they exist.

use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use allot_engine::allocation::allocate::Allocator;
use allot_engine::network::{Network, NetworkError, demo_stock};
use allot_engine::reservation::ReservationBook;
use allot_engine::stock::{StockError, StockLevel, StockStore};
use allot_models::features::StoreConfig;
use allot_models::risk::RiskScorer;
use allot_models::scoring::{OrtRuntime, ScoringError};
use std::path::PathBuf;
use tonic::Status;

use crate::config::Config;

/// The loaded engine: the network and its stock.
pub struct Engine {
    /// The network being served.
    pub network: Arc<Network>,
    /// Stock snapshots per (SKU, node).
    pub stock: Arc<StockStore>,
    /// Allocation over the stock and its reservation book.
    pub allocator: Arc<Allocator>,
    /// Fraud scoring with its feature store.
    pub risk: Arc<RiskScorer>,
    /// Where the models were loaded from, and when.
    pub models_loaded: (PathBuf, SystemTime),
}

/// Why the engine could not load at startup.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
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
    /// The models or the ONNX Runtime library could not be loaded.
    #[error("cannot load the models from {dir}: {source}")]
    Models {
        /// The models directory.
        dir: String,
        /// What failed.
        source: ScoringError,
    },
}

/// The models directory: configured, else `./models` when it holds the
/// fraud model, else the source tree's `models/`.
fn models_dir(config: &Config) -> PathBuf {
    if let Some(dir) = &config.models.dir {
        return dir.clone();
    }
    let local = PathBuf::from("models");
    if local.join("fraud.onnx").exists() {
        return local;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../models"))
}

impl Engine {
    /// Loads the configured network (or the demo network) and the configured
    /// stock (or the demo stock). Blocking: call it off the async workers.
    pub fn load(config: &Config) -> Result<Engine, LoadError> {
        let network = Arc::new(match &config.network.file {
            Some(path) => Network::load(path)?,
            None => Network::demo(config.network.demo_seed),
        });
        let stock = Arc::new(StockStore::new(network.clone()));
        let now = SystemTime::now();
        match &config.stock.file {
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
        let dir = models_dir(config);
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
        let risk =
            Arc::new(RiskScorer::load(&dir, &config.models.risk, store).map_err(models_error)?);
        let (name, version) = risk.model_version();
        tracing::info!(model = name, version, dir = %dir.display(), "fraud model loaded");
        let book = Arc::new(ReservationBook::new(stock.clone()));
        let allocator = Arc::new(Allocator::new(book, config.allocation.costs));
        Ok(Engine {
            network,
            stock,
            allocator,
            risk,
            models_loaded: (dir, SystemTime::now()),
        })
    }
}

/// Set once the engine has loaded; services answer UNAVAILABLE before that.
#[derive(Clone, Default)]
pub struct Ready(Arc<OnceLock<Arc<Engine>>>);

impl Ready {
    /// The engine, or UNAVAILABLE while it is still loading.
    pub fn engine(&self) -> Result<&Arc<Engine>, Status> {
        self.0.get().ok_or_else(crate::error::loading)
    }

    /// Publishes the loaded engine (first call wins).
    pub fn set(&self, engine: Arc<Engine>) {
        let _ = self.0.set(engine);
    }
}
