//! The price of a protected unit: the expected cost of the stockout it
//! causes at its node before the node is replenished (docs/allocation.md,
//! "Protected stock"). A [`ProtectionPricer`] (the demand forecast, in the
//! service layer) prices a SKU at a node; where it has no price, the flat
//! `protect_penalty` of the cost parameters applies. What a decision priced
//! is kept in its [`ProtectionRead`], so a replay prices the same.

use std::collections::HashMap;

use allot_network::{NodeId, SkuId};

use super::candidates::BuiltProblem;

/// The price of one protected unit of a SKU at a node, and what it rests
/// on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProtectionPrice {
    /// Minor currency units per protected unit taken.
    pub per_unit: i64,
    /// Probability that the node's own demand before its replenishment
    /// needs every protected unit it holds (so a unit taken now is a sale
    /// lost there).
    pub stockout_probability: f64,
    /// Expected units of the node's own demand before its replenishment.
    pub expected_demand: f64,
    /// Days until the node's replenishment (the forecast horizon).
    pub lead_days: u32,
}

/// Prices protected units from a demand forecast.
pub trait ProtectionPricer: Send + Sync {
    /// The price of one protected unit of `sku` at `node`, which holds
    /// `protected` protected units; `None` when there is no forecast for
    /// them (the flat penalty applies).
    fn price(&self, sku: SkuId, node: NodeId, protected: u32) -> Option<ProtectionPrice>;
}

/// One SKU at one node as a decision priced it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PricedStock {
    /// The node.
    pub node: NodeId,
    /// The SKU.
    pub sku: SkuId,
    /// Its price.
    pub price: ProtectionPrice,
}

/// The protected stock a decision priced from the forecast, by node then
/// SKU; a (node, SKU) absent here was priced at the flat penalty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProtectionRead {
    /// The priced rows.
    pub priced: Vec<PricedStock>,
}

impl ProtectionRead {
    /// The price used for `sku` at `node`, if it came from the forecast.
    pub fn price(&self, node: NodeId, sku: SkuId) -> Option<&ProtectionPrice> {
        self.priced
            .binary_search_by(|p| (p.node, p.sku).cmp(&(node, sku)))
            .ok()
            .map(|i| &self.priced[i].price)
    }
}

/// The prices a decision recorded, for its replay.
#[derive(Debug, Clone, Default)]
pub struct RecordedPrices(HashMap<(NodeId, SkuId), ProtectionPrice>);

impl RecordedPrices {
    /// The recorded prices of a decision.
    pub fn new(priced: impl IntoIterator<Item = PricedStock>) -> RecordedPrices {
        RecordedPrices(
            priced
                .into_iter()
                .map(|p| ((p.node, p.sku), p.price))
                .collect(),
        )
    }
}

impl ProtectionPricer for RecordedPrices {
    fn price(&self, sku: SkuId, node: NodeId, _: u32) -> Option<ProtectionPrice> {
        self.0.get(&(node, sku)).copied()
    }
}

/// Prices every protected (line, candidate) pair of `built` with `pricer`
/// and records the prices used. Only when the flat penalty is not negative
/// (the forecast's prices are never negative, and the solvers need every
/// pair's penalty of one sign).
pub(crate) fn price(built: &mut BuiltProblem, pricer: &dyn ProtectionPricer, flat: i64) {
    if flat < 0 {
        return;
    }
    let mut priced: Vec<PricedStock> = Vec::new();
    let n = built.problem.n();
    for l in 0..built.problem.lines.len() {
        let sku = built.problem.lines[l].sku;
        for c in 0..n {
            let i = built.problem.at(l, c);
            if built.problem.protected_stock[i] == 0 {
                continue;
            }
            let node = built.problem.candidates[c].node;
            let level = built.level_read(node, sku);
            let protected =
                u32::try_from(level.protected.min(level.available()).max(0)).unwrap_or(u32::MAX);
            let known = priced.iter().find(|p| p.node == node && p.sku == sku);
            let price = match known {
                Some(p) => Some(p.price),
                None => pricer.price(sku, node, protected),
            };
            let Some(price) = price else { continue };
            built.problem.protect_penalty[i] = price.per_unit.max(0);
            if known.is_none() {
                priced.push(PricedStock { node, sku, price });
            }
        }
    }
    priced.sort_by_key(|p| (p.node, p.sku));
    built.protection = ProtectionRead { priced };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_prices_answer_what_was_recorded() {
        let price = ProtectionPrice {
            per_unit: 120,
            stockout_probability: 0.2,
            expected_demand: 1.5,
            lead_days: 3,
        };
        let recorded = RecordedPrices::new([PricedStock {
            node: NodeId(4),
            sku: SkuId(9),
            price,
        }]);
        assert_eq!(recorded.price(SkuId(9), NodeId(4), 0), Some(price));
        assert_eq!(recorded.price(SkuId(9), NodeId(5), 0), None);
    }
}
