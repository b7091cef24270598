//! Reservations in the shared ledger: read, confirmed, released, expired
//! and re-planned by any replica, each change one transaction with its
//! events in the outbox.

use std::time::SystemTime;

use allot_engine::reservation::{
    Finished, Rehold, Reservation, ReservationError, ReservationState,
};
use allot_service::ServiceError;
use allot_service::reservations::{Pending, ReservationChange, ReservationLedger};
use allot_service::sink::{EventKind, reservation_event};
use allot_service::state::Receipt;
use tokio_postgres::Transaction;

use crate::body::{Body, Columns, day_number, day_text, state_name, state_of};
use crate::error::unavailable;
use crate::ledger::{Changes, Ledger, STOCK_RETURNING, stock_changed};
use crate::messages::{CapacityChanged, Outgoing};

/// Most holds one expiry sweep ends in one transaction.
const EXPIRE_BATCH: i64 = 200;

pub(crate) const COLUMNS: &str = "id, order_id, decision_id, state, expires_at, updated_at, body";

impl Ledger {
    pub(crate) fn reservation(
        &self,
        row: &tokio_postgres::Row,
    ) -> Result<Reservation, ServiceError> {
        let body: serde_json::Value = row.get(6);
        let body: Body = serde_json::from_value(body).map_err(|e| {
            ServiceError::internal(format!("a reservation in the ledger does not decode: {e}"))
        })?;
        let state: String = row.get(3);
        Ok(body.reservation(
            &self.network,
            Columns {
                id: row.get(0),
                order_id: row.get(1),
                decision_id: row.get(2),
                state: state_of(&state),
                expires_at: row.get(4),
                updated_at: row.get(5),
            },
        ))
    }

    /// Ends a held reservation in `to` inside `tx`, writing its stock,
    /// capacity and event into `changes`.
    async fn end(
        &self,
        tx: &Transaction<'_>,
        reservation: &mut Reservation,
        to: ReservationState,
        change: &ReservationChange,
        changes: &mut Changes,
    ) -> Result<(), ServiceError> {
        tx.execute(
            "UPDATE allot_reservations SET state = $2, updated_at = $3 WHERE id = $1",
            &[&reservation.id, &state_name(to), &change.now],
        )
        .await
        .map_err(unavailable)?;
        let units = self.units(reservation);
        let shipped = to == ReservationState::Confirmed;
        for (&(node, sku), &quantity) in &units {
            let sql = if shipped {
                format!(
                    "UPDATE allot_stock SET held = greatest(held - $3, 0), on_hand = greatest(on_hand - least($3, held), 0), \
                     version = version + 1, change = nextval('allot_change') WHERE node = $1 AND sku = $2 {STOCK_RETURNING}"
                )
            } else {
                format!(
                    "UPDATE allot_stock SET held = greatest(held - $3, 0), \
                     version = version + 1, change = nextval('allot_change') WHERE node = $1 AND sku = $2 {STOCK_RETURNING}"
                )
            };
            if let Some(row) = tx
                .query_opt(&sql, &[&node, &sku, &quantity])
                .await
                .map_err(unavailable)?
            {
                changes.stock.push(stock_changed(&row));
            }
        }
        if !shipped {
            let mut days = reservation.capacity_days.clone();
            days.sort();
            for (node, day, used) in days {
                let code = self.network.node(node).code.as_str();
                let row = tx
                    .query_opt(
                        "UPDATE allot_capacity SET used = greatest(used - $3, 0), change = nextval('allot_change') \
                         WHERE node = $1 AND day = $2 RETURNING used, change",
                        &[&code, &day_number(day), &i64::from(used)],
                    )
                    .await
                    .map_err(unavailable)?;
                if let Some(row) = row {
                    changes.capacity.push(CapacityChanged {
                        node: code.to_string(),
                        day: day_text(day),
                        used: row.get(0),
                        change: row.get(1),
                    });
                }
            }
        }
        reservation.state = to;
        reservation.updated_at = change.now;
        let kind = match to {
            ReservationState::Confirmed => EventKind::ReservationConfirmed,
            ReservationState::Released => EventKind::ReservationReleased,
            _ => EventKind::ReservationExpired,
        };
        let mut event = reservation_event(kind, reservation, &change.caller);
        event.summary.push_str(&change.detail);
        if let Some(out) = Outgoing::event(&event, change.now) {
            changes.outgoing.push(out);
        }
        Ok(())
    }

    async fn finish(
        &self,
        id: &str,
        to: ReservationState,
        change: &ReservationChange,
    ) -> Result<Finished, ServiceError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(unavailable)?;
        let row = tx
            .query_opt(
                &format!("SELECT {COLUMNS} FROM allot_reservations WHERE id = $1 FOR UPDATE"),
                &[&id],
            )
            .await
            .map_err(unavailable)?
            .ok_or_else(|| ServiceError::domain(ReservationError::NotFound(id.to_string())))?;
        let mut reservation = self.reservation(&row)?;
        match reservation.state {
            ReservationState::Held => {}
            state if state == to => {
                return Ok(Finished {
                    reservation,
                    changed: false,
                });
            }
            ReservationState::Expired if to == ReservationState::Released => {
                return Ok(Finished {
                    reservation,
                    changed: false,
                });
            }
            state => {
                return Err(ServiceError::domain(ReservationError::WrongState {
                    id: id.to_string(),
                    state,
                    wanted: to.name(),
                }));
            }
        }
        let mut changes = Changes::default();
        self.end(&tx, &mut reservation, to, change, &mut changes)
            .await?;
        changes.write_outbox(&tx, self.outbox).await?;
        tx.commit().await.map_err(unavailable)?;
        self.committed(&changes);
        Ok(Finished {
            reservation,
            changed: true,
        })
    }

    async fn expire(&self, now: SystemTime) -> Result<Vec<Reservation>, ServiceError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(unavailable)?;
        // SKIP LOCKED: replicas sweeping together split the due holds.
        let rows = tx
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM allot_reservations WHERE state = 'held' AND expires_at <= $1 \
                     ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED"
                ),
                &[&now, &EXPIRE_BATCH],
            )
            .await
            .map_err(unavailable)?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let change = ReservationChange {
            now,
            caller: String::new(),
            detail: String::new(),
        };
        let mut changes = Changes::default();
        let mut expired = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut reservation = self.reservation(row)?;
            self.end(
                &tx,
                &mut reservation,
                ReservationState::Expired,
                &change,
                &mut changes,
            )
            .await?;
            expired.push(reservation);
        }
        changes.write_outbox(&tx, self.outbox).await?;
        tx.commit().await.map_err(unavailable)?;
        self.committed(&changes);
        Ok(expired)
    }
}

impl ReservationLedger for Ledger {
    fn get<'a>(&'a self, id: &'a str) -> Pending<'a, Reservation> {
        Box::pin(self.within(async move {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    &format!("SELECT {COLUMNS} FROM allot_reservations WHERE id = $1"),
                    &[&id],
                )
                .await
                .map_err(unavailable)?
                .ok_or_else(|| ServiceError::domain(ReservationError::NotFound(id.to_string())))?;
            self.reservation(&row)
        }))
    }

    fn confirm<'a>(
        &'a self,
        id: &'a str,
        change: &'a ReservationChange,
    ) -> Pending<'a, (Finished, Receipt)> {
        Box::pin(async move {
            let done = self
                .within(self.finish(id, ReservationState::Confirmed, change))
                .await?;
            Ok((done, Receipt::done()))
        })
    }

    fn release<'a>(
        &'a self,
        id: &'a str,
        change: &'a ReservationChange,
    ) -> Pending<'a, (Finished, Receipt)> {
        Box::pin(async move {
            let done = self
                .within(self.finish(id, ReservationState::Released, change))
                .await?;
            Ok((done, Receipt::done()))
        })
    }

    fn expire_due(&self, now: SystemTime) -> Pending<'_, (Vec<Reservation>, Receipt)> {
        Box::pin(async move {
            let mut expired = Vec::new();
            loop {
                let batch = self.within(self.expire(now)).await?;
                let full = batch.len() as i64 == EXPIRE_BATCH;
                expired.extend(batch);
                if !full {
                    return Ok((expired, Receipt::done()));
                }
            }
        })
    }

    fn held(&self) -> Pending<'_, Vec<Reservation>> {
        Box::pin(self.within(self.held_now()))
    }

    fn replan<'a>(
        &'a self,
        moves: &'a [Rehold],
        change: &'a ReservationChange,
    ) -> Pending<'a, (Vec<Reservation>, Receipt)> {
        Box::pin(async move {
            if moves.is_empty() {
                return Ok((Vec::new(), Receipt::done()));
            }
            let moved = self.within(self.replan_once(moves, change)).await?;
            Ok((moved, Receipt::done()))
        })
    }

    fn publishes_events(&self) -> bool {
        self.outbox
    }
}
