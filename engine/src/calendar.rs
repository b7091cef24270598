//! The ship-date calendar shared by allocation's nominal lateness and by
//! promises: when an order released at a given instant leaves a node, and
//! date arithmetic in the nodes' and destinations' time zones.
//!
//! An order is released to a node on the node-local day it is placed when
//! it is placed at or before the node's order cutoff, else the next day.
//! From the release day on, the node needs `processing_days` working days
//! (open weekdays that are not holidays), and the parcel leaves on the first
//! day after that which is both a working day and a pickup day of the
//! carrier service. Nominal transit then counts business days (Monday to
//! Friday). A node that cannot ship within [`MAX_SCAN_DAYS`] never ships.

use std::time::SystemTime;

use chrono::{DateTime, Datelike, Duration as Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::network::{Node, WeekdaySet};

/// Longest search for a ship date, days (a node that never ships is late).
pub const MAX_SCAN_DAYS: u32 = 400;

/// The node-local day an order placed at `now` is released to `node`: the
/// same day up to and including the cutoff minute, else the next day.
pub fn release_date(node: &Node, now: SystemTime) -> NaiveDate {
    let local = DateTime::<Utc>::from(now).with_timezone(&node.time_zone);
    let day = local.date_naive();
    if local.time() > node.order_cutoff {
        day + Days::days(1)
    } else {
        day
    }
}

/// The instant of the order cutoff on the release day of an order placed at
/// `now`: orders placed up to it get the ship date of [`ship_date`]. `None`
/// only when the cutoff does not exist that day (a DST gap).
pub fn cutoff_instant(node: &Node, now: SystemTime) -> Option<SystemTime> {
    let day = release_date(node, now);
    let local = node
        .time_zone
        .from_local_datetime(&day.and_time(node.order_cutoff));
    let at = local.latest().or_else(|| local.earliest())?;
    Some(SystemTime::from(at.with_timezone(&Utc)))
}

/// True when `node` works on `day` (an open weekday, not a holiday).
pub fn is_working_day(node: &Node, day: NaiveDate) -> bool {
    node.open_days.contains(day.weekday()) && !node.holidays.contains(&day)
}

/// Days scanned so far, shared by the steps of one date computation.
struct Scan(u32);

impl Scan {
    /// Moves `day` forward to the first day that is `ok`.
    fn to(&mut self, day: &mut NaiveDate, ok: &dyn Fn(NaiveDate) -> bool) -> Option<()> {
        while !ok(*day) {
            *day += Days::days(1);
            self.0 += 1;
            if self.0 > MAX_SCAN_DAYS {
                return None;
            }
        }
        Some(())
    }

    fn processed(&mut self, node: &Node, release: NaiveDate) -> Option<NaiveDate> {
        let mut day = release;
        let working = |d: NaiveDate| is_working_day(node, d);
        self.to(&mut day, &working)?;
        for _ in 0..node.processing_days {
            day += Days::days(1);
            self.to(&mut day, &working)?;
        }
        Some(day)
    }

    fn ship_date(&mut self, node: &Node, pickup: WeekdaySet, now: SystemTime) -> Option<NaiveDate> {
        let mut day = self.processed(node, release_date(node, now))?;
        self.to(&mut day, &|d| {
            is_working_day(node, d) && pickup.contains(d.weekday())
        })?;
        Some(day)
    }
}

/// The node-local day units released to `node` on `release` are ready to
/// leave: its first working day from `release`, then `processing_days` more
/// working days (before any carrier's pickup days); `None` when the node
/// does not work within [`MAX_SCAN_DAYS`].
pub fn processed_date(node: &Node, release: NaiveDate) -> Option<NaiveDate> {
    Scan(0).processed(node, release)
}

/// The node-local date a parcel of an order placed at `now` leaves `node`
/// with a service picking up on `pickup` days; `None` when the node never
/// ships within [`MAX_SCAN_DAYS`].
pub fn ship_date(node: &Node, pickup: WeekdaySet, now: SystemTime) -> Option<NaiveDate> {
    Scan(0).ship_date(node, pickup, now)
}

/// Nominal delivery date: the [`ship_date`], then `transit_days` business
/// days (Monday to Friday).
pub fn nominal_arrival(
    node: &Node,
    pickup: WeekdaySet,
    transit_days: u32,
    now: SystemTime,
) -> Option<NaiveDate> {
    let mut scan = Scan(0);
    let mut day = scan.ship_date(node, pickup, now)?;
    let business = |d: NaiveDate| WeekdaySet::WEEKDAYS.contains(d.weekday());
    for _ in 0..transit_days {
        day += Days::days(1);
        scan.to(&mut day, &business)?;
    }
    Some(day)
}

/// The date of instant `at` in `tz`.
pub fn local_date(tz: Tz, at: SystemTime) -> NaiveDate {
    DateTime::<Utc>::from(at).with_timezone(&tz).date_naive()
}

/// The first instant after `date` in `tz` (the end of that day).
pub fn end_of_day(tz: Tz, date: NaiveDate) -> Option<SystemTime> {
    let next = (date + Days::days(1)).and_hms_opt(0, 0, 0)?;
    let local = tz.from_local_datetime(&next);
    let at = local.earliest().or_else(|| local.latest())?;
    Some(SystemTime::from(at.with_timezone(&Utc)))
}

/// The first instant of `date` in `tz`.
pub fn start_of_day(tz: Tz, date: NaiveDate) -> Option<SystemTime> {
    end_of_day(tz, date - Days::days(1))
}

/// Days from `from` to `to`, fractional (negative when `to` is earlier).
pub fn days_between(from: SystemTime, to: SystemTime) -> f64 {
    let (a, b) = (DateTime::<Utc>::from(from), DateTime::<Utc>::from(to));
    (b - a).num_milliseconds() as f64 / 86_400_000.0
}

/// `days` (fractional, clamped to 0..=365) after `at`, to the whole second.
pub fn after_days(at: SystemTime, days: f64) -> SystemTime {
    let d = if days.is_finite() {
        days.clamp(0.0, 365.0)
    } else {
        0.0
    };
    at + std::time::Duration::from_secs((d * 86_400.0).round() as u64)
}

/// The delivery date a promise states for a parcel released at `released`
/// whose transit is at most `days` (the high quantile): the destination-local
/// date of `released + days`. The parcel is on time when delivered before
/// the [`end_of_day`] of that date.
pub fn promised_date(tz: Tz, released: SystemTime, days: f64) -> NaiveDate {
    local_date(tz, after_days(released, days))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use chrono::NaiveTime;

    use super::*;
    use crate::network::{DEMO_SEED, Network};

    #[test]
    fn release_ship_and_arrival_follow_cutoff_and_open_days() {
        let net = Network::demo(DEMO_SEED);
        let node = net
            .nodes()
            .iter()
            .find(|n| n.processing_days == 0 && n.open_days == WeekdaySet::WEEKDAYS)
            .cloned()
            .or_else(|| net.nodes().first().cloned())
            .unwrap();
        let mut node = node;
        node.processing_days = 0;
        node.open_days = WeekdaySet::WEEKDAYS;
        node.holidays.clear();
        node.order_cutoff = NaiveTime::from_hms_opt(14, 0, 0).unwrap();
        // A Friday (2026-11-20) 10:00 and 16:00 node-local.
        let at = |h: u32| {
            let t = node
                .time_zone
                .with_ymd_and_hms(2026, 11, 20, h, 0, 0)
                .single()
                .unwrap();
            SystemTime::from(t.with_timezone(&Utc))
        };
        let friday = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let monday = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(release_date(&node, at(10)), friday);
        assert_eq!(ship_date(&node, WeekdaySet::WEEKDAYS, at(10)), Some(friday));
        assert_eq!(ship_date(&node, WeekdaySet::WEEKDAYS, at(16)), Some(monday));
        assert_eq!(
            nominal_arrival(&node, WeekdaySet::WEEKDAYS, 1, at(10)),
            Some(monday)
        );
        assert_eq!(cutoff_instant(&node, at(10)), Some(at(14)));
        let saturday_cutoff = cutoff_instant(&node, at(16)).unwrap();
        assert_eq!(days_between(at(14), saturday_cutoff), 1.0);
        node.holidays.push(monday);
        assert_eq!(
            ship_date(&node, WeekdaySet::WEEKDAYS, at(16)),
            Some(monday + Days::days(1))
        );
        node.open_days = WeekdaySet::EMPTY;
        assert_eq!(ship_date(&node, WeekdaySet::WEEKDAYS, at(10)), None);
    }

    #[test]
    fn promised_date_is_local_and_end_of_day_is_next_midnight() {
        let tz: Tz = "America/New_York".parse().unwrap();
        // 2026-11-20 22:00 New York = 2026-11-21 03:00 UTC.
        let released = UNIX_EPOCH + Duration::from_secs(1_795_230_000);
        let date = promised_date(tz, released, 1.0);
        assert_eq!(date, NaiveDate::from_ymd_opt(2026, 11, 21).unwrap());
        let end = end_of_day(tz, date).unwrap();
        assert_eq!(days_between(released, end), 1.0 + 2.0 / 24.0);
        assert_eq!(start_of_day(tz, date + Days::days(1)), Some(end));
        assert_eq!(after_days(released, f64::NAN), released);
    }
}
