//! The domain allocation request, after the server has converted the wire
//! message (and resolved the postal code to a point and region).

use std::time::SystemTime;

use crate::network::{GeoPoint, Network, NodeId, RegionId, ServiceLevel, SkuId};

/// One order to allocate.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRequest {
    /// The caller's order id (echoed, logged; not interpreted).
    pub order_id: String,
    /// The lines, in the caller's order; line ids must be unique.
    pub lines: Vec<OrderLine>,
    /// Where it ships.
    pub destination: Destination,
    /// The slowest acceptable service level; faster services also qualify.
    pub service_level: ServiceLevel,
    /// The delivery date promised to the customer, if any (drives the
    /// expected lateness term).
    pub promised_by: Option<SystemTime>,
    /// Business rules for this order.
    pub options: AllocationOptions,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    /// The caller's line id, unique within the order.
    pub line_id: String,
    /// The SKU ordered.
    pub sku: SkuId,
    /// Units ordered, >= 1.
    pub quantity: u32,
    /// Weight of one unit in grams; `None` = the SKU's weight in the network.
    pub weight_grams: Option<u32>,
}

/// The destination of an order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Destination {
    /// The point used for distances and zones (the region's centroid, or a
    /// geocoded address).
    pub point: GeoPoint,
    /// The destination region, used for nodes' blocked destinations; `None`
    /// means no node is blocked.
    pub region: Option<RegionId>,
}

impl Destination {
    /// The region the destination's lanes are predicted and dated for: the
    /// request's region, else the region nearest its point.
    pub fn lane_region(&self, network: &Network) -> RegionId {
        self.region
            .unwrap_or_else(|| network.nearest_region(self.point))
    }
}

/// Business rules the caller sets per order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllocationOptions {
    /// Ship everything from one node, nothing backordered.
    pub ship_complete: bool,
    /// At most this many shipping nodes (`None` = no limit).
    pub max_splits: Option<u32>,
    /// Nodes that must not ship this order.
    pub excluded_nodes: Vec<NodeId>,
    /// Units no node can ship may be backordered (at the backorder penalty);
    /// ignored (false) under ship-complete.
    pub allow_backorder: bool,
}

/// Checks an order's or a cart's lines against `network`: at least one line
/// (`what` names the request in the message), non-empty unique line ids,
/// quantities of at least 1, known SKUs. Errors name the field.
pub(crate) fn validate_lines(
    network: &crate::network::Network,
    lines: &[OrderLine],
    what: &str,
) -> Result<(), super::error::AllocationError> {
    use super::error::AllocationError;
    if lines.is_empty() {
        return Err(AllocationError::invalid(
            "lines",
            format!("{what} needs at least one line"),
        ));
    }
    let mut ids = std::collections::HashSet::new();
    for (i, line) in lines.iter().enumerate() {
        if line.line_id.is_empty() {
            return Err(AllocationError::invalid(
                format!("lines[{i}].line_id"),
                "must not be empty",
            ));
        }
        if !ids.insert(line.line_id.as_str()) {
            return Err(AllocationError::invalid(
                format!("lines[{i}].line_id"),
                format!("duplicate line id {:?}", line.line_id),
            ));
        }
        if line.quantity == 0 {
            return Err(AllocationError::invalid(
                format!("lines[{i}].quantity"),
                "must be at least 1",
            ));
        }
        if line.sku.0 as usize >= network.sku_count() {
            return Err(AllocationError::NotFound {
                field: format!("lines[{i}].sku"),
                what: format!("SKU #{}", line.sku.0),
            });
        }
    }
    Ok(())
}
