//! A reservation as the ledger stores it: its units and capacity by codes
//! (JSON in `allot_reservations.body`), its state and times in columns.

use std::time::SystemTime;

use allot_engine::network::Network;
use allot_engine::reservation::{Reservation, ReservationState, ReservedUnits};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// What the `body` column holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Body {
    /// (line id, node code, SKU code, units).
    pub(crate) units: Vec<(String, String, String, u32)>,
    /// (node code, local day `YYYY-MM-DD`, units).
    pub(crate) capacity_days: Vec<(String, String, u32)>,
    /// ms since the Unix epoch.
    pub(crate) created_at_ms: u64,
}

pub(crate) fn ms(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub(crate) fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// Days since 0001-01-01 (the `day` column).
pub(crate) fn day_number(day: NaiveDate) -> i32 {
    chrono::Datelike::num_days_from_ce(&day)
}

pub(crate) fn day_of(number: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(number)
}

impl Body {
    pub(crate) fn of(network: &Network, r: &Reservation) -> Body {
        Body {
            units: r
                .units
                .iter()
                .map(|u| {
                    (
                        u.line_id.clone(),
                        network.node(u.node).code.clone(),
                        network.sku(u.sku).code.clone(),
                        u.quantity,
                    )
                })
                .collect(),
            capacity_days: r
                .capacity_days
                .iter()
                .map(|&(node, day, units)| (network.node(node).code.clone(), day_text(day), units))
                .collect(),
            created_at_ms: ms(r.created_at),
        }
    }

    /// The reservation over `network` (units at nodes or SKUs it does not
    /// have are left out).
    pub(crate) fn reservation(&self, network: &Network, columns: Columns) -> Reservation {
        Reservation {
            id: columns.id,
            order_id: columns.order_id,
            decision_id: columns.decision_id,
            units: self
                .units
                .iter()
                .filter_map(|(line, node, sku, quantity)| {
                    Some(ReservedUnits {
                        line_id: line.clone(),
                        node: network.node_id(node)?,
                        sku: network.sku_id(sku)?,
                        quantity: *quantity,
                    })
                })
                .collect(),
            created_at: SystemTime::UNIX_EPOCH
                + std::time::Duration::from_millis(self.created_at_ms),
            expires_at: columns.expires_at,
            state: columns.state,
            updated_at: columns.updated_at,
            capacity_days: self
                .capacity_days
                .iter()
                .filter_map(|(node, day, units)| {
                    Some((
                        network.node_id(node)?,
                        NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?,
                        *units,
                    ))
                })
                .collect(),
        }
    }
}

/// The columns beside the body.
pub(crate) struct Columns {
    pub(crate) id: String,
    pub(crate) order_id: String,
    pub(crate) decision_id: String,
    pub(crate) state: ReservationState,
    pub(crate) expires_at: SystemTime,
    pub(crate) updated_at: SystemTime,
}

/// A state's column value.
pub(crate) fn state_name(state: ReservationState) -> &'static str {
    state.name()
}

pub(crate) fn state_of(name: &str) -> ReservationState {
    match name {
        "confirmed" => ReservationState::Confirmed,
        "released" => ReservationState::Released,
        "expired" => ReservationState::Expired,
        _ => ReservationState::Held,
    }
}
