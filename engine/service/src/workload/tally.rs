//! The workload of each node per local day: routed demand and held units
//! added on the day they ship, then staff hours, utilisation and the flags
//! a planner acts on.

use std::collections::HashMap;
use std::time::SystemTime;

use allot_engine::calendar::{is_working_day, local_date};
use allot_engine::network::{Network, NodeId, SkuId};
use allot_engine::reservation::Reservation;
use chrono::{Days, NaiveDate};

use super::calendar::{demand_ship_day, held_ship_day};
use super::demand::SeriesDemand;

/// One node's work on one of its local days.
#[derive(Debug, Clone, PartialEq)]
pub struct DayWorkload {
    /// The node-local date.
    pub date: NaiveDate,
    /// Expected units of forecast demand shipping that day.
    pub forecast_units: f64,
    /// Units of held reservations shipping that day.
    pub reserved_units: u32,
    /// `forecast_units + reserved_units`.
    pub total_units: f64,
    /// `total_units / units_per_staff_hour`.
    pub staff_hours: f64,
    /// `total_units / daily_capacity_units` (0 with no capacity).
    pub utilisation: f64,
    /// The node does not ship that day (closed weekday or holiday): its
    /// work moved to the next working day.
    pub closed: bool,
    /// More units than the node's daily capacity.
    pub over_capacity: bool,
}

/// One node's workload over the horizon.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeWorkload {
    /// The node.
    pub node: NodeId,
    /// Its productivity, from the network file.
    pub units_per_staff_hour: u32,
    /// Its daily capacity, from the network file.
    pub daily_capacity_units: u32,
    /// One entry per day from the node's today.
    pub days: Vec<DayWorkload>,
}

/// Units landing on node-days.
pub struct Tally<'a> {
    network: &'a Network,
    now: SystemTime,
    /// Per node asked: its today.
    today: HashMap<NodeId, NaiveDate>,
    days: usize,
    forecast: HashMap<(NodeId, NaiveDate), f64>,
    reserved: HashMap<(NodeId, NaiveDate), u32>,
}

impl<'a> Tally<'a> {
    /// An empty tally of `nodes` over `days` days from each node's today
    /// at `now`.
    pub fn new(network: &'a Network, nodes: &[NodeId], days: usize, now: SystemTime) -> Tally<'a> {
        Tally {
            network,
            now,
            today: nodes
                .iter()
                .map(|&n| (n, local_date(network.node(n).time_zone, now)))
                .collect(),
            days,
            forecast: HashMap::new(),
            reserved: HashMap::new(),
        }
    }

    /// Whether `day` is inside `node`'s horizon (and the node is asked).
    fn inside(&self, node: NodeId, day: NaiveDate) -> bool {
        self.today
            .get(&node)
            .is_some_and(|&today| day >= today && (day - today).num_days() < self.days as i64)
    }

    /// Adds `demand`, shipped from `node`, on the days it ships.
    pub fn add_demand(&mut self, node: NodeId, demand: &SeriesDemand) {
        if !self.today.contains_key(&node) {
            return;
        }
        let n = self.network.node(node);
        for &(date, units) in &demand.days {
            let Some(day) = demand_ship_day(n, date, self.now) else {
                continue;
            };
            if self.inside(node, day) {
                *self.forecast.entry((node, day)).or_insert(0.0) += units;
            }
        }
    }

    /// Adds the units of `held` (of `skus` only, when not empty) on the
    /// days they ship.
    pub fn add_held(&mut self, held: &Reservation, skus: &[SkuId]) {
        for u in &held.units {
            if !skus.is_empty() && !skus.contains(&u.sku) {
                continue;
            }
            let Some(day) = held_ship_day(self.network.node(u.node), held.created_at, self.now)
            else {
                continue;
            };
            if self.inside(u.node, day) {
                *self.reserved.entry((u.node, day)).or_insert(0) += u.quantity;
            }
        }
    }

    /// Every asked node's days, in `nodes` order.
    pub fn finish(&self, nodes: &[NodeId]) -> Vec<NodeWorkload> {
        nodes
            .iter()
            .map(|&node| {
                let n = self.network.node(node);
                let today = self.today[&node];
                let days = (0..self.days as u64)
                    .filter_map(|d| today.checked_add_days(Days::new(d)))
                    .map(|date| {
                        let forecast_units = self.forecast.get(&(node, date)).copied();
                        let forecast_units = forecast_units.unwrap_or(0.0);
                        let reserved_units = self.reserved.get(&(node, date)).copied();
                        let reserved_units = reserved_units.unwrap_or(0);
                        let total_units = forecast_units + f64::from(reserved_units);
                        let per_hour = f64::from(n.units_per_staff_hour);
                        let capacity = f64::from(n.daily_capacity_units);
                        DayWorkload {
                            date,
                            forecast_units,
                            reserved_units,
                            total_units,
                            staff_hours: if per_hour > 0.0 {
                                total_units / per_hour
                            } else {
                                0.0
                            },
                            utilisation: if capacity > 0.0 {
                                total_units / capacity
                            } else {
                                0.0
                            },
                            closed: !is_working_day(n, date),
                            over_capacity: total_units > capacity,
                        }
                    })
                    .collect();
                NodeWorkload {
                    node,
                    units_per_staff_hour: n.units_per_staff_hour,
                    daily_capacity_units: n.daily_capacity_units,
                    days,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use allot_engine::network::demo::demo_parts;
    use allot_engine::network::{DEMO_SEED, RegionId, WeekdaySet};
    use allot_engine::reservation::{ReservationState, ReservedUnits};
    use chrono::{NaiveTime, TimeZone, Utc};

    use super::*;

    /// The demo network with node 0 open on weekdays, processing the day
    /// it releases, cutoff 14:00.
    fn network() -> Network {
        let mut parts = demo_parts(DEMO_SEED);
        let node = &mut parts.nodes[0];
        node.open_days = WeekdaySet::WEEKDAYS;
        node.holidays.clear();
        node.processing_days = 0;
        node.order_cutoff = NaiveTime::from_hms_opt(14, 0, 0).unwrap();
        Network::from_parts(parts, "test").unwrap()
    }

    fn friday_morning(network: &Network) -> SystemTime {
        // 2026-11-20 is a Friday; 10:00 at node 0.
        let t = network
            .node(NodeId(0))
            .time_zone
            .with_ymd_and_hms(2026, 11, 20, 10, 0, 0)
            .single()
            .unwrap();
        SystemTime::from(t.with_timezone(&Utc))
    }

    fn date(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    #[test]
    fn weekend_demand_and_holds_land_on_monday_with_hours_from_productivity() {
        let net = network();
        let now = friday_morning(&net);
        let node = NodeId(0);
        let mut tally = Tally::new(&net, &[node], 4, now);
        let demand = SeriesDemand {
            sku: SkuId(0),
            region: RegionId(0),
            days: (20..=23).map(|d| (date(d), 10.0)).collect(),
        };
        tally.add_demand(node, &demand);
        tally.add_demand(NodeId(1), &demand); // not asked: ignored
        let held = Reservation {
            id: "rsv_1".into(),
            order_id: "o-1".into(),
            decision_id: "d-1".into(),
            units: vec![ReservedUnits {
                line_id: "1".into(),
                node,
                sku: SkuId(3),
                quantity: 4,
            }],
            created_at: now + Duration::from_secs(6 * 3600), // after the cutoff
            expires_at: now + Duration::from_secs(86_400),
            state: ReservationState::Held,
            updated_at: now,
            capacity_days: Vec::new(),
        };
        tally.add_held(&held, &[]);
        tally.add_held(&held, &[SkuId(0)]); // filtered out
        let out = tally.finish(&[node]);
        let days = &out[0].days;
        let n = net.node(node);
        assert_eq!(
            days.iter().map(|d| d.date).collect::<Vec<_>>(),
            vec![date(20), date(21), date(22), date(23)]
        );
        assert_eq!(days[0].forecast_units, 10.0);
        assert!(days[1].closed && days[2].closed);
        assert_eq!(days[1].total_units + days[2].total_units, 0.0);
        // Saturday's and Sunday's demand and the hold placed after
        // Friday's cutoff ship on Monday.
        assert_eq!(days[3].forecast_units, 30.0);
        assert_eq!(days[3].reserved_units, 4);
        assert_eq!(days[3].total_units, 34.0);
        assert_eq!(
            days[3].staff_hours,
            34.0 / f64::from(n.units_per_staff_hour)
        );
        assert_eq!(
            days[3].over_capacity,
            34.0 > f64::from(n.daily_capacity_units)
        );
    }
}
