//! Scale-out at start (docs/scale-out.md): with `state.ledger` set, the
//! bus is connected and the shared ledger opened before the replica
//! serves; the health of both is reported as the health services
//! `allot.ledger` and `allot.bus`.

use std::sync::Arc;
use std::time::Duration;

use allot_service::config::StateConfig;
use allot_service::engine::Engine;
use allot_shared::{BusPort, Shared, SharedError};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::serve::AbortOnDrop;

/// The health service name of the shared ledger.
pub const LEDGER_HEALTH: &str = "allot.ledger";
/// The health service name of the bus.
pub const BUS_HEALTH: &str = "allot.bus";

/// The shared state, when `state.ledger` is set: the bus connected (when
/// `state.bus` is), the ledger migrated, seeded and caught up.
pub async fn open(
    config: &StateConfig,
    engine: &Arc<Engine>,
) -> Result<Option<Shared>, SharedError> {
    if config.ledger.is_none() {
        return Ok(None);
    }
    let bus: Option<Arc<dyn BusPort>> = match &config.bus {
        Some(url) => Some(connect_bus(url).await),
        None => None,
    };
    Shared::open(config, engine, bus).await.map(Some)
}

/// The bus at `url`, retrying every second until it answers (the replica
/// is not serving meanwhile).
async fn connect_bus(url: &str) -> Arc<dyn BusPort> {
    loop {
        match allot_shared::connect_bus(url).await {
            Ok(bus) => return bus,
            Err(error) => {
                tracing::warn!(%error, "the event bus is not ready: retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Reports the ledger's and the bus's health every second until the
/// returned guard is dropped.
pub fn report_health(shared: &Shared, reporter: HealthReporter) -> AbortOnDrop {
    let health = shared.health();
    AbortOnDrop(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            reporter
                .set_service_status(LEDGER_HEALTH, status(health.ledger_up()))
                .await;
            if let Some(bus) = health.bus_up() {
                reporter.set_service_status(BUS_HEALTH, status(bus)).await;
            }
        }
    }))
}

fn status(up: bool) -> ServingStatus {
    if up {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    }
}
