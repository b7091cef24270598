//! The settings the use cases decide with: which network and stock to load,
//! allocation's budgets, reservations and costs, the models and fraud rules,
//! the promise cache and the decision log. The server's configuration file
//! holds these sections next to its own (listener, metrics, logging).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Every section the service layer reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceConfig {
    /// Which network to serve.
    pub network: NetworkConfig,
    /// Which stock to load at startup.
    pub stock: StockConfig,
    /// Allocation: time budgets, reservations, cost parameters.
    pub allocation: AllocationConfig,
    /// The ONNX models and the fraud rules.
    pub models: ModelsConfig,
    /// Delivery promises.
    pub promise: PromiseConfig,
    /// The decision log.
    pub decisions: DecisionsConfig,
    /// Where reservations, stock, capacity and idempotency keys are kept.
    pub state: StateConfig,
    /// The key personal data is hashed with.
    pub privacy: crate::privacy::PrivacyConfig,
    /// Demand forecasts: the sales history they start from.
    pub demand: DemandConfig,
    /// What returned units recover in each channel (RouteReturn).
    pub returns: ReturnsConfig,
}

/// What returned units recover in each channel, as shares of the price the
/// customer paid, per mille (docs/returns.md).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ReturnsConfig {
    /// An opened, like-new unit resells at this share (0 to 1000).
    pub open_box_permille: i64,
    /// A refurbished unit sells at this share (0 to 1000).
    pub refurbished_permille: i64,
    /// A liquidator pays this share (0 to 1000); an unsold restocked unit
    /// ends there too.
    pub liquidation_permille: i64,
    /// A vendor credits this share for a defective unit (0 to 1000).
    pub vendor_credit_permille: i64,
}

impl Default for ReturnsConfig {
    fn default() -> Self {
        let e = allot_engine::returns::ReturnEconomics::default();
        ReturnsConfig {
            open_box_permille: e.open_box_permille,
            refurbished_permille: e.refurbished_permille,
            liquidation_permille: e.liquidation_permille,
            vendor_credit_permille: e.vendor_credit_permille,
        }
    }
}

impl ReturnsConfig {
    /// The recovery shares, each checked to be 0 to 1000; an error names
    /// the key.
    pub fn economics(&self) -> Result<allot_engine::returns::ReturnEconomics, String> {
        for (key, value) in [
            ("open_box_permille", self.open_box_permille),
            ("refurbished_permille", self.refurbished_permille),
            ("liquidation_permille", self.liquidation_permille),
            ("vendor_credit_permille", self.vendor_credit_permille),
        ] {
            if !(0..=1000).contains(&value) {
                return Err(format!(
                    "returns.{key} = {value}: give 0 to 1000 (per mille of the price)"
                ));
            }
        }
        Ok(allot_engine::returns::ReturnEconomics {
            open_box_permille: self.open_box_permille,
            refurbished_permille: self.refurbished_permille,
            liquidation_permille: self.liquidation_permille,
            vendor_credit_permille: self.vendor_credit_permille,
        })
    }
}

/// Demand forecasts (ForecastDemand) and the protection prices drawn from
/// them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DemandConfig {
    /// Price protected units from the demand forecast (the expected lost
    /// sale at the node) instead of the flat `allocation.costs.protect_penalty`.
    /// Needs the demand model; without it the flat penalty applies.
    pub price_protection: bool,
    /// How often the protection prices are recomputed, seconds (the
    /// forecast of every SKU a node holds protected, over its
    /// replenishment days).
    pub protection_refresh_s: u64,
    /// Daily sales to start the history from, read at startup: a CSV with
    /// the header `sku,region,date,units` (SKU and region codes, local
    /// date `YYYY-MM-DD`, units sold that day). A day listed replaces what
    /// the decision log counted for that SKU and region; every day from
    /// the file's first on counts as known. None: the history starts from
    /// the decision log alone.
    pub history_file: Option<PathBuf>,
}

impl Default for DemandConfig {
    fn default() -> Self {
        DemandConfig {
            price_protection: true,
            protection_refresh_s: 3_600,
            history_file: None,
        }
    }
}

/// Where reservations, stock, capacity use and idempotency keys are kept
/// (docs/durability.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    /// `durable`: a journal and checkpoints on disk, recovered at start.
    /// `memory`: nothing on disk, everything lost on exit (benchmarks and
    /// throwaway runs only).
    pub store: StateStore,
    /// Directory of the journal and checkpoints; absent = `state` under the
    /// decision log's directory.
    pub dir: Option<PathBuf>,
    /// When a change counts as durable: `always` (fsync before the answer,
    /// shared by concurrent calls), `interval` (after the write; fsync every
    /// `sync_interval_ms`), `never` (after the write; the kernel flushes).
    pub sync: SyncMode,
    /// The fsync interval of `sync = "interval"`, ms.
    pub sync_interval_ms: u64,
    /// A journal segment is closed, and folded into a checkpoint, once it
    /// holds this many MiB.
    pub segment_mib: u64,
    /// The switch to scale-out (docs/scale-out.md): the PostgreSQL URL of a
    /// ledger shared with other replicas (`postgres://user@host:port/db`).
    /// Set, it is the state of record and `store` only says what this
    /// process keeps on disk besides (nothing: its snapshot is rebuilt from
    /// the ledger). Unset (the default), this process's own state.
    pub ledger: Option<String>,
    /// The NATS URL of the JetStream bus the replicas share (stock changes
    /// fan out, the outbox's events are published); only with `ledger`.
    pub bus: Option<String>,
    /// Connections to the shared ledger.
    pub ledger_connections: usize,
    /// Longest wait for a ledger connection before a change fails with
    /// UNAVAILABLE, ms (a database that is down fails at once).
    pub ledger_timeout_ms: u64,
    /// Longest one change (a commit, a confirmation, a stock write) may
    /// take in the ledger, waiting for rows other replicas hold included,
    /// before it fails with UNAVAILABLE, ms.
    pub ledger_change_timeout_ms: u64,
    /// How often a replica reads the ledger's stock changes it may have
    /// missed on the bus, ms (the bound on a quote's staleness when the bus
    /// is down).
    pub ledger_poll_ms: u64,
}

/// Where state is kept.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StateStore {
    /// A journal and checkpoints on disk.
    Durable,
    /// Memory only.
    Memory,
}

/// When a change counts as durable.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// fsync before the answer.
    Always,
    /// fsync every `sync_interval_ms`.
    Interval,
    /// Never fsync.
    Never,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            store: StateStore::Durable,
            dir: None,
            sync: SyncMode::Always,
            sync_interval_ms: 10,
            segment_mib: 64,
            ledger: None,
            bus: None,
            ledger_connections: 8,
            ledger_timeout_ms: 1000,
            ledger_change_timeout_ms: 5000,
            ledger_poll_ms: 1000,
        }
    }
}

impl StateConfig {
    /// The state directory: configured, else `state` under `decisions`.
    pub fn dir(&self, decisions: &DecisionsConfig) -> PathBuf {
        self.dir
            .clone()
            .unwrap_or_else(|| decisions.dir.join("state"))
    }
}

/// Which network to serve.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// A network file (docs/network.md); absent = the built-in demo network.
    pub file: Option<PathBuf>,
    /// Seed of the demo network when no file is given.
    pub demo_seed: u64,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            file: None,
            demo_seed: allot_engine::network::DEMO_SEED,
        }
    }
}

/// Which stock to load at startup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StockConfig {
    /// A stock CSV (docs/stock.md) loaded at startup. Absent: the demo stock
    /// when serving the demo network, otherwise every node starts empty.
    pub file: Option<PathBuf>,
    /// Load the deterministic demo stock when serving the demo network and
    /// no stock file is given.
    pub demo: bool,
}

impl Default for StockConfig {
    fn default() -> Self {
        StockConfig {
            file: None,
            demo: true,
        }
    }
}

/// Allocation: time budgets, reservations, cost parameters.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AllocationConfig {
    /// Time budget of a solve when the call carries no gRPC deadline, ms.
    pub default_budget_ms: u64,
    /// Kept from the caller's deadline for building and sending the answer,
    /// ms (at least).
    pub deadline_margin_ms: u64,
    /// Share of the caller's deadline kept for building and sending the
    /// answer when that is more than `deadline_margin_ms`, 0.0 to 0.9.
    pub deadline_margin_share: f64,
    /// Longest time a call may spend deciding, ms, whatever deadline the
    /// caller sets: a long `grpc-timeout` does not buy a longer solve.
    pub max_budget_ms: u64,
    /// Reservation time to live when the request sets none, seconds.
    pub default_reservation_ttl_s: u64,
    /// Longest reservation time to live a request may ask for, seconds.
    pub max_reservation_ttl_s: u64,
    /// With `state.store = "memory"` only: idempotency keys remembered
    /// (least recently used beyond it are forgotten; each is kept at most 24
    /// hours). The durable store keeps every key for its 24 hours.
    pub idempotency_keys: u64,
    /// Solves running at once (the blocking pool); 0 = one per core.
    pub solver_threads: usize,
    /// Calls that may wait for a free solver; beyond, RESOURCE_EXHAUSTED at
    /// once (load shedding instead of an unbounded queue).
    pub solver_queue: usize,
    /// What Allocate does with an order the fraud check sends to review.
    pub review: ReviewPolicy,
    /// The cost model's penalties (docs/allocation.md).
    pub costs: allot_engine::allocation::params::CostParams,
}

/// What Allocate does with an order whose fraud decision is REVIEW.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewPolicy {
    /// Reserve the plan (with `commit`) so the stock is kept while a person
    /// reviews the order; disposition HELD_REVIEW.
    #[default]
    Reserve,
    /// Reserve nothing; disposition HELD_REVIEW.
    Hold,
}

impl Default for AllocationConfig {
    fn default() -> Self {
        AllocationConfig {
            default_budget_ms: 50,
            deadline_margin_ms: 2,
            deadline_margin_share: 0.2,
            max_budget_ms: 1_000,
            default_reservation_ttl_s: 900,
            max_reservation_ttl_s: 7 * 24 * 3600,
            idempotency_keys: 100_000,
            solver_threads: 0,
            solver_queue: 32,
            review: ReviewPolicy::Reserve,
            costs: Default::default(),
        }
    }
}

/// The ONNX models and the fraud rules.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelsConfig {
    /// Directory holding `fraud.onnx`, `cards/`, `fraud.lgb.txt` ...; absent:
    /// `./models` when it holds them, else the `models/` directory of the
    /// source tree allot was built from.
    pub dir: Option<PathBuf>,
    /// The ONNX Runtime shared library; absent: `ORT_DYLIB_PATH`, else the
    /// one inside the project's `.venv` (installed by `scripts/bootstrap`).
    pub onnxruntime_lib: Option<PathBuf>,
    /// Entities (customers, devices, cards, addresses) the feature store
    /// keeps per kind; the least recently used beyond it are forgotten, and
    /// any idle for 8 days.
    pub feature_store_entities: u64,
    /// ETA quantiles cached per (node, service, region, 15-minute bucket);
    /// the demo network has 46,943 lanes a bucket.
    pub eta_cache_entries: u64,
    /// Whether the ETA refresher runs: a thread that scores every lane of
    /// the network before each 15-minute bucket, so predictions are cache
    /// hits. Off: each miss is scored when a request needs it (tens of
    /// microseconds more for the first request of a lane and bucket).
    pub eta_refresh: bool,
    /// How long before each 15-minute bucket the ETA refresher scores every
    /// lane of the network for it, seconds (at most 450).
    pub eta_refresh_lead_s: u64,
    /// Block lists, allow lists and the amount limit.
    pub risk: allot_models::risk::RiskPolicy,
    /// Whether `ReloadModels` and `RollbackModels` may change the models
    /// while serving (PERMISSION_DENIED when off).
    pub reload: bool,
    /// How much lower a reloaded fraud model's AUC may be than the live
    /// model's on the candidate card's held-out rows.
    pub reload_fraud_auc_margin: f64,
    /// How much higher, relative, a reloaded ETA model's mean pinball loss
    /// may be than the live model's on the candidate card's held-out rows
    /// (0.02: 2% worse at most).
    pub reload_eta_loss_margin: f64,
    /// Rows of live traffic each model's drift window keeps.
    pub drift_window: usize,
    /// PSI at or above which a column's drift raises the alert (the
    /// `allot_model_drift_alert` gauge and a warning); 0.25 is the
    /// conventional "significant" band.
    pub drift_alert_psi: f64,
    /// Rows a drift window needs before its PSI is exported and can alert
    /// (PSI over a handful of rows is noise).
    pub drift_min_rows: usize,
    /// How often the drift gauges are recomputed, seconds.
    pub drift_interval_s: u64,
    /// How often the models directory is read for changed models, seconds;
    /// a model whose files changed (and then stayed the same for one more
    /// interval) is reloaded live through the reload gates. 0: not watched.
    pub watch_interval_s: u64,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        ModelsConfig {
            dir: None,
            onnxruntime_lib: None,
            feature_store_entities: allot_models::features::StoreConfig::default().max_entities,
            eta_cache_entries: allot_models::transit::PredictorOptions::default().cache_entries,
            eta_refresh: true,
            eta_refresh_lead_s: 90,
            risk: Default::default(),
            reload: true,
            reload_fraud_auc_margin: 0.005,
            reload_eta_loss_margin: 0.02,
            drift_window: 10_000,
            drift_alert_psi: 0.25,
            drift_min_rows: 500,
            drift_interval_s: 10,
            watch_interval_s: 0,
        }
    }
}

/// Delivery promises.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PromiseConfig {
    /// Promises cached per (cart, destination, service levels, 15-minute
    /// bucket, stock read); 0 disables the cache.
    pub cache_entries: u64,
    /// Longest a cached promise is kept, seconds.
    pub cache_ttl_s: u64,
}

impl Default for PromiseConfig {
    fn default() -> Self {
        let d = allot_engine::promise::PromiseCacheConfig::default();
        PromiseConfig {
            cache_entries: d.entries,
            cache_ttl_s: d.ttl.as_secs(),
        }
    }
}

/// The decision log (docs/decisions.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DecisionsConfig {
    /// Directory of `decisions.redb`; relative paths are relative to the
    /// working directory.
    pub dir: PathBuf,
    /// Records and events waiting for the writer; beyond, the deciding RPC
    /// answers RESOURCE_EXHAUSTED (nothing is dropped silently).
    pub queue_capacity: usize,
    /// Most entries committed in one write transaction.
    pub max_batch: usize,
    /// `immediate`: every batch is fsynced before the next; `eventual`: no
    /// fsync wait (a machine crash can lose the last batches).
    pub durability: allot_engine::decisions::Durability,
    /// Group commit: least time between two commits, ms. Under load what
    /// arrives within it shares one transaction and one fsync; after a quiet
    /// spell an entry is committed at once. 0: no gathering.
    pub commit_interval_ms: u64,
    /// Records and events older than this many days are pruned (hourly).
    pub retention_days: u32,
    /// Live events a watcher may fall behind before its stream ends with
    /// RESOURCE_EXHAUSTED.
    pub watch_buffer: usize,
}

impl Default for DecisionsConfig {
    fn default() -> Self {
        DecisionsConfig {
            dir: PathBuf::from("var/decisions"),
            queue_capacity: 16_384,
            max_batch: 1_024,
            durability: allot_engine::decisions::Durability::Immediate,
            commit_interval_ms: 20,
            retention_days: 30,
            watch_buffer: 4_096,
        }
    }
}
