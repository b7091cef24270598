//! The configurable penalties of the allocation objective.

use serde::{Deserialize, Serialize};

/// Penalties of the objective, in minor currency units (cents). Embedded in
/// the server's configuration (`[allocation.costs]`); unknown keys are
/// rejected and missing keys take the defaults below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CostParams {
    /// Per shipping node beyond the first: a second box, a second delivery,
    /// a worse customer experience. Default 250 (2.50).
    pub split_penalty: i64,
    /// Per unit backordered: the margin and goodwill at risk when a unit is
    /// not shipped now. Default 4000 (40.00).
    pub backorder_penalty: i64,
    /// Per unit taken from protected stock (kept back for higher-value
    /// demand, for example store walk-ins). Default 600 (6.00).
    pub protect_penalty: i64,
    /// Per unit, multiplied by the probability of late delivery: the expected
    /// cost of a missed promise (refunds, contacts). Default 1500 (15.00).
    pub late_penalty: i64,
    /// What a sale lost at a node costs, per mille of the SKU's unit price
    /// (its margin and goodwill): with the demand forecast, a protected unit
    /// costs this times the probability that the node's own demand before
    /// its replenishment needs it. Default 300 (30% of the price).
    pub lost_sale_permille: i64,
}

impl CostParams {
    /// Default split penalty (minor units per extra node).
    pub const DEFAULT_SPLIT_PENALTY: i64 = 250;
    /// Default backorder penalty (minor units per unit).
    pub const DEFAULT_BACKORDER_PENALTY: i64 = 4_000;
    /// Default protection penalty (minor units per unit).
    pub const DEFAULT_PROTECT_PENALTY: i64 = 600;
    /// Default lateness penalty (minor units per unit at probability 1).
    pub const DEFAULT_LATE_PENALTY: i64 = 1_500;
    /// Default cost of a lost sale (per mille of the unit price).
    pub const DEFAULT_LOST_SALE_PERMILLE: i64 = 300;
}

impl Default for CostParams {
    fn default() -> Self {
        CostParams {
            split_penalty: Self::DEFAULT_SPLIT_PENALTY,
            backorder_penalty: Self::DEFAULT_BACKORDER_PENALTY,
            protect_penalty: Self::DEFAULT_PROTECT_PENALTY,
            late_penalty: Self::DEFAULT_LATE_PENALTY,
            lost_sale_permille: Self::DEFAULT_LOST_SALE_PERMILLE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_toml_takes_defaults_and_unknown_keys_fail() {
        let p: CostParams = toml::from_str("split_penalty = 100").unwrap();
        assert_eq!(p.split_penalty, 100);
        assert_eq!(p.backorder_penalty, CostParams::DEFAULT_BACKORDER_PENALTY);
        assert!(toml::from_str::<CostParams>("split = 1").is_err());
        let round = toml::to_string(&CostParams::default()).unwrap();
        assert_eq!(
            toml::from_str::<CostParams>(&round).unwrap(),
            CostParams::default()
        );
    }
}
