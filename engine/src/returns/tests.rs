use allot_network::{GeoPoint, Network, NodeKind, ReturnHandling};
use proptest::prelude::*;

use super::*;
use crate::allocation::request::Destination;

fn demo() -> Network {
    Network::demo(crate::network::DEMO_SEED)
}

fn offers(net: &Network, quantity: u32, p: f64) -> Vec<NodeOffer> {
    net.node_ids()
        .filter(|&n| net.node(n).accepts_returns)
        .map(|node| NodeOffer {
            node,
            sell_probability: vec![p; quantity as usize],
            refurbish_left: net.node(node).returns.refurbish_units_per_day,
            liquidation_left: net.node(node).returns.liquidation_units_per_day,
        })
        .collect()
}

fn request(
    net: &Network,
    quantity: u32,
    condition: Condition,
    cause: ReturnCause,
) -> ReturnRequest {
    let sku = allot_network::SkuId(10);
    let nyc = GeoPoint {
        lat: 40.71,
        lon: -74.0,
    };
    ReturnRequest {
        sku,
        quantity,
        cause,
        condition,
        origin: Destination {
            point: nyc,
            region: None,
        },
        unit_price_minor: net.sku(sku).unit_price_minor.max(5_000),
    }
}

#[test]
fn a_sealed_item_that_sells_is_restocked_at_the_best_node_and_beats_the_runner_up() {
    let net = demo();
    let r = request(&net, 1, Condition::NewSealed, ReturnCause::SizeFit);
    let routed = route(&net, &r, &ReturnEconomics::default(), &offers(&net, 1, 0.9));
    let chosen = routed.chosen.expect("a sellable item ships");
    assert_eq!(chosen.main_disposition(), Disposition::Restock);
    let runner = routed
        .runner_up
        .expect("the demo network has many return nodes");
    assert!(chosen.net_minor() >= runner.net_minor());
    // Every candidate nets at most the chosen one.
    for o in offers(&net, 1, 0.9) {
        if let Some(other) = route(&net, &r, &ReturnEconomics::default(), &[o]).chosen {
            assert!(other.net_minor() <= chosen.net_minor(), "{other:?}");
        }
    }
    assert!(
        routed
            .reasons
            .iter()
            .any(|x| x.code == ReturnReasonCode::Restock)
    );
    assert!(
        routed
            .reasons
            .iter()
            .any(|x| x.code == ReturnReasonCode::RunnerUp)
    );
}

#[test]
fn a_cheap_damaged_item_is_written_off_where_it_is() {
    let net = demo();
    let mut r = request(&net, 1, Condition::Damaged, ReturnCause::DamagedInTransit);
    r.unit_price_minor = 300;
    let routed = route(&net, &r, &ReturnEconomics::default(), &offers(&net, 1, 0.9));
    assert_eq!(routed.chosen, None);
    assert_eq!(routed.net_minor(), 0);
    assert!(routed.runner_up.unwrap().net_minor() <= 0);
    assert_eq!(routed.reasons[0].code, ReturnReasonCode::WriteOff);
}

#[test]
fn a_defective_item_goes_back_to_a_vendor_and_is_never_restocked() {
    let net = demo();
    let mut r = request(&net, 2, Condition::NewSealed, ReturnCause::Defective);
    r.unit_price_minor = 40_000;
    let routed = route(&net, &r, &ReturnEconomics::default(), &offers(&net, 2, 1.0));
    let chosen = routed.chosen.unwrap();
    assert_eq!(chosen.units_of(Disposition::Restock), 0);
    assert_eq!(chosen.units_of(Disposition::ReturnToVendor), 2);
    assert!(net.node(chosen.node).returns.returns_to_vendor);
}

#[test]
fn a_full_refurbishing_line_is_a_reason_and_the_units_go_elsewhere() {
    let net = demo();
    let mut r = request(&net, 3, Condition::Used, ReturnCause::NoLongerNeeded);
    r.unit_price_minor = 60_000;
    // One node only, with room to refurbish one unit.
    let node = net
        .node_ids()
        .find(|&n| net.node(n).kind == NodeKind::DistributionCenter)
        .unwrap();
    let offer = NodeOffer {
        node,
        sell_probability: vec![0.0; 3],
        refurbish_left: 1,
        liquidation_left: 2_000,
    };
    let routed = route(&net, &r, &ReturnEconomics::default(), &[offer]);
    let chosen = routed.chosen.unwrap();
    assert_eq!(chosen.units_of(Disposition::Refurbish), 1);
    assert_eq!(chosen.units_of(Disposition::Liquidate), 2);
    assert!(
        routed
            .reasons
            .iter()
            .any(|x| x.code == ReturnReasonCode::ChannelFull && x.value_delta > 0)
    );
}

#[test]
fn no_node_with_a_label_means_a_write_off_with_its_reason() {
    let net = demo();
    let r = request(&net, 1, Condition::NewSealed, ReturnCause::SizeFit);
    let routed = route(&net, &r, &ReturnEconomics::default(), &[]);
    assert_eq!((routed.chosen, routed.candidates), (None, 0));
    assert_eq!(routed.reasons[0].code, ReturnReasonCode::NoReturnNode);
}

/// The best total over every assignment of the units to the channels.
fn brute_force(
    quantity: u32,
    restock: &[i64],
    refurbish: Option<(i64, u32)>,
    liquidate: Option<(i64, u32)>,
    vendor: Option<i64>,
) -> i64 {
    let mut best = i64::MIN;
    for r in 0..=quantity {
        if r > 0 && restock.len() < r as usize {
            continue;
        }
        for f in 0..=(quantity - r) {
            if f > 0 && refurbish.is_none_or(|(_, cap)| f > cap) {
                continue;
            }
            for l in 0..=(quantity - r - f) {
                if l > 0 && liquidate.is_none_or(|(_, cap)| l > cap) {
                    continue;
                }
                for v in 0..=(quantity - r - f - l) {
                    if v > 0 && vendor.is_none() {
                        continue;
                    }
                    let total = restock[..r as usize].iter().sum::<i64>()
                        + i64::from(f) * refurbish.map_or(0, |x| x.0)
                        + i64::from(l) * liquidate.map_or(0, |x| x.0)
                        + i64::from(v) * vendor.unwrap_or(0);
                    best = best.max(total);
                }
            }
        }
    }
    best
}

proptest! {
    /// The unit-by-unit assignment recovers as much as the best of every
    /// assignment of the units to the channels.
    #[test]
    fn unit_by_unit_is_optimal(
        quantity in 1u32..=6,
        mut probabilities in proptest::collection::vec(0.0f64..=1.0, 6),
        price in 100i64..=100_000,
        refurbish_cost in 0i64..=50_000,
        refurbish_left in 0u32..=4,
        liquidation_left in 0u32..=4,
        vendor in any::<bool>(),
        condition in prop_oneof![Just(Condition::NewSealed), Just(Condition::LikeNew), Just(Condition::Used), Just(Condition::Damaged)],
        defective in any::<bool>(),
    ) {
        probabilities.sort_by(|a, b| b.total_cmp(a));
        probabilities.truncate(quantity as usize);
        let economics = ReturnEconomics::default();
        let handling = ReturnHandling {
            receiving_cost_minor: 0,
            refurbish_units_per_day: 10,
            refurbish_cost_minor: refurbish_cost,
            liquidation_units_per_day: 10,
            returns_to_vendor: vendor,
        };
        let offer = NodeOffer {
            node: allot_network::NodeId(0),
            sell_probability: probabilities.clone(),
            refurbish_left,
            liquidation_left,
        };
        let cause = if defective { ReturnCause::Defective } else { ReturnCause::SizeFit };
        let units = unit_values(cause, condition, quantity, price, &economics, &handling, &offer);
        prop_assert_eq!(units.iter().map(|u| u.units).sum::<u32>(), quantity);
        let total: i64 = units.iter().map(|u| u.recovery_minor).sum();
        // The channels' values, computed here from the rules in docs/returns.md.
        let share = |permille: i64| (price * permille + 500).div_euclid(1000);
        let salvage = if condition == Condition::Damaged { share(economics.liquidation_permille) / 2 } else { share(economics.liquidation_permille) };
        let resale = match condition {
            Condition::NewSealed if !defective => Some(price),
            Condition::LikeNew if !defective => Some(share(economics.open_box_permille)),
            _ => None,
        };
        let restock: Vec<i64> = resale.map_or(Vec::new(), |v| probabilities.iter().map(|p| (v as f64 * p + salvage as f64 * (1.0 - p)).round() as i64).collect());
        let refurbish = (condition != Condition::NewSealed && refurbish_left > 0).then_some((share(economics.refurbished_permille) - refurbish_cost, refurbish_left));
        let liquidate = (liquidation_left > 0).then_some((salvage, liquidation_left));
        let vendor = (defective && vendor).then_some(share(economics.vendor_credit_permille));
        prop_assert_eq!(total, brute_force(quantity, &restock, refurbish, liquidate, vendor));
        let within = |u: &DispositionUnits| match u.disposition {
            Disposition::Refurbish => u.units <= refurbish_left,
            Disposition::Liquidate => u.units <= liquidation_left,
            _ => true,
        };
        prop_assert!(units.iter().all(within));
    }
}
