//! What one returned unit recovers at a node in each channel, and the
//! units' best dispositions there.
//!
//! Every channel's per-unit values are non-increasing in the number of
//! units it takes (restocking: each further unit must outsell the ones
//! before it; the others: constant up to their capacity), so taking, unit
//! by unit, the best next value of any channel is an optimal assignment of
//! the units to the channels (an exchange argument: a concave separable
//! objective under per-channel counts). `tests` checks it against every
//! assignment on small cases.

use allot_network::ReturnHandling;

use super::{Condition, Disposition, DispositionUnits, NodeOffer, ReturnCause, ReturnEconomics};

/// `price * permille / 1000`, rounded to the nearest minor unit.
fn share(price: i64, permille: i64) -> i64 {
    (price * permille + 500).div_euclid(1000)
}

/// The channels open to a return at a node, and each one's value per unit.
struct Channels {
    /// Value of the k-th restocked unit (`[k - 1]`); empty when the unit
    /// may not be restocked.
    restock: Vec<i64>,
    /// Value of a refurbished unit and how many may be, if any.
    refurbish: Option<(i64, u32)>,
    /// Value of a liquidated unit and how many may be, if any.
    liquidate: Option<(i64, u32)>,
    /// Value of a unit returned to its vendor, if it may be.
    vendor: Option<i64>,
}

impl Channels {
    fn new(
        cause: ReturnCause,
        condition: Condition,
        price: i64,
        economics: &ReturnEconomics,
        handling: &ReturnHandling,
        offer: &NodeOffer,
    ) -> Channels {
        let salvage = match condition {
            Condition::Damaged => share(price, economics.liquidation_permille) / 2,
            _ => share(price, economics.liquidation_permille),
        };
        let resale = match condition {
            Condition::NewSealed => Some(price),
            Condition::LikeNew => Some(share(price, economics.open_box_permille)),
            Condition::Used | Condition::Damaged => None,
        }
        .filter(|_| cause != ReturnCause::Defective);
        let restock = match resale {
            Some(resale) => offer
                .sell_probability
                .iter()
                .map(|&p| {
                    let p = p.clamp(0.0, 1.0);
                    (resale as f64 * p + salvage as f64 * (1.0 - p)).round() as i64
                })
                .collect(),
            None => Vec::new(),
        };
        let refurbish = (condition != Condition::NewSealed
            && handling.refurbish_units_per_day > 0
            && offer.refurbish_left > 0)
            .then(|| {
                (
                    share(price, economics.refurbished_permille) - handling.refurbish_cost_minor,
                    offer.refurbish_left,
                )
            });
        let liquidate = (handling.liquidation_units_per_day > 0 && offer.liquidation_left > 0)
            .then_some((salvage, offer.liquidation_left));
        let vendor = (cause == ReturnCause::Defective && handling.returns_to_vendor)
            .then(|| share(price, economics.vendor_credit_permille));
        Channels {
            restock,
            refurbish,
            liquidate,
            vendor,
        }
    }
}

/// The best disposition of each of `quantity` units at a node, and what
/// each recovers (before label and receiving), in [`Disposition::ALL`]
/// order, each disposition at most once.
pub fn unit_values(
    cause: ReturnCause,
    condition: Condition,
    quantity: u32,
    price: i64,
    economics: &ReturnEconomics,
    handling: &ReturnHandling,
    offer: &NodeOffer,
) -> Vec<DispositionUnits> {
    let channels = Channels::new(cause, condition, price, economics, handling, offer);
    let mut taken = [0u32; 5];
    let mut recovered = [0i64; 5];
    for _ in 0..quantity {
        let restocked = taken[0] as usize;
        let options = [
            channels.restock.get(restocked).copied(),
            channels
                .refurbish
                .filter(|(_, cap)| taken[1] < *cap)
                .map(|(v, _)| v),
            channels
                .liquidate
                .filter(|(_, cap)| taken[2] < *cap)
                .map(|(v, _)| v),
            channels.vendor,
            Some(0),
        ];
        // The highest value; a tie keeps the earlier disposition.
        let mut best = (4usize, 0i64);
        for (i, v) in options.iter().enumerate().take(4) {
            if let Some(v) = *v
                && (v > best.1 || (v == best.1 && i < best.0))
            {
                best = (i, v);
            }
        }
        let best = best.0;
        taken[best] += 1;
        recovered[best] += options[best].unwrap_or(0);
    }
    Disposition::ALL
        .iter()
        .zip(taken.iter().zip(recovered))
        .filter(|(_, (n, _))| **n > 0)
        .map(|(d, (n, r))| DispositionUnits {
            disposition: *d,
            units: *n,
            recovery_minor: r,
        })
        .collect()
}
