//! The records of the state journal: one per acknowledged change, naming
//! nodes and SKUs by their codes (so a network file that gains or reorders
//! nodes still recovers), encoded with postcard.

use std::time::SystemTime;

use allot_engine::network::{Network, SkuId};
use allot_engine::reservation::{Reservation, ReservationState, ReservedUnits};
use allot_engine::stock::{DeltaKind, DeltaRow, StockLevel};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::idempotency::Fingerprint;

/// One acknowledged change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Change {
    /// A committed Allocate: its idempotency key and answer, and the
    /// reservation it made (none when the hold policy or the stock kept it
    /// from reserving).
    Commit {
        key: KeyRecord,
        reservation: Option<ReservationRecord>,
    },
    /// A held reservation confirmed, released or expired.
    Finish {
        id: String,
        state: FinishedAs,
        at: SystemTime,
    },
    /// A node's snapshot replaced.
    Replace {
        node: String,
        rows: Vec<RowRecord>,
        as_of: u64,
        reset_feed: bool,
        at: SystemTime,
    },
    /// A batch of a delta stream.
    Deltas {
        first_index: u64,
        rows: Vec<DeltaRecord>,
        at: SystemTime,
    },
    /// A backlog re-plan's moves: held reservations with their new units,
    /// all made together.
    Replan {
        moves: Vec<MoveRecord>,
        at: SystemTime,
    },
}

impl Change {
    /// The record's bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        // Encoding owned, plain data into a Vec cannot fail.
        postcard::to_stdvec(self).unwrap_or_default()
    }

    /// A record read back.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Change, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

/// A journal record's bytes: the decision log's commit position when the
/// change was made (every commit at or below it happened before it), then
/// the change. Recovery replays a commit before the first journal record
/// that saw it, which keeps a confirmation after the hold it ships.
pub(crate) fn journaled(commits_seen: u64, change: &[u8]) -> Vec<u8> {
    let mut bytes = postcard::to_stdvec(&commits_seen).unwrap_or_default();
    bytes.extend_from_slice(change);
    bytes
}

/// A journal record read back: (commit position seen, change).
pub(crate) fn unjournaled(bytes: &[u8]) -> Result<(u64, Change), postcard::Error> {
    postcard::from_bytes(bytes)
}

/// How a held reservation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum FinishedAs {
    Confirmed,
    Released,
    Expired,
}

impl FinishedAs {
    pub(crate) fn state(self) -> ReservationState {
        match self {
            FinishedAs::Confirmed => ReservationState::Confirmed,
            FinishedAs::Released => ReservationState::Released,
            FinishedAs::Expired => ReservationState::Expired,
        }
    }

    pub(crate) fn of(state: ReservationState) -> Option<FinishedAs> {
        match state {
            ReservationState::Held => None,
            ReservationState::Confirmed => Some(FinishedAs::Confirmed),
            ReservationState::Released => Some(FinishedAs::Released),
            ReservationState::Expired => Some(FinishedAs::Expired),
        }
    }
}

/// A used idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeyRecord {
    pub(crate) key: String,
    pub(crate) fingerprint: Fingerprint,
    /// The encoded answer, returned byte for byte to a retry.
    pub(crate) response: Vec<u8>,
    pub(crate) at: SystemTime,
}

/// A reservation, by codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReservationRecord {
    id: String,
    order_id: String,
    decision_id: String,
    units: Vec<UnitRecord>,
    created_at: SystemTime,
    expires_at: SystemTime,
    state: Option<FinishedAs>,
    updated_at: SystemTime,
    /// (node code, days since 0001-01-01, units).
    capacity_days: Vec<(String, i32, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct UnitRecord {
    line_id: String,
    node: String,
    sku: String,
    quantity: u32,
}

impl ReservationRecord {
    pub(crate) fn of(network: &Network, r: &Reservation) -> ReservationRecord {
        ReservationRecord {
            id: r.id.clone(),
            order_id: r.order_id.clone(),
            decision_id: r.decision_id.clone(),
            units: r
                .units
                .iter()
                .map(|u| UnitRecord {
                    line_id: u.line_id.clone(),
                    node: network.node(u.node).code.clone(),
                    sku: network.sku(u.sku).code.clone(),
                    quantity: u.quantity,
                })
                .collect(),
            created_at: r.created_at,
            expires_at: r.expires_at,
            state: FinishedAs::of(r.state),
            updated_at: r.updated_at,
            capacity_days: r
                .capacity_days
                .iter()
                .map(|&(node, day, units)| (network.node(node).code.clone(), days(day), units))
                .collect(),
        }
    }

    /// The reservation over `network`; units and capacity at nodes or SKUs
    /// the network no longer has are dropped (and counted in `dropped`).
    pub(crate) fn to_reservation(&self, network: &Network, dropped: &mut u64) -> Reservation {
        let units = self
            .units
            .iter()
            .filter_map(|u| {
                let ids = network.node_id(&u.node).zip(network.sku_id(&u.sku));
                if ids.is_none() {
                    *dropped += 1;
                }
                let (node, sku) = ids?;
                Some(ReservedUnits {
                    line_id: u.line_id.clone(),
                    node,
                    sku,
                    quantity: u.quantity,
                })
            })
            .collect();
        let capacity_days = self
            .capacity_days
            .iter()
            .filter_map(|(node, day, units)| Some((network.node_id(node)?, date(*day)?, *units)))
            .collect();
        Reservation {
            id: self.id.clone(),
            order_id: self.order_id.clone(),
            decision_id: self.decision_id.clone(),
            units,
            created_at: self.created_at,
            expires_at: self.expires_at,
            state: self.state.map_or(ReservationState::Held, FinishedAs::state),
            updated_at: self.updated_at,
            capacity_days,
        }
    }
}

pub(crate) fn days(day: NaiveDate) -> i32 {
    chrono::Datelike::num_days_from_ce(&day)
}

pub(crate) fn date(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days)
}

/// A held reservation's units and capacity after a move, by codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MoveRecord {
    pub(crate) id: String,
    units: Vec<UnitRecord>,
    /// (node code, days since 0001-01-01, units).
    capacity_days: Vec<(String, i32, u32)>,
}

impl MoveRecord {
    pub(crate) fn of(network: &Network, r: &Reservation) -> MoveRecord {
        let record = ReservationRecord::of(network, r);
        MoveRecord {
            id: record.id,
            units: record.units,
            capacity_days: record.capacity_days,
        }
    }

    /// The units and capacity days over `network` (those at nodes or SKUs
    /// it no longer has dropped and counted in `dropped`).
    pub(crate) fn to_units(
        &self,
        network: &Network,
        dropped: &mut u64,
    ) -> (
        Vec<ReservedUnits>,
        Vec<(allot_engine::network::NodeId, NaiveDate, u32)>,
    ) {
        let as_reservation = ReservationRecord {
            id: self.id.clone(),
            order_id: String::new(),
            decision_id: String::new(),
            units: self.units.clone(),
            created_at: SystemTime::UNIX_EPOCH,
            expires_at: SystemTime::UNIX_EPOCH,
            state: None,
            updated_at: SystemTime::UNIX_EPOCH,
            capacity_days: self.capacity_days.clone(),
        }
        .to_reservation(network, dropped);
        (as_reservation.units, as_reservation.capacity_days)
    }
}

/// One stock row, by SKU code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RowRecord {
    pub(crate) sku: String,
    pub(crate) on_hand: i64,
    pub(crate) reserved: i64,
    pub(crate) protected: i64,
}

impl RowRecord {
    pub(crate) fn of(network: &Network, sku: SkuId, level: &StockLevel) -> RowRecord {
        RowRecord {
            sku: network.sku(sku).code.clone(),
            on_hand: level.on_hand,
            reserved: level.reserved,
            protected: level.protected,
        }
    }

    pub(crate) fn to_row(&self, network: &Network) -> Option<(SkuId, StockLevel)> {
        Some((
            network.sku_id(&self.sku)?,
            StockLevel {
                on_hand: self.on_hand,
                reserved: self.reserved,
                protected: self.protected,
            },
        ))
    }
}

/// One delta row as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeltaRecord {
    node: String,
    sku: String,
    sequence: u64,
    /// 0 unknown, 1 adjust, 2 set.
    kind: u8,
    quantity: i64,
    protected: Option<i64>,
}

impl DeltaRecord {
    pub(crate) fn of(row: &DeltaRow) -> DeltaRecord {
        DeltaRecord {
            node: row.node.clone(),
            sku: row.sku.clone(),
            sequence: row.sequence,
            kind: match row.kind {
                None => 0,
                Some(DeltaKind::Adjust) => 1,
                Some(DeltaKind::Set) => 2,
            },
            quantity: row.quantity,
            protected: row.protected,
        }
    }

    pub(crate) fn to_row(&self) -> DeltaRow {
        DeltaRow {
            node: self.node.clone(),
            sku: self.sku.clone(),
            sequence: self.sequence,
            kind: match self.kind {
                1 => Some(DeltaKind::Adjust),
                2 => Some(DeltaKind::Set),
                _ => None,
            },
            quantity: self.quantity,
            protected: self.protected,
        }
    }
}
