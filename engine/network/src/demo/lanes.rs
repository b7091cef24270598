//! The demo network's transfer lanes: trucks between DCs, from each DC to
//! the stores it is one of the two nearest DCs of, from each 3PL to its
//! three nearest DCs, and parcels between stores less than 150 km apart.
//! Costs and lead times grow with the distance.

use crate::geo::distance_km;
use crate::{Lane, LaneMode, Node, NodeId, NodeKind};

/// Stores this close to each other swap stock by parcel.
const PARCEL_RADIUS_KM: f64 = 150.0;
/// Kilometres a truck covers in a day.
const TRUCK_KM_PER_DAY: f64 = 800.0;

/// The lanes of the demo network over `nodes`.
pub(super) fn lanes(nodes: &[Node]) -> Vec<Lane> {
    let ids = |kind: NodeKind| -> Vec<usize> {
        (0..nodes.len())
            .filter(|&i| nodes[i].kind == kind)
            .collect()
    };
    let dcs = ids(NodeKind::DistributionCenter);
    let stores = ids(NodeKind::Store);
    let tpls = ids(NodeKind::ThirdPartyLogistics);
    let km = |a: usize, b: usize| distance_km(nodes[a].location, nodes[b].location);
    let nearest_dcs = |i: usize, k: usize| -> Vec<usize> {
        let mut by: Vec<usize> = dcs.clone();
        by.sort_by(|&a, &b| km(i, a).total_cmp(&km(i, b)));
        by.truncate(k);
        by
    };
    let mut out = Vec::new();
    for &a in &dcs {
        for &b in &dcs {
            if a != b {
                out.push(truck(a, b, km(a, b), 20_000));
            }
        }
    }
    for &s in &stores {
        for dc in nearest_dcs(s, 2) {
            out.push(truck(dc, s, km(dc, s), 2_000));
        }
    }
    for &t in &tpls {
        for dc in nearest_dcs(t, 3) {
            out.push(truck(t, dc, km(t, dc), 20_000));
        }
    }
    for &a in &stores {
        for &b in &stores {
            let d = km(a, b);
            if a != b && d < PARCEL_RADIUS_KM {
                out.push(Lane {
                    from: NodeId(a as u32),
                    to: NodeId(b as u32),
                    mode: LaneMode::Parcel,
                    lead_days: if d < 50.0 { 1 } else { 2 },
                    unit_cost_minor: 650 + (d * 2.0).round() as i64,
                    fixed_cost_minor: 0,
                    capacity_units: 60,
                });
            }
        }
    }
    out
}

/// A truck lane over `km` kilometres carrying up to `capacity` units: a
/// dispatch cost of 150 plus 1.25 per km, 8 cents a unit handled plus a
/// cent per 100 km, a day to load and unload plus the drive.
fn truck(from: usize, to: usize, km: f64, capacity: u32) -> Lane {
    Lane {
        from: NodeId(from as u32),
        to: NodeId(to as u32),
        mode: LaneMode::Truck,
        lead_days: 1 + (km / TRUCK_KM_PER_DAY).ceil() as u32,
        unit_cost_minor: 8 + (km / 100.0).round() as i64,
        fixed_cost_minor: 15_000 + (km * 125.0).round() as i64,
        capacity_units: capacity,
    }
}
