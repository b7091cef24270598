//! Where a unit of demand ships from: the node allocation chooses for a
//! one-unit order of the SKU to the region's centroid (any service level),
//! built and solved as Allocate builds and solves it, against the current
//! stock and today's remaining capacity, reserving nothing.

use std::time::{Instant, SystemTime};

use allot_engine::allocation::allocate::Allocator;
use allot_engine::allocation::error::AllocationError;
use allot_engine::allocation::pipeline::solve;
use allot_engine::allocation::request::{AllocationOptions, Destination, OrderLine, OrderRequest};
use allot_engine::network::{Network, NodeId, RegionId, ServiceLevel, SkuId};

/// The order id of the one-unit orders routed (never recorded).
const ROUTED_ORDER: &str = "workload-route";

/// The one-unit order of `sku` to `region` whose route a workload reads:
/// to the region's centroid, any service level, no rules.
pub fn unit_order(network: &Network, sku: SkuId, region: RegionId) -> OrderRequest {
    OrderRequest {
        order_id: ROUTED_ORDER.to_string(),
        lines: vec![OrderLine {
            line_id: "1".to_string(),
            sku,
            quantity: 1,
            weight_grams: None,
        }],
        destination: Destination {
            point: network.region(region).centroid,
            region: Some(region),
        },
        service_level: ServiceLevel::Ground,
        promised_by: None,
        options: AllocationOptions::default(),
    }
}

/// The node `allocator` would ship one unit of `sku` to `region` from,
/// decided as of `now` by `deadline`; `None` when no node can ship it (the
/// unit would be backordered). Blocking.
pub fn route(
    allocator: &Allocator,
    sku: SkuId,
    region: RegionId,
    deadline: Instant,
    now: SystemTime,
) -> Result<Option<NodeId>, AllocationError> {
    let network = allocator.book().stock().network();
    let order = unit_order(network, sku, region);
    let built = allocator.problem(&order, now)?;
    let solution = solve(&built.problem, deadline);
    Ok(solution.plan.and_then(|plan| {
        plan.used(&built.problem)
            .first()
            .map(|&n| built.problem.candidates[n].node)
    }))
}
