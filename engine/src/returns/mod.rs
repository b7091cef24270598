//! Returns routing: where a returned item goes and what happens to it
//! there, by expected recovery (docs/returns.md).
//!
//! A return ships as one parcel to one node that accepts returns, or is
//! written off where it is (the customer keeps it: nothing ships). At the
//! node each returned unit gets a disposition: restocked (it sells at the
//! node's price with the probability that the node's demand reaches it
//! before the horizon, else it is liquidated then), refurbished (within the
//! node's daily refurbishing capacity), liquidated (within its liquidation
//! capacity), returned to the vendor (defective units, at nodes that do
//! it) or scrapped. A node's value is the units' recoveries minus the
//! return label and the receiving cost; the best node wins when it beats
//! writing the return off.
//!
//! - `value`: what one unit recovers in each channel.
//! - `route`: the exact choice, the runner-up and the reasons.

mod route;
#[cfg(test)]
mod tests;
mod value;

use crate::allocation::request::Destination;
use crate::network::{NodeId, ServiceId, SkuId};

pub use route::route;
pub use value::unit_values;

/// Why the customer returns the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReturnCause {
    /// It does not work.
    Defective,
    /// It arrived damaged.
    DamagedInTransit,
    /// The wrong item was shipped.
    WrongItem,
    /// It differs from its description.
    NotAsDescribed,
    /// Wrong size or fit.
    SizeFit,
    /// No longer needed.
    NoLongerNeeded,
    /// It arrived too late.
    ArrivedLate,
    /// Any other cause.
    Other,
}

/// The returned item's condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Condition {
    /// Unopened: resells as new.
    NewSealed,
    /// Opened, unused, complete: resells as open box.
    LikeNew,
    /// Used but working.
    Used,
    /// Damaged, defective or incomplete.
    Damaged,
}

/// What happens to a returned unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Disposition {
    /// Back into the node's sellable stock.
    Restock,
    /// Refurbished and sold as refurbished.
    Refurbish,
    /// Sold to a liquidator.
    Liquidate,
    /// Sent back to the vendor for credit.
    ReturnToVendor,
    /// Scrapped (at the node), or kept by the customer (nothing ships).
    WriteOff,
}

impl Disposition {
    /// Every disposition, in a fixed order.
    pub const ALL: [Disposition; 5] = [
        Disposition::Restock,
        Disposition::Refurbish,
        Disposition::Liquidate,
        Disposition::ReturnToVendor,
        Disposition::WriteOff,
    ];

    /// Lower-case name, as in reasons and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Restock => "restock",
            Disposition::Refurbish => "refurbish",
            Disposition::Liquidate => "liquidate",
            Disposition::ReturnToVendor => "return to vendor",
            Disposition::WriteOff => "write off",
        }
    }
}

/// What the recovery channels pay, as shares of the unit price (per
/// mille): the returns policy of the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReturnEconomics {
    /// An opened, like-new unit resells at this share of the price.
    pub open_box_permille: i64,
    /// A refurbished unit sells at this share.
    pub refurbished_permille: i64,
    /// A liquidator pays this share.
    pub liquidation_permille: i64,
    /// A vendor credits this share for a defective unit.
    pub vendor_credit_permille: i64,
}

impl Default for ReturnEconomics {
    fn default() -> Self {
        ReturnEconomics {
            open_box_permille: 850,
            refurbished_permille: 600,
            liquidation_permille: 100,
            vendor_credit_permille: 500,
        }
    }
}

/// One return to route.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnRequest {
    /// The SKU returned.
    pub sku: SkuId,
    /// Units returned (>= 1).
    pub quantity: u32,
    /// Why.
    pub cause: ReturnCause,
    /// In what state.
    pub condition: Condition,
    /// Where it is picked up or dropped off.
    pub origin: Destination,
    /// What one unit sold for, minor units (the value recoveries are
    /// shares of).
    pub unit_price_minor: i64,
}

/// What a node offers a return today.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeOffer {
    /// The node (it accepts returns).
    pub node: NodeId,
    /// Probability that the k-th returned unit restocked here sells before
    /// the horizon (`[k - 1]`, non-increasing in k): the node's demand must
    /// reach past the units it already has. Length: the quantity.
    pub sell_probability: Vec<f64>,
    /// Units it can still refurbish today.
    pub refurbish_left: u32,
    /// Units it can still liquidate today.
    pub liquidation_left: u32,
}

/// Units of the return that get one disposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispositionUnits {
    /// The disposition.
    pub disposition: Disposition,
    /// Units.
    pub units: u32,
    /// What they recover together, minor units (before label and
    /// receiving).
    pub recovery_minor: i64,
}

/// A return sent to one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRoute {
    /// The node.
    pub node: NodeId,
    /// The carrier service of the return label.
    pub service: ServiceId,
    /// The label, minor units.
    pub label_cost_minor: i64,
    /// Receiving every unit, minor units.
    pub receiving_cost_minor: i64,
    /// The units by disposition (each disposition at most once, in
    /// [`Disposition::ALL`] order).
    pub units: Vec<DispositionUnits>,
}

impl NodeRoute {
    /// What the units recover together.
    pub fn recovery_minor(&self) -> i64 {
        self.units.iter().map(|u| u.recovery_minor).sum()
    }

    /// Recovery minus label minus receiving.
    pub fn net_minor(&self) -> i64 {
        self.recovery_minor() - self.label_cost_minor - self.receiving_cost_minor
    }

    /// The disposition of the most units (the first in
    /// [`Disposition::ALL`] order on a tie).
    pub fn main_disposition(&self) -> Disposition {
        let mut best = (Disposition::WriteOff, 0u32);
        for u in &self.units {
            if u.units > best.1 {
                best = (u.disposition, u.units);
            }
        }
        best.0
    }

    /// Units with `disposition`.
    pub fn units_of(&self, disposition: Disposition) -> u32 {
        self.units
            .iter()
            .filter(|u| u.disposition == disposition)
            .map(|u| u.units)
            .sum()
    }
}

/// Why a return was routed as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReturnReasonCode {
    /// Units are restocked where they are expected to sell.
    Restock,
    /// Units are refurbished.
    Refurbish,
    /// Units are liquidated: worth more sold in bulk than anything else.
    Liquidate,
    /// Defective units go back to the vendor for credit.
    ReturnToVendor,
    /// The return is not worth shipping (or units are scrapped).
    WriteOff,
    /// A better channel at the node (or a better node) had no capacity
    /// left today.
    ChannelFull,
    /// The next-best node and what it would have netted.
    RunnerUp,
    /// No node accepting returns has a label for the origin.
    NoReturnNode,
}

/// One reason, with its sentence, its node and the value it accounts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnReason {
    /// The code.
    pub code: ReturnReasonCode,
    /// A sentence for a support agent.
    pub message: String,
    /// The node the reason is about, if any.
    pub node: Option<NodeId>,
    /// A value difference in minor units (0 when not applicable).
    pub value_delta: i64,
}

/// The routing of one return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnRoute {
    /// Where it goes; `None`: written off where it is (nothing ships).
    pub chosen: Option<NodeRoute>,
    /// The best route to another node (or, when the return ships, `None`
    /// if no other node could take it).
    pub runner_up: Option<NodeRoute>,
    /// Nodes that could receive it (a label exists from the origin).
    pub candidates: usize,
    /// Why.
    pub reasons: Vec<ReturnReason>,
}

impl ReturnRoute {
    /// The net recovery: the chosen route's, 0 for a write-off.
    pub fn net_minor(&self) -> i64 {
        self.chosen.as_ref().map_or(0, NodeRoute::net_minor)
    }
}
