//! returns-eval: returns routing against "send it to the nearest DC and
//! restock it", judged on the synthetic world's held-out ground truth.
//!
//! The world's returns of its held-out weeks (each names its order and the
//! returned line's category; the SKU is the order's line of that
//! category), from the order's shipping address, are routed two ways:
//!
//! - **allot**: `allot_engine::returns::route` over every node that
//!   accepts returns, with the node's demo stock, its refurbishing and
//!   liquidation capacity per day (counted across the returns), and P(sells)
//!   from a forecast of the node region's demand over the next 28 days: the
//!   region's demand of the 28 days before the return, as a Poisson mean (a
//!   moving average, not the served demand model: this evaluation needs no
//!   ONNX Runtime);
//! - **nearest DC**: the nearest DC that accepts returns, every unit
//!   restocked when its condition allows (sealed or like new, not
//!   defective), else liquidated.
//!
//! Both are judged by what actually happens in the world: a restocked unit
//! sells at its node when the region's orders of that SKU over the 28 days
//! after the return reach past the node's stock ahead of it (the demo
//! stock's available units plus the returned units restocked there
//! before); an unsold unit is liquidated. Label and receiving are paid as
//! routed. Shares: the default `[returns]` configuration.

use std::collections::HashMap;

use allot_engine::allocation::request::Destination;
use allot_engine::network::{
    DEMO_SEED, Network, NodeId, NodeKind, RegionId, SkuId, demo_stock, distance_km,
};
use allot_engine::returns::{
    Condition, Disposition, NodeOffer, NodeRoute, ReturnCause, ReturnEconomics, ReturnRequest,
    route,
};
use allot_models::demand::NegativeBinomial;
use allot_training::world::{self, World, WorldConfig};
use clap::Parser;
use serde_json::json;

/// Days a restocked unit has to sell (the served horizon).
const HORIZON_DAYS: i64 = 28;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "returns-eval",
    about = "Returns routing against nearest-DC-and-restock on the synthetic world's held-out returns"
)]
struct Args {
    /// World seeds (7 is the seed the models trained on).
    #[arg(long, value_delimiter = ',', default_value = "11,23,31")]
    seeds: Vec<u64>,
    /// Days of returns evaluated: those before the world's last 28 days
    /// (which give their outcome).
    #[arg(long, default_value_t = 28)]
    days: u32,
}

/// Units of each (SKU, region) ordered, by time.
struct Demand(HashMap<(SkuId, RegionId), Vec<(i64, u32)>>);

impl Demand {
    fn of(world: &World) -> Demand {
        let mut by: HashMap<(SkuId, RegionId), Vec<(i64, u32)>> = HashMap::new();
        for o in &world.orders {
            if o.fraud.is_some() {
                continue;
            }
            let region = world.population.addresses[o.ship as usize].region;
            for l in &o.lines {
                by.entry((l.sku, region)).or_default().push((o.time, l.qty));
            }
        }
        for v in by.values_mut() {
            v.sort_unstable();
        }
        Demand(by)
    }

    /// Units ordered in `(from, to]`.
    fn between(&self, sku: SkuId, region: RegionId, from: i64, to: i64) -> u64 {
        let Some(v) = self.0.get(&(sku, region)) else {
            return 0;
        };
        let start = v.partition_point(|(t, _)| *t <= from);
        let end = v.partition_point(|(t, _)| *t <= to);
        v[start..end].iter().map(|(_, q)| u64::from(*q)).sum()
    }
}

/// P(X >= k) for a Poisson X with `mean`, k = first..first + n.
fn poisson_reach(mean: f64, first: u64, n: u32) -> Vec<f64> {
    let first = u32::try_from(first).unwrap_or(u32::MAX - n);
    let reach = NegativeBinomial::from_moments(mean, mean).survival_upto(first + n - 1);
    reach
        .get(first as usize - 1..)
        .map_or_else(|| vec![0.0; n as usize], <[f64]>::to_vec)
}

fn cause(r: world::ReturnReason) -> ReturnCause {
    match r {
        world::ReturnReason::SizeFit => ReturnCause::SizeFit,
        world::ReturnReason::ChangedMind => ReturnCause::NoLongerNeeded,
        world::ReturnReason::NotAsDescribed => ReturnCause::NotAsDescribed,
        world::ReturnReason::Damaged => ReturnCause::DamagedInTransit,
        world::ReturnReason::Defective => ReturnCause::Defective,
        world::ReturnReason::ArrivedLate => ReturnCause::ArrivedLate,
    }
}

fn condition(c: world::Condition) -> Condition {
    match c {
        world::Condition::New => Condition::NewSealed,
        world::Condition::Opened => Condition::LikeNew,
        world::Condition::Used => Condition::Used,
        world::Condition::Damaged => Condition::Damaged,
    }
}

fn share(price: i64, permille: i64) -> i64 {
    (price * permille + 500).div_euclid(1000)
}

/// What the world makes of units at a node: restocked units sell when the
/// region's next 28 days of orders reach past the stock ahead of them.
struct Outcome<'a> {
    network: &'a Network,
    demand: &'a Demand,
    economics: ReturnEconomics,
    /// Returned units restocked so far per (node, SKU): ahead of later ones.
    restocked: HashMap<(NodeId, SkuId), u64>,
    /// Restocked units that sold within the horizon.
    sold: u64,
    available: &'a HashMap<(NodeId, SkuId), u64>,
}

impl Outcome<'_> {
    /// The realized recovery of `units` of `r` restocked at `node` at
    /// `time` (each unsold one liquidated), counting them as stock ahead
    /// of later returns.
    fn restock(&mut self, r: &ReturnRequest, node: NodeId, units: u32, time: i64) -> i64 {
        let region = self
            .network
            .nearest_region(self.network.node(node).location);
        let sold_out = self
            .demand
            .between(r.sku, region, time, time + HORIZON_DAYS * 86_400);
        let ahead = self.available.get(&(node, r.sku)).copied().unwrap_or(0)
            + self.restocked.get(&(node, r.sku)).copied().unwrap_or(0);
        let resale = match r.condition {
            Condition::NewSealed => r.unit_price_minor,
            _ => share(r.unit_price_minor, self.economics.open_box_permille),
        };
        let salvage = share(r.unit_price_minor, self.economics.liquidation_permille);
        let sold = sold_out.saturating_sub(ahead).min(u64::from(units)) as i64;
        self.sold += sold as u64;
        *self.restocked.entry((node, r.sku)).or_default() += u64::from(units);
        sold * resale + (i64::from(units) - sold) * salvage
    }

    /// The realized net of `routed` for `r` at `time`.
    fn net(&mut self, r: &ReturnRequest, routed: &NodeRoute, time: i64) -> i64 {
        let mut recovered = 0;
        for u in &routed.units {
            recovered += match u.disposition {
                Disposition::Restock => self.restock(r, routed.node, u.units, time),
                _ => u.recovery_minor,
            };
        }
        recovered - routed.label_cost_minor - routed.receiving_cost_minor
    }
}

/// One seed's totals.
#[derive(Debug, Default)]
struct Totals {
    returns: u64,
    units: u64,
    allot: i64,
    nearest: i64,
    allot_restocked: u64,
    nearest_restocked: u64,
    allot_sold: u64,
    nearest_sold: u64,
    allot_refurbished: u64,
    written_off: u64,
    same_node: u64,
}

fn evaluate(seed: u64, days: u32) -> Totals {
    let world = World::generate(WorldConfig::new(seed));
    let net = &world.network;
    let economics = ReturnEconomics::default();
    let demand = Demand::of(&world);
    let mut available: HashMap<(NodeId, SkuId), u64> = HashMap::new();
    for row in demo_stock(net, DEMO_SEED) {
        let a = (row.on_hand - row.reserved - row.protected).max(0) as u64;
        available.insert((row.node, row.sku), a);
    }
    let end = world.calendar.midnight(world.config.days - 1) - HORIZON_DAYS * 86_400;
    let start = end - i64::from(days) * 86_400;
    let return_nodes: Vec<NodeId> = net
        .node_ids()
        .filter(|&n| net.node(n).accepts_returns)
        .collect();
    let dcs: Vec<NodeId> = return_nodes
        .iter()
        .copied()
        .filter(|&n| net.node(n).kind == NodeKind::DistributionCenter)
        .collect();
    let mut returns: Vec<&world::Return> = world
        .returns
        .iter()
        .filter(|r| r.time >= start && r.time < end)
        .collect();
    returns.sort_by_key(|r| r.time);
    let outcome = || Outcome {
        network: net,
        demand: &demand,
        economics,
        restocked: HashMap::new(),
        sold: 0,
        available: &available,
    };
    let (mut allot, mut nearest) = (outcome(), outcome());
    let mut used: HashMap<(NodeId, i64), (u32, u32)> = HashMap::new();
    let mut t = Totals::default();
    for ret in returns {
        let order = &world.orders[ret.order as usize];
        let Some(line) = order.lines.iter().find(|l| l.category == ret.category) else {
            continue;
        };
        let address = &world.population.addresses[order.ship as usize];
        let request = ReturnRequest {
            sku: line.sku,
            quantity: line.qty,
            cause: cause(ret.reason),
            condition: condition(ret.condition),
            origin: Destination {
                point: address.point,
                region: Some(address.region),
            },
            unit_price_minor: line.unit_price_minor,
        };
        let day = ret.time.div_euclid(86_400);
        // allot: P(sells) from the region's last 28 days.
        let offers: Vec<NodeOffer> = return_nodes
            .iter()
            .map(|&node| {
                let region = net.nearest_region(net.node(node).location);
                let mean = demand.between(
                    request.sku,
                    region,
                    ret.time - HORIZON_DAYS * 86_400,
                    ret.time,
                ) as f64;
                let ahead = available.get(&(node, request.sku)).copied().unwrap_or(0)
                    + allot
                        .restocked
                        .get(&(node, request.sku))
                        .copied()
                        .unwrap_or(0);
                let (f, l) = used.get(&(node, day)).copied().unwrap_or_default();
                let r = &net.node(node).returns;
                NodeOffer {
                    node,
                    sell_probability: poisson_reach(mean, ahead + 1, request.quantity),
                    refurbish_left: r.refurbish_units_per_day.saturating_sub(f),
                    liquidation_left: r.liquidation_units_per_day.saturating_sub(l),
                }
            })
            .collect();
        let routed = route(net, &request, &economics, &offers);
        t.returns += 1;
        t.units += u64::from(request.quantity);
        let allot_node = match &routed.chosen {
            Some(chosen) => {
                let e = used.entry((chosen.node, day)).or_default();
                e.0 += chosen.units_of(Disposition::Refurbish);
                e.1 += chosen.units_of(Disposition::Liquidate);
                t.allot_restocked += u64::from(chosen.units_of(Disposition::Restock));
                t.allot_refurbished += u64::from(chosen.units_of(Disposition::Refurbish));
                t.allot += allot.net(&request, chosen, ret.time);
                Some(chosen.node)
            }
            None => {
                t.written_off += 1;
                None
            }
        };
        // Nearest DC, restocked when resellable, else liquidated.
        let Some(&dc) = dcs.iter().min_by(|a, b| {
            let da = distance_km(net.node(**a).location, address.point);
            let db = distance_km(net.node(**b).location, address.point);
            da.total_cmp(&db)
        }) else {
            continue;
        };
        let single = NodeOffer {
            node: dc,
            sell_probability: vec![1.0; request.quantity as usize],
            refurbish_left: 0,
            liquidation_left: request.quantity,
        };
        let at_dc = route(net, &request, &economics, &[single]);
        let Some(mut baseline) = at_dc.chosen.or(at_dc.runner_up) else {
            continue;
        };
        let resellable = matches!(request.condition, Condition::NewSealed | Condition::LikeNew)
            && request.cause != ReturnCause::Defective;
        let salvage = share(request.unit_price_minor, economics.liquidation_permille)
            / if request.condition == Condition::Damaged {
                2
            } else {
                1
            };
        baseline.units = vec![allot_engine::returns::DispositionUnits {
            disposition: if resellable {
                Disposition::Restock
            } else {
                Disposition::Liquidate
            },
            units: request.quantity,
            recovery_minor: if resellable {
                0
            } else {
                salvage * i64::from(request.quantity)
            },
        }];
        if resellable {
            t.nearest_restocked += u64::from(request.quantity);
        }
        t.nearest += nearest.net(&request, &baseline, ret.time);
        if allot_node == Some(dc) {
            t.same_node += 1;
        }
    }
    t.allot_sold = allot.sold;
    t.nearest_sold = nearest.sold;
    t
}

fn main() {
    let args = Args::parse();
    let mut rows = Vec::new();
    println!(
        "| seed | returns | units | allot net / return | nearest DC net / return | allot - nearest, per return | restocked units sold: allot | restocked units sold: nearest DC | refurbished units (allot) | written off | same node as nearest |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for &seed in &args.seeds {
        let t = evaluate(seed, args.days);
        let n = t.returns.max(1) as f64;
        let (a, b) = (t.allot as f64 / n / 100.0, t.nearest as f64 / n / 100.0);
        println!(
            "| {seed} | {} | {} | ${a:.2} | ${b:.2} | ${:.2} | {} of {} | {} of {} | {} | {:.1}% | {:.1}% |",
            t.returns,
            t.units,
            a - b,
            t.allot_sold,
            t.allot_restocked,
            t.nearest_sold,
            t.nearest_restocked,
            t.allot_refurbished,
            100.0 * t.written_off as f64 / n,
            100.0 * t.same_node as f64 / n,
        );
        rows.push(json!({
            "seed": seed, "returns": t.returns, "units": t.units,
            "allot_net_minor": t.allot, "nearest_net_minor": t.nearest,
            "allot_restocked_units": t.allot_restocked, "nearest_restocked_units": t.nearest_restocked,
            "allot_sold_units": t.allot_sold, "nearest_sold_units": t.nearest_sold,
            "allot_refurbished_units": t.allot_refurbished,
            "written_off": t.written_off, "same_node": t.same_node,
        }));
    }
    println!(
        "{}",
        json!({"bench": "returns-eval", "days": args.days, "runs": rows})
    );
}
