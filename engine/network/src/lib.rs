//! The fulfilment network as data: nodes, carriers, services, SKUs, regions.
//!
//! A [`Network`] is immutable once built; it is shared as `Arc<Network>`.
//! Entities are addressed by dense ids ([`NodeId`], [`SkuId`] ...) inside the
//! engine and by their stable string codes at the edges.
//!
//! - Loading: [`Network::load`] / [`Network::from_toml_str`] read the TOML
//!   format of `docs/network.md`; [`Network::to_toml_string`] writes it.
//! - Building: [`Network::from_parts`] validates and indexes.
//! - Lookups: postal code to region, distance to zone, rates, blocking
//!   ([`Network::resolve_postal_code`], [`Network::zone`], [`Network::rate`],
//!   [`Network::is_blocked`] ...).
//! - The demo: [`Network::demo`] and [`demo_stock`].

mod build;
pub mod demo;
mod file;
mod geo;
mod model;
mod validate;

pub use build::NetworkError;
pub use demo::{DEMO_SEED, DemoStockRow, demo_stock};
pub use geo::distance_km;

pub use model::*;

use std::collections::HashMap;

/// The whole network, with indexes from codes to dense ids.
#[derive(Debug, Clone)]
pub struct Network {
    name: String,
    currency: String,
    country: String,
    nodes: Vec<Node>,
    skus: Vec<Sku>,
    carriers: Vec<Carrier>,
    services: Vec<CarrierService>,
    zones: Vec<ZoneBand>,
    regions: Vec<Region>,
    lanes: Vec<Lane>,
    node_index: HashMap<String, NodeId>,
    sku_index: HashMap<String, SkuId>,
    service_index: HashMap<String, ServiceId>,
    region_index: HashMap<String, RegionId>,
    postal_index: geo::PostalIndex,
    /// Per node, the sorted ids of the regions it may not ship to.
    blocked: Vec<Vec<RegionId>>,
}

/// The parts a [`Network`] is built from (by the file loader, the demo
/// generator, or a test).
#[derive(Debug, Clone, Default)]
pub struct NetworkParts {
    /// Network name, shown in logs and health output.
    pub name: String,
    /// ISO 4217 currency code of every `_minor` amount, e.g. `USD`.
    pub currency: String,
    /// ISO 3166-1 alpha-2 code of the one country the network delivers
    /// to, e.g. `US`.
    pub country: String,
    /// Nodes in id order.
    pub nodes: Vec<Node>,
    /// SKUs in id order.
    pub skus: Vec<Sku>,
    /// Carriers in index order.
    pub carriers: Vec<Carrier>,
    /// Carrier services in id order.
    pub services: Vec<CarrierService>,
    /// Distance bands to carrier zones, ascending by `max_km`.
    pub zones: Vec<ZoneBand>,
    /// Destination regions in id order.
    pub regions: Vec<Region>,
    /// Transfer lanes between nodes.
    pub lanes: Vec<Lane>,
}

impl Network {
    /// Network name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// ISO 4217 currency of every amount in the network.
    pub fn currency(&self) -> &str {
        &self.currency
    }

    /// ISO 3166-1 alpha-2 code of the country the network delivers to.
    pub fn country(&self) -> &str {
        &self.country
    }

    /// All nodes, indexed by [`NodeId`].
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// All SKUs, indexed by [`SkuId`].
    pub fn skus(&self) -> &[Sku] {
        &self.skus
    }

    /// All carriers.
    pub fn carriers(&self) -> &[Carrier] {
        &self.carriers
    }

    /// All carrier services, indexed by [`ServiceId`].
    pub fn services(&self) -> &[CarrierService] {
        &self.services
    }

    /// The zoning bands, ascending by distance.
    pub fn zones(&self) -> &[ZoneBand] {
        &self.zones
    }

    /// The transfer lanes between nodes, in file order.
    pub fn lanes(&self) -> &[Lane] {
        &self.lanes
    }

    /// All destination regions, indexed by [`RegionId`].
    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// The node with this id. Panics on an id from another network.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0 as usize]
    }

    /// The SKU with this id. Panics on an id from another network.
    pub fn sku(&self, id: SkuId) -> &Sku {
        &self.skus[id.0 as usize]
    }

    /// The carrier service with this id.
    pub fn service(&self, id: ServiceId) -> &CarrierService {
        &self.services[id.0 as usize]
    }

    /// The region with this id.
    pub fn region(&self, id: RegionId) -> &Region {
        &self.regions[id.0 as usize]
    }

    /// The id of the node with this code.
    pub fn node_id(&self, code: &str) -> Option<NodeId> {
        self.node_index.get(code).copied()
    }

    /// The id of the SKU with this code.
    pub fn sku_id(&self, code: &str) -> Option<SkuId> {
        self.sku_index.get(code).copied()
    }

    /// The id of the carrier service with this code.
    pub fn service_id(&self, code: &str) -> Option<ServiceId> {
        self.service_index.get(code).copied()
    }

    /// The id of the region with this code.
    pub fn region_id(&self, code: &str) -> Option<RegionId> {
        self.region_index.get(code).copied()
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of SKUs.
    pub fn sku_count(&self) -> usize {
        self.skus.len()
    }

    /// Node ids in order.
    pub fn node_ids(&self) -> impl ExactSizeIterator<Item = NodeId> + '_ {
        (0..self.nodes.len() as u32).map(NodeId)
    }
}
