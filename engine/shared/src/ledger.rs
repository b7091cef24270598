//! [`Ledger`]: the reservation ledger in PostgreSQL. Every change is one
//! transaction: guarded updates of the stock and capacity rows it touches
//! (in (node, SKU) and (node, day) order, so concurrent transactions never
//! deadlock), the reservation, the key and the decision, and outbox rows
//! with its events and the rows' new levels. The relay publishes the outbox
//! on the bus; the replica that made the change mirrors the new levels at
//! once.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use allot_engine::network::Network;
use allot_engine::reservation::{Reservation, ReservationBook};
use allot_service::ServiceError;
use allot_service::idempotency::Fingerprint;
use allot_service::state::{Committed, SharedCommit, SharedLedger, UsedKey};
use deadpool_postgres::{Object, Pool};
use futures::future::BoxFuture;
use tokio::sync::Notify;
use tokio_postgres::Transaction;

use crate::body::{Body, day_number, day_of, day_text};
use crate::error::unavailable;
use crate::messages::{CapacityChanged, Outgoing, StockChanged};
use crate::mirror::Mirror;

/// The columns a changed stock row returns.
pub(crate) const STOCK_RETURNING: &str =
    "RETURNING node, sku, on_hand, feed_reserved + held, protected, version, change";

/// The ledger shared by replicas, as one replica uses it.
pub struct Ledger {
    pub(crate) pool: Pool,
    pub(crate) network: Arc<Network>,
    pub(crate) book: Arc<ReservationBook>,
    pub(crate) mirror: Arc<Mirror>,
    /// Wakes the outbox relay after a change.
    pub(crate) relay: Arc<Notify>,
    /// The longest a change waits for a connection.
    pub(crate) connect_timeout: Duration,
    /// The longest a change may take.
    pub(crate) timeout: Duration,
    /// Whether changes write outbox rows (there is a bus to relay them).
    pub(crate) outbox: bool,
}

/// A stock row as a `StockChanged` (from [`STOCK_RETURNING`]'s columns).
pub(crate) fn stock_changed(row: &tokio_postgres::Row) -> StockChanged {
    StockChanged {
        node: row.get(0),
        sku: row.get(1),
        on_hand: row.get(2),
        reserved: row.get(3),
        protected: row.get(4),
        version: row.get(5),
        change: row.get(6),
    }
}

/// What one transaction changed: to write to the outbox and mirror here.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    pub(crate) stock: Vec<StockChanged>,
    pub(crate) capacity: Vec<CapacityChanged>,
    pub(crate) outgoing: Vec<Outgoing>,
}

impl Changes {
    /// Writes the outbox rows: every event, and every changed row.
    pub(crate) async fn write_outbox(
        &mut self,
        tx: &Transaction<'_>,
        outbox: bool,
    ) -> Result<(), ServiceError> {
        if !outbox {
            return Ok(());
        }
        for change in &self.stock {
            self.outgoing.push(Outgoing::stock(change));
        }
        for change in &self.capacity {
            self.outgoing.push(Outgoing::capacity(change));
        }
        if self.outgoing.is_empty() {
            return Ok(());
        }
        let subjects: Vec<&str> = self.outgoing.iter().map(|o| o.subject.as_str()).collect();
        let payloads: Vec<&[u8]> = self.outgoing.iter().map(|o| o.payload.as_slice()).collect();
        tx.execute(
            "INSERT INTO allot_outbox (subject, payload) SELECT * FROM unnest($1::text[], $2::bytea[])",
            &[&subjects, &payloads],
        )
        .await
        .map_err(unavailable)?;
        Ok(())
    }
}

impl Ledger {
    /// A connection, within the timeout.
    pub(crate) async fn client(&self) -> Result<Object, ServiceError> {
        match tokio::time::timeout(self.connect_timeout, self.pool.get()).await {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(error)) => Err(unavailable(error)),
            Err(_) => Err(unavailable(format!(
                "no connection within {} ms (state.ledger_timeout_ms)",
                self.connect_timeout.as_millis()
            ))),
        }
    }

    /// Runs `change` within the timeout (its transaction rolls back when it
    /// is dropped unfinished).
    pub(crate) async fn within<T>(
        &self,
        change: impl std::future::Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, ServiceError> {
        match tokio::time::timeout(self.timeout, change).await {
            Ok(result) => result,
            Err(_) => Err(unavailable(format!(
                "no answer within {} ms (state.ledger_change_timeout_ms)",
                self.timeout.as_millis()
            ))),
        }
    }

    /// A reservation's units summed per (node, SKU) code, in the order
    /// every transaction locks the rows.
    pub(crate) fn units<'a>(&'a self, r: &Reservation) -> BTreeMap<(&'a str, &'a str), i64> {
        let mut units = BTreeMap::new();
        for u in &r.units {
            *units
                .entry((
                    self.network.node(u.node).code.as_str(),
                    self.network.sku(u.sku).code.as_str(),
                ))
                .or_insert(0) += i64::from(u.quantity);
        }
        units
    }

    /// Mirrors what a committed transaction changed and wakes the relay.
    pub(crate) fn committed(&self, changes: &Changes) {
        for change in &changes.stock {
            self.mirror.stock(change);
        }
        for change in &changes.capacity {
            self.mirror.capacity(change);
        }
        self.relay.notify_one();
    }

    /// Reads the rows and node-days of `r` back and mirrors them (after a
    /// lost race).
    async fn refresh(&self, r: &Reservation) -> Result<(), ServiceError> {
        let pairs: Vec<(String, String)> = r
            .units
            .iter()
            .map(|u| {
                (
                    self.network.node(u.node).code.clone(),
                    self.network.sku(u.sku).code.clone(),
                )
            })
            .collect();
        let client = self.client().await?;
        let nodes: Vec<&str> = pairs.iter().map(|p| p.0.as_str()).collect();
        let skus: Vec<&str> = pairs.iter().map(|p| p.1.as_str()).collect();
        let rows = client
            .query(
                "SELECT s.node, s.sku, s.on_hand, s.feed_reserved + s.held, s.protected, s.version, s.change \
                 FROM allot_stock s JOIN unnest($1::text[], $2::text[]) AS w(node, sku) \
                 ON s.node = w.node AND s.sku = w.sku",
                &[&nodes, &skus],
            )
            .await
            .map_err(unavailable)?;
        for row in &rows {
            self.mirror.stock(&stock_changed(row));
        }
        let nodes: Vec<&str> = r
            .capacity_days
            .iter()
            .map(|&(node, _, _)| self.network.node(node).code.as_str())
            .collect();
        let days: Vec<i32> = r
            .capacity_days
            .iter()
            .map(|&(_, day, _)| day_number(day))
            .collect();
        let rows = client
            .query(
                "SELECT c.node, c.day, c.used, c.change FROM allot_capacity c \
                 JOIN unnest($1::text[], $2::int[]) AS w(node, day) ON c.node = w.node AND c.day = w.day",
                &[&nodes, &days],
            )
            .await
            .map_err(unavailable)?;
        for row in &rows {
            if let Some(change) = capacity_changed(row) {
                self.mirror.capacity(&change);
            }
        }
        Ok(())
    }

    async fn commit_once(&self, c: &SharedCommit) -> Result<(Committed, Changes), ServiceError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(unavailable)?;
        // What no other commit touches, sent together in one round trip
        // (the key first: a concurrent commit of the same key waits on it);
        // the rows other commits contend for last, so their locks are held
        // for the shortest time: the guarded updates, the outbox, the commit.
        let fingerprint: &[u8] = &c.fingerprint;
        let key = async {
            tx.execute(
                "INSERT INTO allot_keys (key, fingerprint, response, at) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING",
                &[&c.key, &fingerprint, &c.response, &c.at],
            )
            .await
        };
        let body = c
            .reservation
            .as_ref()
            .map(|r| serde_json::to_value(Body::of(&self.network, r)).unwrap_or_default());
        let reservation = async {
            match (&c.reservation, &body) {
                (Some(r), Some(body)) => tx
                    .execute(
                        "INSERT INTO allot_reservations (id, order_id, decision_id, state, expires_at, updated_at, body) VALUES ($1, $2, $3, 'held', $4, $5, $6)",
                        &[&r.id, &r.order_id, &r.decision_id, &r.expires_at, &r.updated_at, body],
                    )
                    .await
                    .map(|_| ()),
                _ => Ok(()),
            }
        };
        let decision = async {
            tx.execute(
                "INSERT INTO allot_decisions (id, record, at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
                &[&c.decision_id, &c.record, &c.at],
            )
            .await
        };
        let (inserted, reservation, decision) = futures::join!(key, reservation, decision);
        if inserted.map_err(unavailable)? == 0 {
            // Rolled back when `tx` drops: nothing of this call stays.
            let row = tx
                .query_one(
                    "SELECT fingerprint, response FROM allot_keys WHERE key = $1",
                    &[&c.key],
                )
                .await
                .map_err(unavailable)?;
            let (fingerprint, response) = used_key(&row);
            return Ok((
                Committed::KeyUsed {
                    fingerprint,
                    response,
                },
                Changes::default(),
            ));
        }
        reservation.map_err(unavailable)?;
        decision.map_err(unavailable)?;
        let mut changes = Changes::default();
        if let Some(r) = &c.reservation
            && let Some(short) = self.hold(&tx, r, &mut changes).await?
        {
            drop(tx);
            return Ok((Committed::Lost { short }, Changes::default()));
        }
        if let Some(event) = c.event.as_ref().and_then(|e| Outgoing::event(e, c.at)) {
            changes.outgoing.push(event);
        }
        changes.write_outbox(&tx, self.outbox).await?;
        tx.commit().await.map_err(unavailable)?;
        Ok((Committed::Done, changes))
    }

    /// Takes the reservation's units and capacity, guarded; `Some(what was
    /// short)` when another replica took them first.
    async fn hold(
        &self,
        tx: &Transaction<'_>,
        r: &Reservation,
        changes: &mut Changes,
    ) -> Result<Option<String>, ServiceError> {
        let units = self.units(r);
        let stock_sql = format!(
            "UPDATE allot_stock SET held = held + $3, version = version + 1, change = nextval('allot_change') \
             WHERE node = $1 AND sku = $2 AND feed_reserved + held + $3 <= on_hand {STOCK_RETURNING}"
        );
        let mut days: Vec<_> = r
            .capacity_days
            .iter()
            .map(|&(node, day, used)| {
                (
                    self.network.node(node).code.as_str(),
                    day_number(day),
                    i64::from(used),
                    i64::from(self.network.node(node).daily_capacity_units),
                    day,
                )
            })
            .collect();
        days.sort();
        // One round trip: the statements run in the order sent (rows in
        // (node, SKU) order, then node-days: no two commits deadlock).
        let stock_sql = stock_sql.as_str();
        let stock =
            futures::future::join_all(units.iter().map(|((node, sku), quantity)| async move {
                tx.query_opt(stock_sql, &[node, sku, quantity]).await
            }));
        let capacity = futures::future::join_all(days.iter().map(|(code, number, used, limit, _)| async move {
            tx.query_opt(
                "INSERT INTO allot_capacity AS c (node, day, used, change) \
                 SELECT $1::text, $2::int, $3::bigint, nextval('allot_change') WHERE $3::bigint <= $4::bigint \
                 ON CONFLICT (node, day) DO UPDATE SET used = c.used + EXCLUDED.used, change = EXCLUDED.change \
                 WHERE c.used + EXCLUDED.used <= $4::bigint RETURNING used, change",
                &[code, number, used, limit],
            )
            .await
        }));
        let (stock, capacity) = futures::join!(stock, capacity);
        for (((node, sku), quantity), row) in units.iter().zip(stock) {
            match row.map_err(unavailable)? {
                Some(row) => changes.stock.push(stock_changed(&row)),
                None => return Ok(Some(format!("{quantity} of {sku} at {node}"))),
            }
        }
        for ((code, _, _, _, day), row) in days.iter().zip(capacity) {
            match row.map_err(unavailable)? {
                Some(row) => changes.capacity.push(CapacityChanged {
                    node: code.to_string(),
                    day: day_text(*day),
                    used: row.get(0),
                    change: row.get(1),
                }),
                None => return Ok(Some(format!("capacity of {code} on {}", day_text(*day)))),
            }
        }
        Ok(None)
    }
}

/// A key's row read back: (fingerprint, response).
fn used_key(row: &tokio_postgres::Row) -> UsedKey {
    let used: Vec<u8> = row.get(0);
    let mut fingerprint: Fingerprint = [0; 32];
    if used.len() == fingerprint.len() {
        fingerprint.copy_from_slice(&used);
    }
    (fingerprint, row.get(1))
}

/// A stock or capacity `(node, day)` row read back, for the mirror.
pub(crate) fn capacity_changed(row: &tokio_postgres::Row) -> Option<CapacityChanged> {
    let number: i32 = row.get(1);
    Some(CapacityChanged {
        node: row.get(0),
        day: day_text(day_of(number)?),
        used: row.get(2),
        change: row.get(3),
    })
}

impl SharedLedger for Ledger {
    fn key<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<UsedKey>, ServiceError>> {
        Box::pin(self.within(async move {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    "SELECT fingerprint, response FROM allot_keys WHERE key = $1",
                    &[&key],
                )
                .await
                .map_err(unavailable)?;
            Ok(row.map(|row| used_key(&row)))
        }))
    }

    fn commit(&self, commit: SharedCommit) -> BoxFuture<'_, Result<Committed, ServiceError>> {
        Box::pin(async move {
            let started = std::time::Instant::now();
            let result = self.within(self.commit_once(&commit)).await;
            // The hold made here ends whatever happened: the ledger has it
            // now, or nobody does.
            if let Some(r) = &commit.reservation {
                self.book.withdraw(&r.id);
            }
            let (committed, changes) = result?;
            match &committed {
                Committed::Done => {
                    self.committed(&changes);
                    metrics::histogram!("allot_ledger_commit_seconds")
                        .record(started.elapsed().as_secs_f64());
                }
                Committed::Lost { .. } => {
                    if let Some(r) = &commit.reservation {
                        self.within(self.refresh(r)).await?;
                    }
                }
                Committed::KeyUsed { .. } => {}
            }
            Ok(committed)
        })
    }

    fn publishes_events(&self) -> bool {
        self.outbox
    }

    fn decisions<'a>(
        &'a self,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<HashMap<String, Vec<u8>>, ServiceError>> {
        Box::pin(self.within(async move {
            if ids.is_empty() {
                return Ok(HashMap::new());
            }
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT id, record FROM allot_decisions WHERE id = ANY($1)",
                    &[&ids],
                )
                .await
                .map_err(unavailable)?;
            Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
        }))
    }
}
