//! The state allot replicas share (docs/scale-out.md): the reservation
//! ledger in PostgreSQL ([`Ledger`]: stock of record, holds, capacity use,
//! idempotency keys and decisions, an outbox of events) and the mirror of
//! it in each replica's in-memory snapshot, kept current by the bus
//! ([`BusPort`], NATS JetStream in `allot-bus`) and by polling the ledger.
//!
//! [`Shared::open`] migrates and seeds the ledger, catches this replica's
//! snapshot up and starts the relay, followers, poll and health check; its
//! [`Shared::state`] is what the service layer commits through.

mod body;
mod catch_up;
mod error;
mod ledger;
pub mod messages;
mod mirror;
mod nats;
mod port;
mod replan;
mod reservations;
mod schema;
mod stock;
mod tasks;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use allot_service::SharedState;
use allot_service::config::StateConfig;
use allot_service::engine::Engine;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use catch_up::CaughtUp;
pub use error::SharedError;
pub use ledger::Ledger;
pub use mirror::Mirror;
pub use nats::connect_bus;
pub use port::{BusPort, Followed};
pub use stock::SharedStock;

/// Whether the ledger and the bus answer (checked every second).
#[derive(Clone)]
pub struct SharedHealth {
    ledger_up: Arc<AtomicBool>,
    bus_up: Option<Arc<AtomicBool>>,
}

impl SharedHealth {
    /// Whether the ledger answered its last health check.
    pub fn ledger_up(&self) -> bool {
        self.ledger_up.load(Ordering::Acquire)
    }

    /// Whether the bus is connected (`None` without a bus).
    pub fn bus_up(&self) -> Option<bool> {
        self.bus_up.as_ref().map(|b| b.load(Ordering::Acquire))
    }
}

/// The shared state of one replica, with its background tasks (stopped
/// when it is dropped).
pub struct Shared {
    ledger: Arc<Ledger>,
    state: SharedState,
    ledger_up: Arc<AtomicBool>,
    bus_up: Arc<AtomicBool>,
    has_bus: bool,
    caught_up: CaughtUp,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The ledger URL without its password, for logs.
pub fn redacted(url: &str) -> String {
    match tokio_postgres::Config::from_str(url) {
        Ok(config) => format!(
            "postgres://{}@{}/{}",
            config.get_user().unwrap_or(""),
            config
                .get_hosts()
                .iter()
                .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
                .map(|(h, p)| match h {
                    tokio_postgres::config::Host::Tcp(h) => format!("{h}:{p}"),
                    tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            config.get_dbname().unwrap_or("")
        ),
        Err(_) => "(unparsable URL)".to_string(),
    }
}

impl Shared {
    /// Opens the shared ledger of `config.ledger` for `engine`, retrying
    /// every second until the database answers (the replica is not serving
    /// meanwhile), and follows `bus` when there is one. Call it once the
    /// engine has loaded (its startup stock seeds an empty ledger).
    pub async fn open(
        config: &StateConfig,
        engine: &Arc<Engine>,
        bus: Option<Arc<dyn BusPort>>,
    ) -> Result<Shared, SharedError> {
        let url = config
            .ledger
            .as_deref()
            .ok_or_else(|| SharedError::Url("state.ledger is not set".into()))?;
        let pg =
            tokio_postgres::Config::from_str(url).map_err(|e| SharedError::Url(e.to_string()))?;
        let timeout = Duration::from_millis(config.ledger_timeout_ms.max(1));
        let change_timeout = Duration::from_millis(config.ledger_change_timeout_ms.max(1));
        let manager = Manager::from_config(
            pg,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.ledger_connections.max(1))
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| SharedError::Pool(e.to_string()))?;
        let book = engine.allocator.book().clone();
        let ledger = Arc::new(Ledger {
            pool,
            network: engine.network.clone(),
            mirror: Arc::new(Mirror::new(book.clone())),
            book,
            relay: Arc::new(Notify::new()),
            connect_timeout: timeout,
            timeout: change_timeout,
            outbox: bus.is_some(),
        });
        let where_ = redacted(url);
        loop {
            match Self::prepare(&ledger, engine).await {
                Ok(()) => break,
                Err(
                    error @ (SharedError::OtherNetwork { .. } | SharedError::SchemaTooNew { .. }),
                ) => {
                    return Err(error);
                }
                Err(error) => {
                    tracing::warn!(ledger = %where_, %error, "the shared ledger is not ready: retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        let mut tasks = Vec::new();
        // Follow the bus before reading the ledger: a change made while
        // catching up arrives one way or the other.
        if let Some(bus) = &bus {
            let stock = bus.follow("stock.>").await.map_err(SharedError::Bus)?;
            let capacity = bus.follow("capacity.>").await.map_err(SharedError::Bus)?;
            let events = bus.follow("events.>").await.map_err(SharedError::Bus)?;
            tasks.push(tokio::spawn(tasks::follow_stock(ledger.clone(), stock)));
            tasks.push(tokio::spawn(tasks::follow_stock(ledger.clone(), capacity)));
            tasks.push(tokio::spawn(tasks::follow_events(
                engine.decisions.clone(),
                events,
            )));
            tasks.push(tokio::spawn(tasks::relay(ledger.clone(), bus.clone())));
        }
        let caught_up = catch_up::load(&ledger).await?;
        tracing::info!(
            ledger = %where_,
            rows = caught_up.rows,
            node_days = caught_up.days,
            position = caught_up.position,
            bus = bus.is_some(),
            "caught up with the shared ledger"
        );
        let ledger_up = Arc::new(AtomicBool::new(true));
        let bus_up = Arc::new(AtomicBool::new(bus.is_some()));
        tasks.push(tokio::spawn(tasks::poll(
            ledger.clone(),
            Duration::from_millis(config.ledger_poll_ms.max(10)),
        )));
        tasks.push(tokio::spawn(tasks::prune(ledger.clone())));
        tasks.push(tokio::spawn(tasks::watch_health(
            ledger.clone(),
            bus.clone(),
            ledger_up.clone(),
            bus_up.clone(),
        )));
        let state = SharedState {
            commits: ledger.clone(),
            reservations: ledger.clone(),
            stock: Arc::new(SharedStock::new(ledger.clone(), ledger_up.clone())),
        };
        Ok(Shared {
            ledger,
            state,
            ledger_up,
            bus_up,
            has_bus: bus.is_some(),
            caught_up,
            tasks,
        })
    }

    async fn prepare(ledger: &Arc<Ledger>, engine: &Engine) -> Result<(), SharedError> {
        let mut client = ledger.pool.get().await?;
        catch_up::prepare(&mut client, ledger.book.stock(), &engine.network_hash).await?;
        Ok(())
    }

    /// What the service layer commits, reserves and writes stock through.
    pub fn state(&self) -> SharedState {
        self.state.clone()
    }

    /// The ledger.
    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    /// The health of the ledger and the bus, to watch from elsewhere.
    pub fn health(&self) -> SharedHealth {
        SharedHealth {
            ledger_up: self.ledger_up.clone(),
            bus_up: self.has_bus.then(|| self.bus_up.clone()),
        }
    }

    /// What catching up at start read.
    pub fn caught_up(&self) -> CaughtUp {
        self.caught_up
    }
}
