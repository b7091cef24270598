//! Refurbishing and liquidation capacity used, per node and local day.

use std::collections::HashMap;
use std::time::SystemTime;

use allot_engine::calendar::local_date;
use allot_engine::network::{Network, NodeId};
use allot_engine::returns::{Disposition, ReturnRoute};
use chrono::NaiveDate;
use parking_lot::Mutex;

/// What one recorded return took of its node's channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReturnUse {
    /// The node it was routed to.
    pub node: NodeId,
    /// Units refurbished.
    pub refurbished: u32,
    /// Units liquidated.
    pub liquidated: u32,
    /// When it was decided.
    pub decided_at: SystemTime,
}

/// Units refurbished and liquidated per (node, local day).
#[derive(Debug, Default)]
pub struct ChannelUse {
    used: Mutex<HashMap<(NodeId, NaiveDate), (u32, u32)>>,
}

/// `at` as a local date at `node`.
fn node_date(network: &Network, node: NodeId, at: SystemTime) -> NaiveDate {
    local_date(network.node(node).time_zone, at)
}

impl ChannelUse {
    /// Decides with what each node has left today (`decide` gets, per
    /// node, the refurbishing and liquidation units left) and counts what
    /// the route it returns takes, under one lock.
    pub fn decide(
        &self,
        network: &Network,
        now: SystemTime,
        decide: impl FnOnce(&dyn Fn(NodeId) -> (u32, u32)) -> ReturnRoute,
    ) -> ReturnRoute {
        let mut used = self.used.lock();
        let route = {
            let left = |node: NodeId| {
                let r = &network.node(node).returns;
                let (f, l) = used
                    .get(&(node, node_date(network, node, now)))
                    .copied()
                    .unwrap_or_default();
                (
                    r.refurbish_units_per_day.saturating_sub(f),
                    r.liquidation_units_per_day.saturating_sub(l),
                )
            };
            decide(&left)
        };
        if let Some(chosen) = &route.chosen {
            let day = node_date(network, chosen.node, now);
            let entry = used.entry((chosen.node, day)).or_default();
            entry.0 += chosen.units_of(Disposition::Refurbish);
            entry.1 += chosen.units_of(Disposition::Liquidate);
        }
        // Days gone by are never read again.
        let today = now - std::time::Duration::from_secs(2 * 86_400);
        used.retain(|(node, day), _| *day >= node_date(network, *node, today));
        route
    }

    /// Counts a recorded return again (the rebuild at start).
    pub fn add(&self, network: &Network, used: ReturnUse) {
        let day = node_date(network, used.node, used.decided_at);
        let mut all = self.used.lock();
        let entry = all.entry((used.node, day)).or_default();
        entry.0 += used.refurbished;
        entry.1 += used.liquidated;
    }
}
