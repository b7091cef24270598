//! Backlog re-plans in the shared ledger: the held reservations listed,
//! and a re-plan's moves made in one transaction, guarded as commits are,
//! all or nothing, with one event per moved reservation in the outbox.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use allot_engine::calendar::local_date;
use allot_engine::network::NodeId;
use allot_engine::reservation::{
    Rehold, Reservation, ReservationError, ReservationState, ReservedUnits,
};
use allot_engine::stock::StockError;
use allot_service::ServiceError;
use allot_service::reservations::ReservationChange;
use allot_service::sink::{EventKind, reservation_event};
use chrono::NaiveDate;
use tokio_postgres::Transaction;

use crate::body::{Body, day_number, day_text};
use crate::error::unavailable;
use crate::ledger::{Changes, Ledger, STOCK_RETURNING, stock_changed};
use crate::messages::{CapacityChanged, Outgoing};
use crate::reservations::COLUMNS;

impl Ledger {
    /// Every held reservation, by id.
    pub(crate) async fn held_now(&self) -> Result<Vec<Reservation>, ServiceError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM allot_reservations WHERE state = 'held' ORDER BY id"
                ),
                &[],
            )
            .await
            .map_err(unavailable)?;
        rows.iter().map(|row| self.reservation(row)).collect()
    }

    /// The units of a move, checked against the network (ids of another
    /// network would not name a row).
    fn check_units(&self, units: &[ReservedUnits]) -> Result<(), ServiceError> {
        for u in units {
            if u.node.0 as usize >= self.network.node_count() {
                return Err(ServiceError::domain(ReservationError::Stock(
                    StockError::UnknownNode(format!("#{}", u.node.0)),
                )));
            }
            if u.sku.0 as usize >= self.network.sku_count() {
                return Err(ServiceError::domain(ReservationError::Stock(
                    StockError::UnknownSku {
                        at: "re-plan".into(),
                        sku: format!("#{}", u.sku.0),
                    },
                )));
            }
        }
        Ok(())
    }

    /// Units per node of `units`, on each node's local day at `now` (as
    /// the book counts a hold's capacity).
    fn capacity_days(
        &self,
        units: &[ReservedUnits],
        now: SystemTime,
    ) -> Vec<(NodeId, NaiveDate, u32)> {
        let mut per_node: BTreeMap<NodeId, u32> = BTreeMap::new();
        for u in units {
            *per_node.entry(u.node).or_insert(0) += u.quantity;
        }
        per_node
            .into_iter()
            .map(|(node, units)| {
                (
                    node,
                    local_date(self.network.node(node).time_zone, now),
                    units,
                )
            })
            .collect()
    }

    /// Moves held reservations to new units in one transaction, all or
    /// nothing: the reservations are locked in id order, each must still
    /// hold its move's `before` units (else [`ReservationError::Changed`]:
    /// another re-plan, here or on another replica, moved it since), then
    /// each (node, SKU) row and each (node, day) the moves touch is changed
    /// once, by what the moves give back and take there, in the order
    /// commits lock them (no deadlock), guarded as a commit's hold is.
    pub(crate) async fn replan_once(
        &self,
        moves: &[Rehold],
        change: &ReservationChange,
    ) -> Result<Vec<Reservation>, ServiceError> {
        let mut ids: Vec<&str> = moves.iter().map(|m| m.id.as_str()).collect();
        ids.sort_unstable();
        if let Some(twice) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(ServiceError::invalid(
                "moves",
                format!("reservation {:?} moves more than once", twice[0]),
            ));
        }
        for m in moves {
            self.check_units(&m.units)?;
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(unavailable)?;
        let rows = tx
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM allot_reservations WHERE id = ANY($1) ORDER BY id FOR UPDATE"
                ),
                &[&ids],
            )
            .await
            .map_err(unavailable)?;
        let mut locked: HashMap<String, Reservation> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let r = self.reservation(row)?;
            locked.insert(r.id.clone(), r);
        }
        // What the moves give back and take, per (node, SKU) and per
        // (node, local day), by codes.
        let mut freed: BTreeMap<(&str, &str), i64> = BTreeMap::new();
        let mut taken: BTreeMap<(&str, &str), i64> = BTreeMap::new();
        let mut back: BTreeMap<(&str, NaiveDate), i64> = BTreeMap::new();
        let mut took: BTreeMap<(&str, NaiveDate), i64> = BTreeMap::new();
        let mut moved = Vec::with_capacity(moves.len());
        for m in moves {
            let old = locked
                .remove(&m.id)
                .ok_or_else(|| ServiceError::domain(ReservationError::NotFound(m.id.clone())))?;
            if old.state != ReservationState::Held {
                return Err(ServiceError::domain(ReservationError::WrongState {
                    id: m.id.clone(),
                    state: old.state,
                    wanted: "re-planned",
                }));
            }
            // Another re-plan moved it since this one was planned: refused
            // before anything is written, so the transaction changes nothing.
            if !m.planned_on(&old.units) {
                return Err(ServiceError::domain(ReservationError::Changed(
                    m.id.clone(),
                )));
            }
            let new = Reservation {
                units: m.units.clone(),
                capacity_days: self.capacity_days(&m.units, change.now),
                updated_at: change.now,
                ..old.clone()
            };
            for (pair, quantity) in self.units(&old) {
                *freed.entry(pair).or_insert(0) += quantity;
            }
            for (pair, quantity) in self.units(&new) {
                *taken.entry(pair).or_insert(0) += quantity;
            }
            for &(node, day, units) in &old.capacity_days {
                *back
                    .entry((self.network.node(node).code.as_str(), day))
                    .or_insert(0) += i64::from(units);
            }
            for &(node, day, units) in &new.capacity_days {
                *took
                    .entry((self.network.node(node).code.as_str(), day))
                    .or_insert(0) += i64::from(units);
            }
            moved.push(new);
        }
        let mut changes = Changes::default();
        self.move_stock(&tx, &freed, &taken, &mut changes).await?;
        self.move_capacity(&tx, &back, &took, &mut changes).await?;
        let bodies: Vec<serde_json::Value> = moved
            .iter()
            .map(|r| serde_json::to_value(Body::of(&self.network, r)).unwrap_or_default())
            .collect();
        let updates = {
            let tx = &tx;
            futures::future::join_all(moved.iter().zip(&bodies).map(|(r, body)| async move {
                tx.execute(
                    "UPDATE allot_reservations SET body = $2, updated_at = $3 WHERE id = $1",
                    &[&r.id, body, &r.updated_at],
                )
                .await
            }))
        }
        .await;
        for updated in updates {
            updated.map_err(unavailable)?;
        }
        for r in &moved {
            let mut event = reservation_event(EventKind::ReservationReplanned, r, &change.caller);
            event.summary.push_str(&change.detail);
            if let Some(out) = Outgoing::event(&event, change.now) {
                changes.outgoing.push(out);
            }
        }
        changes.write_outbox(&tx, self.outbox).await?;
        tx.commit().await.map_err(unavailable)?;
        self.committed(&changes);
        Ok(moved)
    }

    /// Changes each (node, SKU) row by what the moves give back (`freed`,
    /// never more than is held) and take there (`taken`), in (node, SKU)
    /// order; the take guarded as a commit's: the row's available units
    /// plus what the moves free must cover it. A row short fails with
    /// [`StockError::Insufficient`] (and mirrors that row's level here).
    async fn move_stock(
        &self,
        tx: &Transaction<'_>,
        freed: &BTreeMap<(&str, &str), i64>,
        taken: &BTreeMap<(&str, &str), i64>,
        changes: &mut Changes,
    ) -> Result<(), ServiceError> {
        let mut pairs: BTreeMap<(&str, &str), (i64, i64)> = BTreeMap::new();
        for (&pair, &quantity) in freed {
            pairs.entry(pair).or_default().0 += quantity;
        }
        for (&pair, &quantity) in taken {
            pairs.entry(pair).or_default().1 += quantity;
        }
        // A pair the moves give back as much of as they take stays as it is.
        pairs.retain(|_, (freed, taken)| freed != taken);
        let sql = format!(
            "UPDATE allot_stock SET held = greatest(held - $3, 0) + $4, version = version + 1, \
             change = nextval('allot_change') WHERE node = $1 AND sku = $2 \
             AND ($4 <= least($3, held) OR feed_reserved + greatest(held - $3, 0) + $4 <= on_hand) {STOCK_RETURNING}"
        );
        let sql = sql.as_str();
        // One round trip: the statements run in the order sent.
        let rows = futures::future::join_all(pairs.iter().map(
            |((node, sku), (freed, taken))| async move {
                tx.query_opt(sql, &[node, sku, freed, taken]).await
            },
        ))
        .await;
        for (((node, sku), (freed, taken)), row) in pairs.iter().zip(rows) {
            match row.map_err(unavailable)? {
                Some(row) => changes.stock.push(stock_changed(&row)),
                // Nothing to give back at a row the ledger does not have.
                None if *taken == 0 => {}
                None => {
                    let row = tx
                        .query_opt(
                            "SELECT node, sku, on_hand, feed_reserved + held, protected, version, change, \
                             on_hand - feed_reserved - greatest(held - $3, 0) \
                             FROM allot_stock WHERE node = $1 AND sku = $2",
                            &[node, sku, freed],
                        )
                        .await
                        .map_err(unavailable)?;
                    let available = match &row {
                        Some(row) => {
                            // Another replica's levels: this one re-plans on them next.
                            self.mirror.stock(&stock_changed(row));
                            row.get::<_, i64>(7).max(0)
                        }
                        None => 0,
                    };
                    return Err(ServiceError::domain(ReservationError::Stock(
                        StockError::Insufficient {
                            node: node.to_string(),
                            sku: sku.to_string(),
                            requested: *taken,
                            available,
                        },
                    )));
                }
            }
        }
        Ok(())
    }

    /// Changes each (node, day)'s capacity used by what the moves give back
    /// (`back`) and take there (`took`), in (node, day) order; the take
    /// refused, as the book refuses it, when it is more than the moves give
    /// back there and more than the node's daily capacity left after they
    /// do. A node-day short fails with [`ReservationError::Capacity`] (and
    /// mirrors that node-day here).
    async fn move_capacity(
        &self,
        tx: &Transaction<'_>,
        back: &BTreeMap<(&str, NaiveDate), i64>,
        took: &BTreeMap<(&str, NaiveDate), i64>,
        changes: &mut Changes,
    ) -> Result<(), ServiceError> {
        let mut days: BTreeMap<(&str, NaiveDate), (i64, i64)> = BTreeMap::new();
        for (&day, &units) in back {
            days.entry(day).or_default().0 += units;
        }
        for (&day, &units) in took {
            days.entry(day).or_default().1 += units;
        }
        days.retain(|_, (back, took)| back != took);
        let limits: Vec<i64> = days
            .keys()
            .map(|(code, _)| {
                self.network
                    .node_id(code)
                    .map_or(0, |n| i64::from(self.network.node(n).daily_capacity_units))
            })
            .collect();
        let numbers: Vec<i32> = days.keys().map(|&(_, day)| day_number(day)).collect();
        let rows = futures::future::join_all(days.iter().zip(&limits).zip(&numbers).map(
            |((((code, _), (back, took)), limit), number)| async move {
                if *took == 0 {
                    tx.query_opt(
                        "UPDATE allot_capacity SET used = greatest(used - $3, 0), change = nextval('allot_change') \
                         WHERE node = $1 AND day = $2 RETURNING used, change",
                        &[code, number, back],
                    )
                    .await
                } else {
                    tx.query_opt(
                        "INSERT INTO allot_capacity AS c (node, day, used, change) \
                         SELECT $1::text, $2::int, $4::bigint, nextval('allot_change') \
                         WHERE $4::bigint <= greatest($3::bigint, $5::bigint) \
                         ON CONFLICT (node, day) DO UPDATE SET used = greatest(c.used - $3::bigint, 0) + EXCLUDED.used, \
                         change = EXCLUDED.change \
                         WHERE $4::bigint <= $3::bigint OR greatest(c.used - $3::bigint, 0) + EXCLUDED.used <= $5::bigint \
                         RETURNING used, change",
                        &[code, number, back, took, limit],
                    )
                    .await
                }
            },
        ))
        .await;
        for ((((code, day), (back, took)), limit), row) in days.iter().zip(&limits).zip(rows) {
            match row.map_err(unavailable)? {
                Some(row) => changes.capacity.push(CapacityChanged {
                    node: code.to_string(),
                    day: day_text(*day),
                    used: row.get(0),
                    change: row.get(1),
                }),
                None if *took == 0 => {}
                None => {
                    let row = tx
                        .query_opt(
                            "SELECT used, change FROM allot_capacity WHERE node = $1 AND day = $2",
                            &[code, &day_number(*day)],
                        )
                        .await
                        .map_err(unavailable)?;
                    let used = match &row {
                        Some(row) => {
                            self.mirror.capacity(&CapacityChanged {
                                node: code.to_string(),
                                day: day_text(*day),
                                used: row.get(0),
                                change: row.get(1),
                            });
                            row.get::<_, i64>(0)
                        }
                        None => 0,
                    };
                    let remaining = (limit - (used - back).max(0)).max(0);
                    return Err(ServiceError::domain(ReservationError::Capacity {
                        node: code.to_string(),
                        requested: u32::try_from(*took).unwrap_or(u32::MAX),
                        remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
                    }));
                }
            }
        }
        Ok(())
    }
}
