//! Every use case over one loaded engine, and the readiness cell the
//! adapters consult before the engine has loaded.

use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use allot_engine::network::Network;
use tokio::sync::watch as signal;

use crate::allocate::{Allocation, EncodedKeys, SharedKeys};
use crate::clock::{Clock, SystemClock};
use crate::config::ServiceConfig;
use crate::decisions::{Decisions, Replayer};
use crate::demand::Forecasting;
use crate::demand::transfers::Rebalancing;
use crate::engine::Engine;
use crate::error::ServiceError;
use crate::fraud_returns::Returns;
use crate::idempotency::{KeyLedger, MemoryKeys};
use crate::models::Models;
use crate::pool::SolverPool;
use crate::promise::Promising;
use crate::reoptimize::Reoptimizing;
use crate::reservations::{ReservationLedger, Reservations};
use crate::route_return::ReturnRouting;
use crate::score::Scoring;
use crate::state::SharedLedger;
use crate::stock::{Stock, StockJournal};
use crate::wire::Wire;
use crate::workload::Workload;

/// The use cases of one served engine.
pub struct Services<W: Wire> {
    /// The loaded engine.
    pub engine: Arc<Engine>,
    /// Allocate and EvaluatePlan.
    pub allocation: Allocation<W>,
    /// Delivery promises.
    pub promise: Promising<W>,
    /// Fraud scoring.
    pub score: Scoring<W>,
    /// Returned orders reported to the fraud feature store.
    pub returns: Returns<W>,
    /// Returns routed to a node and a disposition.
    pub route_return: ReturnRouting<W>,
    /// Confirm, release and expire reservations.
    pub reservations: Arc<Reservations>,
    /// Stock writes and reads.
    pub stock: Stock,
    /// Explain and watch recorded decisions.
    pub decisions: Decisions,
    /// Replay recorded decisions.
    pub replay: Replayer,
    /// Re-plan held orders together.
    pub reoptimize: Reoptimizing<W>,
    /// The models served.
    pub models: Models,
    /// Demand forecasts.
    pub demand: Forecasting,
    /// Transfer plans.
    pub transfers: Rebalancing,
    /// Workload forecasts per node and day.
    pub workload: Workload,
    clock: Arc<dyn Clock>,
}

impl<W: Wire> Services<W> {
    /// Every use case over `engine` with its state (`shared` with other
    /// replicas, else durable, or in memory with `state.store = "memory"`;
    /// the decision log on disk), answering through `wire`, deciding on
    /// `pool`; watches end when `stop` turns true.
    pub fn new(
        engine: Arc<Engine>,
        wire: Arc<W>,
        pool: SolverPool,
        config: &ServiceConfig,
        stop: signal::Receiver<bool>,
        watch_stall: std::time::Duration,
        shared: Option<SharedState>,
    ) -> Self {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        type Keys<W> = Arc<dyn KeyLedger<<W as Wire>::AllocateResponse>>;
        let (ledger, journal, keys): (Arc<dyn ReservationLedger>, Arc<dyn StockJournal>, Keys<W>) =
            match (&shared, &engine.durable) {
                (Some(shared), _) => (
                    shared.reservations.clone(),
                    shared.stock.clone(),
                    Arc::new(SharedKeys::new(shared.commits.clone(), wire.clone())),
                ),
                (None, Some(durable)) => (
                    durable.clone(),
                    durable.clone(),
                    Arc::new(EncodedKeys::new(durable.clone(), wire.clone())),
                ),
                (None, None) => (
                    engine.allocator.book().clone(),
                    engine.stock.clone(),
                    Arc::new(MemoryKeys::new(config.allocation.idempotency_keys)),
                ),
            };
        Services {
            allocation: Allocation::new(
                engine.clone(),
                clock.clone(),
                wire.clone(),
                pool.clone(),
                config,
                keys,
                shared.as_ref().map(|s| s.commits.clone()),
            ),
            promise: Promising::new(engine.clone(), wire.clone(), pool.clone()),
            score: Scoring::new(engine.clone(), clock.clone(), wire.clone(), pool.clone()),
            returns: Returns::new(engine.clone(), clock.clone(), wire.clone()),
            route_return: ReturnRouting::new(
                engine.clone(),
                clock.clone(),
                wire.clone(),
                pool.clone(),
                config.returns.economics().unwrap_or_default(),
            ),
            reoptimize: Reoptimizing::new(
                engine.clone(),
                ledger.clone(),
                Decisions::new(
                    engine.decisions.clone(),
                    stop.clone(),
                    watch_stall,
                    shared.as_ref().map(|s| s.commits.clone()),
                ),
                wire.clone(),
                pool.clone(),
                clock.clone(),
            ),
            reservations: Arc::new(Reservations::new(
                ledger.clone(),
                engine.decisions.clone(),
                clock.clone(),
                engine.privacy.clone(),
            )),
            stock: Stock::new(engine.stock.clone(), journal, clock.clone()),
            decisions: Decisions::new(
                engine.decisions.clone(),
                stop,
                watch_stall,
                shared.as_ref().map(|s| s.commits.clone()),
            ),
            replay: Replayer::new(engine.clone()),
            models: Models::new(engine.clone(), config.models.clone()),
            demand: Forecasting::new(engine.clone(), clock.clone(), pool.clone()),
            transfers: Rebalancing::new(engine.clone(), clock.clone(), pool.clone()),
            workload: Workload::new(engine.clone(), ledger, clock.clone(), pool.clone()),
            engine,
            clock,
        }
    }

    /// The network served.
    pub fn network(&self) -> &Arc<Network> {
        &self.engine.network
    }

    /// Now, by the services' clock.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }
}

/// The state shared with other replicas (docs/scale-out.md): commits,
/// reservations and stock writes go through it.
#[derive(Clone)]
pub struct SharedState {
    /// Committing Allocates and their keys.
    pub commits: Arc<dyn SharedLedger>,
    /// Reservation reads and changes.
    pub reservations: Arc<dyn ReservationLedger>,
    /// Stock writes.
    pub stock: Arc<dyn StockJournal>,
}

/// Set once the engine has loaded; use cases answer UNAVAILABLE before.
pub struct Ready<W: Wire>(Arc<OnceLock<Arc<Services<W>>>>);

impl<W: Wire> Clone for Ready<W> {
    fn clone(&self) -> Self {
        Ready(self.0.clone())
    }
}

impl<W: Wire> Default for Ready<W> {
    fn default() -> Self {
        Ready(Arc::new(OnceLock::new()))
    }
}

impl<W: Wire> Ready<W> {
    /// The services, or UNAVAILABLE while the engine is still loading.
    pub fn get(&self) -> Result<&Arc<Services<W>>, ServiceError> {
        self.0.get().ok_or_else(ServiceError::loading)
    }

    /// Publishes the loaded services (first call wins).
    pub fn set(&self, services: Arc<Services<W>>) {
        let _ = self.0.set(services);
    }
}
