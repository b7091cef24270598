//! Carriers as they really behave: which node ships, when the parcel leaves
//! (cutoffs, open days, processing, peak backlog), and when it arrives
//! (distance, service, weekday, holidays, regional disruptions, tails).

use allot_engine::network::{
    GeoPoint, Network, NodeId, NodeKind, RegionId, ServiceId, ServiceLevel, WeekdaySet, distance_km,
};
use allot_models::features::is_peak;
use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::calendar::Calendar;
use super::orders::local_time;
use super::population::Address;
use super::sample::{Weighted, lognormal};

/// One parcel: from a node with a service to an address.
#[derive(Debug, Clone, Copy)]
pub struct Shipment {
    /// Index of the order in the world's order list.
    pub order: u32,
    /// Origin node.
    pub node: NodeId,
    /// Carrier service.
    pub service: ServiceId,
    /// Destination point (hidden: the engine knows only the region).
    pub dest: GeoPoint,
    /// Destination region (from the postal code).
    pub region: RegionId,
    /// Release to the node (the order time), unix seconds.
    pub released: i64,
    /// Delivery scan, unix seconds (ground truth).
    pub delivered: i64,
}

/// A multi-day regional event (storm, wildfire, carrier hub outage).
#[derive(Debug, Clone, Copy)]
pub struct Disruption {
    /// Centre.
    pub center: GeoPoint,
    /// Radius, km.
    pub radius_km: f64,
    /// First day (UTC date).
    pub start: NaiveDate,
    /// Last day, inclusive.
    pub end: NaiveDate,
    /// Probability that a parcel through it is delayed.
    pub severity: f64,
}

/// The carrier network's behaviour.
#[derive(Debug, Clone)]
pub struct Carriers {
    holidays: Vec<NaiveDate>,
    /// The world's regional disruptions.
    pub disruptions: Vec<Disruption>,
}

impl Carriers {
    /// Carriers over `cal` with `count` disruptions in population-weighted
    /// places.
    pub(crate) fn new(
        net: &Network,
        cal: &Calendar,
        regions: &Weighted,
        count: u32,
        rng: &mut ChaCha8Rng,
    ) -> Carriers {
        let holidays = net
            .nodes()
            .iter()
            .find(|n| n.kind == NodeKind::DistributionCenter)
            .map(|n| n.holidays.clone())
            .unwrap_or_default();
        let disruptions = (0..count)
            .map(|_| {
                let region = net.region(RegionId(regions.pick(rng) as u32));
                let start = cal.date(rng.random_range(0..cal.days));
                Disruption {
                    center: region.centroid,
                    radius_km: rng.random_range(250.0..650.0),
                    start,
                    end: start + chrono::Days::new(rng.random_range(1..=4)),
                    severity: rng.random_range(0.5..0.9),
                }
            })
            .collect();
        Carriers {
            holidays,
            disruptions,
        }
    }

    /// Picks the node and service for a parcel of `level` to `dest`: nearby
    /// nodes are likelier, DCs preferred to stores and 3PLs; `not` excludes a
    /// node (the first of a split order). `None` if nothing can ship it.
    pub fn fulfil(
        &self,
        net: &Network,
        level: ServiceLevel,
        dest: GeoPoint,
        region: RegionId,
        not: Option<NodeId>,
        rng: &mut ChaCha8Rng,
    ) -> Option<(NodeId, ServiceId)> {
        let mut candidates: Vec<(NodeId, f64)> = Vec::new();
        for n in net.node_ids() {
            if Some(n) == not || net.is_blocked(n, region) {
                continue;
            }
            let node = net.node(n);
            let km = distance_km(node.location, dest);
            let serves = node.services.iter().any(|&s| {
                let s = net.service(s);
                s.level == level && s.max_distance_km.is_none_or(|m| km <= m)
            });
            if !serves {
                continue;
            }
            let kind = match (node.kind, level) {
                (NodeKind::Store, ServiceLevel::SameDay) => 1.0,
                (NodeKind::DistributionCenter, _) => 1.0,
                (NodeKind::Store, _) => 0.25,
                (NodeKind::ThirdPartyLogistics, _) => 0.35,
            };
            candidates.push((n, kind * (-km / 700.0).exp() + 1e-6));
        }
        if candidates.is_empty() {
            return None;
        }
        let node = candidates[Weighted::new(candidates.iter().map(|c| c.1)).pick(rng)].0;
        let services: Vec<ServiceId> = net
            .node(node)
            .services
            .iter()
            .copied()
            .filter(|&s| net.service(s).level == level)
            .collect();
        Some((node, services[rng.random_range(0..services.len())]))
    }

    fn working(&self, days: WeekdaySet, date: NaiveDate) -> bool {
        days.contains(date.weekday()) && !self.holidays.contains(&date)
    }

    /// The first date from `date` on which `days` work (and no holiday).
    fn next_working(&self, days: WeekdaySet, mut date: NaiveDate) -> NaiveDate {
        for _ in 0..14 {
            if self.working(days, date) {
                return date;
            }
            date = date.succ_opt().unwrap_or(date);
        }
        date
    }

    /// Simulates one parcel to `to` released at `released` and returns its
    /// delivery time (unix seconds).
    pub fn deliver(
        &self,
        net: &Network,
        node: NodeId,
        service: ServiceId,
        to: &Address,
        released: i64,
        rng: &mut ChaCha8Rng,
    ) -> i64 {
        let n = net.node(node);
        let s = net.service(service);
        let dest = to.point;
        let dest_tz = net.region(to.region).time_zone;
        let local = Utc
            .timestamp_opt(released, 0)
            .single()
            .unwrap_or_default()
            .with_timezone(&n.time_zone);
        let ships = |d: NaiveDate| {
            n.open_days.contains(d.weekday())
                && !n.holidays.contains(&d)
                && s.pickup_days.contains(d.weekday())
        };
        let next_ship = |mut d: NaiveDate| {
            for _ in 0..14 {
                if ships(d) {
                    break;
                }
                d = d.succ_opt().unwrap_or(d);
            }
            d
        };
        let today = local.date_naive();
        let after_cutoff = local.time() > n.order_cutoff;
        let mut day = next_ship(if after_cutoff {
            today.succ_opt().unwrap_or(today)
        } else {
            today
        });
        for _ in 0..n.processing_days {
            day = next_ship(day.succ_opt().unwrap_or(day));
        }
        // Peak backlog: stores and 3PLs drown first, cyber week worst.
        let mut backlog = if is_peak(day) { 0.06 } else { 0.01 };
        if Calendar::is_cyber_week(day) || Calendar::is_cyber_week(day - chrono::Days::new(3)) {
            backlog += 0.15;
        }
        if n.kind != NodeKind::DistributionCenter {
            backlog *= 2.0;
        }
        for e in &self.disruptions {
            if day >= e.start && day <= e.end && distance_km(e.center, n.location) < e.radius_km {
                backlog += e.severity * 0.6;
            }
        }
        if rng.random_bool(backlog.min(0.95)) {
            day = next_ship(day.succ_opt().unwrap_or(day));
        }
        let km = distance_km(n.location, dest);
        let zone = net.zone_for_km(km).unwrap_or(8);

        if s.level == ServiceLevel::SameDay {
            let shipped_now = day == today;
            let start = if shipped_now {
                released
            } else {
                local_time(n.time_zone, day, 9 * 60)
            };
            let mut t = start + (lognormal(rng, 4.0, 0.35) * 3_600.0) as i64 + (km * 60.0) as i64;
            if rng.random_bool(0.06) {
                t += 86_400; // missed, redelivered tomorrow
            }
            return t;
        }

        let mut transit: u32 = match s.level {
            ServiceLevel::Overnight => 1,
            ServiceLevel::TwoDay => {
                if zone <= 3 && rng.random_bool(0.35) {
                    1
                } else {
                    2
                }
            }
            _ => match zone {
                0..=2 => 1,
                3 => 2,
                4 => 2 + u32::from(rng.random_bool(0.5)),
                5 => 3,
                6 => 4,
                7 => 4 + u32::from(rng.random_bool(0.5)),
                _ => 5,
            },
        };
        if km > 4_000.0 {
            transit += 2; // Alaska, Hawaii, Puerto Rico
        }
        let mut late = match s.level {
            ServiceLevel::Overnight => 0.04,
            ServiceLevel::TwoDay => 0.07,
            _ => 0.10,
        };
        if is_peak(day) {
            late += 0.08;
        }
        if Calendar::is_cyber_week(day) || Calendar::is_cyber_week(day - chrono::Days::new(4)) {
            late += 0.10;
        }
        if day.weekday() == chrono::Weekday::Fri && s.level == ServiceLevel::Ground {
            late += 0.04;
        }
        if rng.random_bool(late) {
            transit += 1 + u32::from(rng.random_bool(0.25));
        }
        if rng.random_bool(0.012) {
            transit += rng.random_range(2..=8); // exceptions: misroutes, damage, lost-then-found
        }
        let window_end = day + chrono::Days::new(u64::from(transit) + 1);
        for e in &self.disruptions {
            if e.start <= window_end
                && e.end >= day
                && distance_km(e.center, dest) < e.radius_km
                && rng.random_bool(e.severity)
            {
                transit += rng.random_range(1..=3);
            }
        }
        let mut arrive = day;
        for _ in 0..transit {
            arrive = self.next_working(s.pickup_days, arrive.succ_opt().unwrap_or(arrive));
        }
        let (from, median) = match s.level {
            ServiceLevel::Overnight => (10 * 60 + 30, 1.5),
            ServiceLevel::TwoDay => (11 * 60, 3.0),
            _ => (10 * 60, 4.0),
        };
        let minutes = from + (lognormal(rng, median, 0.5) * 60.0).min(600.0) as u32;
        let t = local_time(dest_tz, arrive, minutes.min(21 * 60 + 30));
        t.max(released + 3_600)
    }
}
