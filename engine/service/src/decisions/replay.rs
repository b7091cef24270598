//! Re-running a recorded decision against the state it recorded (the stock
//! it read, the capacities, the features, the time) with the models loaded
//! now. The adapter reads the record's format into these inputs and compares
//! the answers.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use allot_engine::allocation::allocate::Allocator;
use allot_engine::allocation::protection::{PricedStock, RecordedPrices};
use allot_engine::allocation::request::OrderRequest;
use allot_engine::network::{NodeId, SkuId};
use allot_engine::promise::{PromiseCacheConfig, PromiseOutcome, PromiseRequest, Promiser};
use allot_engine::reservation::ReservationBook;
use allot_engine::stock::{StockLevel, StockStore};
use allot_engine::transit::TransitPredictor;
use allot_models::features::FraudFeatures;
use allot_models::risk::{RiskAssessment, RuleHit};

use crate::allocate::{Decided, FraudInput, Mode, decide};
use crate::engine::Engine;
use crate::error::ServiceError;

/// Time a replayed solve may take: enough to prove what the original
/// proved.
pub const REPLAY_BUDGET: Duration = Duration::from_secs(5);

/// What a record read, over the served network.
#[derive(Debug, Clone, Default)]
pub struct RecordedState {
    /// The instant it decided at.
    pub decided_at: Option<SystemTime>,
    /// The stock rows it read.
    pub stock: Vec<(NodeId, SkuId, StockLevel)>,
    /// Remaining capacity per node id (0 for a node not recorded).
    pub capacity: Vec<u32>,
    /// The protected stock it priced from the demand forecast.
    pub protection: Vec<PricedStock>,
}

/// What a record says it was made with.
pub struct RecordedWith<'a> {
    /// The decision's id (for messages).
    pub id: &'a str,
    /// The network's hash; empty when not recorded.
    pub network_hash: &'a str,
    /// The models used, by name, version and file hash (empty when not
    /// recorded).
    pub models: Vec<(&'a str, &'a str, &'a str)>,
    /// The configuration's hash; empty when not recorded.
    pub config_hash: &'a str,
}

/// Re-runs recorded decisions.
pub struct Replayer {
    engine: Arc<Engine>,
}

fn failed(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::internal(format!("replay task failed: {e}"))
}

impl Replayer {
    /// Over the served `engine`.
    pub fn new(engine: Arc<Engine>) -> Self {
        Replayer { engine }
    }

    /// FAILED_PRECONDITION unless the record's network, models (by version
    /// and file hash) and configuration (by hash) are the ones served now
    /// (the message names both sides).
    pub fn check_versions(&self, with: &RecordedWith<'_>) -> Result<(), ServiceError> {
        let id = with.id;
        let served = &self.engine.network_hash;
        if !with.network_hash.is_empty() && with.network_hash != served {
            return Err(ServiceError::precondition(format!(
                "decision_id: decision {id} was made on network {} but this server serves network {served}; \
                 replay it where that network is served",
                with.network_hash
            )));
        }
        let loaded = self.engine.live_models();
        for (name, version, sha256) in &with.models {
            let Some(live) = loaded.iter().find(|m| m.name == *name) else {
                return Err(ServiceError::precondition(format!(
                    "decision_id: decision {id} used model {name} version {version}, which is not loaded; \
                     replay it where that model is loaded"
                )));
            };
            if live.version != *version {
                return Err(ServiceError::precondition(format!(
                    "decision_id: decision {id} used model {name} version {version} but version {} is loaded; \
                     replay it where that version is loaded",
                    live.version
                )));
            }
            if !sha256.is_empty() && live.sha256 != *sha256 {
                return Err(ServiceError::precondition(format!(
                    "decision_id: decision {id} used model {name} version {version} from a file with \
                     sha256 {sha256}, but the loaded file of that version has sha256 {}; \
                     replay it where that file is loaded",
                    live.sha256
                )));
            }
        }
        let config = &self.engine.config_hash;
        if !with.config_hash.is_empty() && with.config_hash != config {
            return Err(ServiceError::precondition(format!(
                "decision_id: decision {id} was made under configuration {} but this server runs \
                 configuration {config}; replay it where that configuration is served",
                with.config_hash
            )));
        }
        Ok(())
    }

    /// The hex SHA-256 of the configuration served now.
    pub fn config_hash(&self) -> &str {
        &self.engine.config_hash
    }

    /// The ETA model, when the record used the one loaded now.
    fn transit(&self, with: &RecordedWith<'_>) -> Option<Arc<dyn TransitPredictor>> {
        self.engine
            .transit
            .as_ref()
            .filter(|t| {
                let model = t.model();
                with.models.iter().any(|(name, _, _)| *name == model.name)
            })
            .cloned()
    }

    /// A stock store holding exactly the recorded rows (every other level
    /// zero), as of `at`.
    fn rebuild_stock(
        &self,
        with: &RecordedWith<'_>,
        rows: Vec<(NodeId, SkuId, StockLevel)>,
        at: SystemTime,
    ) -> Result<StockStore, ServiceError> {
        let network = &self.engine.network;
        let store = StockStore::new(network.clone());
        let mut per_node: Vec<Vec<_>> = vec![Vec::new(); network.node_count()];
        for (node, sku, level) in rows {
            if let Some(rows) = per_node.get_mut(node.0 as usize) {
                rows.push((sku, level));
            }
        }
        for (n, rows) in per_node.into_iter().enumerate() {
            if !rows.is_empty() {
                store
                    .replace_node(NodeId(n as u32), rows, 0, at)
                    .map_err(|e| {
                        ServiceError::precondition(format!(
                            "decision_id: decision {}: recorded stock: {e}",
                            with.id
                        ))
                    })?;
            }
        }
        Ok(store)
    }

    fn decided_at(
        with: &RecordedWith<'_>,
        state: &RecordedState,
    ) -> Result<SystemTime, ServiceError> {
        state.decided_at.ok_or_else(|| {
            ServiceError::precondition(format!(
                "decision_id: decision {}: no recorded decision time",
                with.id
            ))
        })
    }

    /// Re-runs an Allocate decision: the recorded state, the recorded time
    /// as now, the fraud score from the recorded features, no reservation.
    pub async fn allocation(
        &self,
        with: &RecordedWith<'_>,
        order: OrderRequest,
        fraud: Option<(FraudFeatures, Vec<RuleHit>)>,
        state: RecordedState,
    ) -> Result<Decided, ServiceError> {
        self.check_versions(with)?;
        let decided_at = Self::decided_at(with, &state)?;
        let store = self.rebuild_stock(with, state.stock, decided_at)?;
        let allocator = Allocator::new(
            Arc::new(ReservationBook::new(Arc::new(store))),
            *self.engine.allocator.params(),
        )
        .with_transit(self.transit(with))
        .with_protection(Some(Arc::new(RecordedPrices::new(state.protection))));
        let fraud = match fraud {
            Some((features, hits)) => FraudInput::Recorded {
                features: Box::new(features),
                hits,
            },
            None => FraudInput::None,
        };
        let risk = self.engine.risk.clone();
        let capacity = state.capacity;
        tokio::task::spawn_blocking(move || {
            decide(
                &allocator,
                &risk,
                &order,
                fraud,
                Mode::Replay {
                    capacity: &capacity,
                },
                Instant::now() + REPLAY_BUDGET,
                decided_at,
            )
        })
        .await
        .map_err(failed)?
    }

    /// Re-scores a ScoreOrder decision from its recorded features and rule
    /// outcomes.
    pub async fn score(
        &self,
        with: &RecordedWith<'_>,
        features: FraudFeatures,
        hits: Vec<RuleHit>,
    ) -> Result<RiskAssessment, ServiceError> {
        self.check_versions(with)?;
        let risk = self.engine.risk.clone();
        tokio::task::spawn_blocking(move || risk.assess_recorded(features, hits))
            .await
            .map_err(failed)?
            .map_err(|e| ServiceError::internal(format!("fraud scoring failed: {e}")))
    }

    /// Re-quotes a promise at its recorded order time over the recorded
    /// state, with no promise cache.
    pub async fn promise(
        &self,
        with: &RecordedWith<'_>,
        promise: PromiseRequest,
        state: RecordedState,
    ) -> Result<(PromiseRequest, PromiseOutcome), ServiceError> {
        self.check_versions(with)?;
        let decided_at = Self::decided_at(with, &state)?;
        let store = self.rebuild_stock(with, state.stock, decided_at)?;
        let promiser = Promiser::new(
            Arc::new(ReservationBook::new(Arc::new(store))),
            *self.engine.allocator.params(),
            self.transit(with),
            PromiseCacheConfig {
                entries: 0,
                ..PromiseCacheConfig::default()
            },
        )
        .with_protection(Some(Arc::new(RecordedPrices::new(state.protection))));
        let capacity = state.capacity;
        let (promise, outcome) = tokio::task::spawn_blocking(move || {
            let outcome =
                promiser.promise_with_capacity(&promise, capacity, Instant::now() + REPLAY_BUDGET);
            (promise, outcome)
        })
        .await
        .map_err(failed)?;
        Ok((promise, outcome.map_err(ServiceError::domain)?))
    }
}
