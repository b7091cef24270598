//! What runs beside the calls on every replica: the outbox relay, the bus
//! followers, the ledger poll that catches what the bus missed, and the
//! health check of the ledger and the bus.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use allot_service::sink::DecisionSink;
use futures::StreamExt;

use crate::ledger::{Ledger, capacity_changed, stock_changed};
use crate::messages::{CapacityChanged, FeedEvent, StockChanged};
use crate::port::BusPort;

/// Changes in flight when the poll reads: a transaction that took its
/// change position before a later one may commit after it, so each poll
/// reads this far behind the highest position it saw.
const POLL_WINDOW: i64 = 4096;

/// Most outbox rows one relay round publishes.
const RELAY_BATCH: i64 = 500;

/// Published outbox rows are kept this long (to look at), then deleted.
const OUTBOX_RETENTION_S: f64 = 3600.0;

/// Reads the ledger's recent stock and capacity changes every `every` and
/// mirrors them: the snapshot converges even when the bus is down.
pub(crate) async fn poll(ledger: Arc<Ledger>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(error) = ledger.within(poll_once(&ledger)).await {
            tracing::debug!(%error, "ledger poll failed");
        }
    }
}

pub(crate) async fn poll_once(ledger: &Ledger) -> Result<(), allot_service::ServiceError> {
    let from = ledger.mirror.position().saturating_sub(POLL_WINDOW);
    let client = ledger.client().await?;
    let rows = client
        .query(
            "SELECT node, sku, on_hand, feed_reserved + held, protected, version, change FROM allot_stock WHERE change > $1",
            &[&from],
        )
        .await
        .map_err(crate::error::unavailable)?;
    for row in &rows {
        ledger.mirror.stock(&stock_changed(row));
    }
    let days = client
        .query(
            "SELECT node, day, used, change FROM allot_capacity WHERE change > $1",
            &[&from],
        )
        .await
        .map_err(crate::error::unavailable)?;
    for row in &days {
        if let Some(change) = capacity_changed(row) {
            ledger.mirror.capacity(&change);
        }
    }
    // Feed positions a node's feed reached on another replica.
    let stock = ledger.book.stock();
    for row in client
        .query(
            "SELECT node, sequence FROM allot_feed WHERE change > $1",
            &[&from],
        )
        .await
        .map_err(crate::error::unavailable)?
    {
        let node: String = row.get(0);
        let sequence: i64 = row.get(1);
        if let Some(id) = stock.network().node_id(&node) {
            stock.mirror_sequence(id, u64::try_from(sequence).unwrap_or(0));
        }
    }
    metrics::gauge!("allot_ledger_position").set(ledger.mirror.position() as f64);
    Ok(())
}

/// Publishes the outbox on the bus, oldest first, whenever a change wakes
/// it (and every 200 ms, for changes other replicas made and did not get
/// to publish); each row under its id, so a row published twice (a relay
/// that died between publishing and marking) is stored once.
pub(crate) async fn relay(ledger: Arc<Ledger>, bus: Arc<dyn BusPort>) {
    loop {
        let _ = tokio::time::timeout(Duration::from_millis(200), ledger.relay.notified()).await;
        loop {
            match ledger.within(relay_once(&ledger, &*bus)).await {
                Ok(n) if n as i64 == RELAY_BATCH => continue,
                Ok(_) => break,
                Err(error) => {
                    tracing::debug!(%error, "outbox relay round failed");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    break;
                }
            }
        }
    }
}

/// Forgets, once a minute, what the ledger no longer needs: published
/// outbox rows after an hour, idempotency keys after their day
/// (`KEY_TTL`, as a single process forgets them), and finished
/// reservations a day after they ended. Any replica may run it.
pub(crate) async fn prune(ledger: Arc<Ledger>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let day = allot_service::idempotency::KEY_TTL.as_secs_f64();
    loop {
        tick.tick().await;
        let pruned = ledger
            .within(async {
                let client = ledger.client().await?;
                let outbox = client
                    .execute(
                        "DELETE FROM allot_outbox WHERE published_at < now() - make_interval(secs => $1)",
                        &[&OUTBOX_RETENTION_S],
                    )
                    .await;
                let keys = client
                    .execute(
                        "DELETE FROM allot_keys WHERE at < now() - make_interval(secs => $1)",
                        &[&day],
                    )
                    .await;
                let reservations = client
                    .execute(
                        "DELETE FROM allot_reservations WHERE state <> 'held' AND updated_at < now() - make_interval(secs => $1)",
                        &[&day],
                    )
                    .await;
                for result in [outbox, keys, reservations] {
                    result.map_err(crate::error::unavailable)?;
                }
                Ok(())
            })
            .await;
        if let Err(error) = pruned {
            tracing::debug!(%error, "ledger pruning failed");
        }
    }
}

async fn relay_once(
    ledger: &Ledger,
    bus: &dyn BusPort,
) -> Result<usize, allot_service::ServiceError> {
    let unavailable = crate::error::unavailable;
    let mut client = ledger.client().await?;
    let tx = client.transaction().await.map_err(unavailable)?;
    let rows = tx
        .query(
            "SELECT id, subject, payload FROM allot_outbox WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
            &[&RELAY_BATCH],
        )
        .await
        .map_err(unavailable)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let messages: Vec<(i64, String, String, Vec<u8>)> = rows
        .iter()
        .map(|r| {
            let id: i64 = r.get(0);
            (id, format!("outbox-{id}"), r.get(1), r.get(2))
        })
        .collect();
    let published = futures::future::join_all(
        messages
            .iter()
            .map(|(_, msg_id, subject, payload)| bus.publish(subject, msg_id, payload.clone())),
    )
    .await;
    let ids: Vec<i64> = messages
        .iter()
        .zip(&published)
        .filter(|(_, p)| p.is_ok())
        .map(|(m, _)| m.0)
        .collect();
    if let Some(Err(error)) = published.iter().find(|p| p.is_err()) {
        tracing::debug!(%error, "outbox rows not published: they stay for the next round");
    }
    tx.execute(
        "UPDATE allot_outbox SET published_at = now() WHERE id = ANY($1)",
        &[&ids],
    )
    .await
    .map_err(unavailable)?;
    tx.commit().await.map_err(unavailable)?;
    metrics::counter!("allot_outbox_published_total").increment(ids.len() as u64);
    Ok(rows.len())
}

/// Applies the stock and capacity changes followed on the bus, as they
/// come (the newest version of each row wins).
pub(crate) async fn follow_stock(
    ledger: Arc<Ledger>,
    mut messages: futures::stream::BoxStream<'static, crate::port::Followed>,
) {
    while let Some((subject, payload)) = messages.next().await {
        if subject.ends_with("stock.changed") {
            if let Ok(change) = serde_json::from_slice::<StockChanged>(&payload) {
                ledger.mirror.stock(&change);
            }
        } else if subject.ends_with("capacity.changed")
            && let Ok(change) = serde_json::from_slice::<CapacityChanged>(&payload)
        {
            ledger.mirror.capacity(&change);
        }
    }
}

/// Logs the decision-feed events followed on the bus in this replica's
/// feed, so `WatchDecisions` on any replica sees every replica's commits.
pub(crate) async fn follow_events(
    sink: Arc<dyn DecisionSink>,
    mut messages: futures::stream::BoxStream<'static, crate::port::Followed>,
) {
    while let Some((_, payload)) = messages.next().await {
        let Ok(event) = serde_json::from_slice::<FeedEvent>(&payload) else {
            continue;
        };
        if let Some(new) = event.to_new()
            && let Err(error) = sink.event(new)
        {
            tracing::warn!(%error, "an event from the bus was not logged");
        }
    }
}

/// Checks the ledger (and the bus) every second; `up` and the gauges
/// `allot_ledger_up` / `allot_bus_up` follow.
pub(crate) async fn watch_health(
    ledger: Arc<Ledger>,
    bus: Option<Arc<dyn BusPort>>,
    up: Arc<AtomicBool>,
    bus_up: Arc<AtomicBool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let ok = ledger
            .within(async {
                let client = ledger.client().await?;
                client
                    .simple_query("SELECT 1")
                    .await
                    .map_err(crate::error::unavailable)
            })
            .await
            .is_ok();
        if up.swap(ok, Ordering::AcqRel) != ok {
            if ok {
                tracing::info!("the shared ledger answers again: commits resume");
            } else {
                tracing::warn!(
                    "the shared ledger does not answer: commits fail with UNAVAILABLE, quotes answer from the snapshot"
                );
            }
        }
        metrics::gauge!("allot_ledger_up").set(if ok { 1.0 } else { 0.0 });
        if let Some(bus) = &bus {
            let ok = bus.is_connected();
            bus_up.store(ok, Ordering::Release);
            metrics::gauge!("allot_bus_up").set(if ok { 1.0 } else { 0.0 });
        }
    }
}
