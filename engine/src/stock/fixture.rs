//! Small networks for the stock tests.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::NaiveTime;

use super::{DeltaKind, DeltaRow};
use crate::network::{GeoPoint, Network, NetworkParts, Node, NodeKind, Sku, WeekdaySet};

/// A network with nodes `N0..` and SKUs `S0..`.
pub(crate) fn network(nodes: usize, skus: usize) -> Arc<Network> {
    let parts = NetworkParts {
        name: "stock-test".to_string(),
        currency: "USD".to_string(),
        country: "US".to_string(),
        nodes: (0..nodes).map(node).collect(),
        skus: (0..skus).map(sku).collect(),
        ..NetworkParts::default()
    };
    Arc::new(Network::from_parts(parts, "fixture").unwrap())
}

fn node(i: usize) -> Node {
    Node {
        code: format!("N{i}"),
        name: format!("Node {i}"),
        kind: NodeKind::DistributionCenter,
        location: GeoPoint {
            lat: 40.0,
            lon: -74.0 + i as f64 * 0.01,
        },
        time_zone: chrono_tz::America::New_York,
        daily_capacity_units: 1000,
        units_per_staff_hour: 60,
        order_cutoff: NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
        processing_days: 0,
        open_days: WeekdaySet::WEEKDAYS,
        holidays: Vec::new(),
        handling_cost_minor: 100,
        cold_chain: false,
        hazmat: false,
        accepts_returns: true,
        returns: Default::default(),
        replenishment_days: 7,
        storage_units: None,
        blocked_destinations: Vec::new(),
        services: Vec::new(),
    }
}

fn sku(i: usize) -> Sku {
    Sku {
        code: format!("S{i}"),
        category: "general".to_string(),
        weight_grams: 500,
        cold_chain: false,
        hazmat: false,
        resale_risk: 0.1,
        unit_price_minor: 1999,
    }
}

/// A fixed point in time, `secs` after a base.
pub(crate) fn t(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

/// A delta row.
pub(crate) fn delta(
    node: &str,
    sku: &str,
    sequence: u64,
    kind: Option<DeltaKind>,
    quantity: i64,
) -> DeltaRow {
    DeltaRow {
        node: node.into(),
        sku: sku.into(),
        sequence,
        kind,
        quantity,
        protected: None,
    }
}
