//! Stock tiers: how many units of each line a node may ship from its free
//! and from its protected stock, and which lines it holds but may not ship
//! (cold chain, hazmat).

use super::ExclusionReason;
use crate::allocation::problem::ProblemLine;
use crate::network::{Network, Node, SkuId};
use crate::stock::StockLevel;

/// One line's usable stock at one node.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Tier {
    /// Units the line may take from the free pool.
    pub(super) free: u32,
    /// Units the line may take from the protected pool (after the free).
    pub(super) protected: u32,
    /// Set when the node holds the SKU but may not ship it.
    pub(super) restricted: Option<ExclusionReason>,
}

/// Free and protected units per line at one node; a SKU repeated on several
/// lines shares its pools (earlier lines first).
pub(super) fn stock_tiers(
    network: &Network,
    node: &Node,
    lines: &[ProblemLine],
    level: impl Fn(usize) -> StockLevel,
) -> Vec<Tier> {
    let mut used: Vec<(SkuId, i64, i64)> = Vec::new();
    lines
        .iter()
        .enumerate()
        .map(|(k, line)| {
            let s = level(k);
            let available = s.available();
            let prot_pool = s.protected.max(0).min(available);
            let free_pool = available - prot_pool;
            let (taken_free, taken_prot) = used
                .iter()
                .find(|u| u.0 == line.sku)
                .map_or((0, 0), |u| (u.1, u.2));
            let sku = network.sku(line.sku);
            let restricted = if sku.cold_chain && !node.cold_chain {
                Some(ExclusionReason::ColdChain)
            } else if sku.hazmat && !node.hazmat {
                Some(ExclusionReason::Hazmat)
            } else {
                None
            };
            if available == 0 {
                return Tier::default();
            }
            if restricted.is_some() {
                return Tier {
                    restricted,
                    ..Tier::default()
                };
            }
            let q = i64::from(line.quantity);
            let free = q.min((free_pool - taken_free).max(0));
            let protected = (q - free).min((prot_pool - taken_prot).max(0));
            match used.iter_mut().find(|u| u.0 == line.sku) {
                Some(u) => {
                    u.1 += free;
                    u.2 += protected;
                }
                None => used.push((line.sku, free, protected)),
            }
            Tier {
                free: free as u32,
                protected: protected as u32,
                restricted: None,
            }
        })
        .collect()
}
