//! The node-local day work lands on: units released to a node on a day
//! ship on its first working day from then (open weekday, not a holiday),
//! after its processing days; a day the node does not work takes nothing.

use std::time::SystemTime;

use allot_engine::calendar::{local_date, processed_date, release_date};
use allot_engine::network::Node;
use chrono::NaiveDate;

/// The day the demand of local date `date` ships from `node`, as of `now`:
/// released that day (the node's release day of an order placed now, when
/// that is later: after today's cutoff, tomorrow), then its
/// [`processed_date`].
pub fn demand_ship_day(node: &Node, date: NaiveDate, now: SystemTime) -> Option<NaiveDate> {
    processed_date(node, date.max(release_date(node, now)))
}

/// The day held units ship from `node`: the ship day of their order's
/// release (it was placed at `placed`), not before the node's today at
/// `now` (units overdue still ship, today).
pub fn held_ship_day(node: &Node, placed: SystemTime, now: SystemTime) -> Option<NaiveDate> {
    let day = processed_date(node, release_date(node, placed))?;
    Some(day.max(local_date(node.time_zone, now)))
}

#[cfg(test)]
mod tests {
    use allot_engine::network::{DEMO_SEED, Network, WeekdaySet};
    use chrono::{NaiveTime, TimeZone, Utc};

    use super::*;

    fn weekday_node() -> Node {
        let mut node = Network::demo(DEMO_SEED).nodes()[0].clone();
        node.open_days = WeekdaySet::WEEKDAYS;
        node.holidays.clear();
        node.processing_days = 0;
        node.order_cutoff = NaiveTime::from_hms_opt(14, 0, 0).unwrap();
        node
    }

    fn date(d: u32) -> NaiveDate {
        // 2026-11-20 is a Friday.
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn at(node: &Node, d: u32, h: u32) -> SystemTime {
        let t = node
            .time_zone
            .with_ymd_and_hms(2026, 11, d, h, 0, 0)
            .single()
            .unwrap();
        SystemTime::from(t.with_timezone(&Utc))
    }

    #[test]
    fn closed_days_move_to_the_next_working_day_after_processing() {
        let mut node = weekday_node();
        assert_eq!(processed_date(&node, date(20)), Some(date(20)));
        assert_eq!(processed_date(&node, date(21)), Some(date(23)), "saturday");
        node.processing_days = 1;
        assert_eq!(processed_date(&node, date(20)), Some(date(23)));
        node.holidays.push(date(23));
        assert_eq!(processed_date(&node, date(20)), Some(date(24)));
        node.open_days = WeekdaySet::EMPTY;
        assert_eq!(processed_date(&node, date(20)), None);
    }

    #[test]
    fn demand_after_the_cutoff_and_overdue_holds_ship_from_the_next_day() {
        let node = weekday_node();
        // Thursday 19th: before the cutoff today's demand ships today.
        assert_eq!(
            demand_ship_day(&node, date(19), at(&node, 19, 10)),
            Some(date(19))
        );
        assert_eq!(
            demand_ship_day(&node, date(19), at(&node, 19, 16)),
            Some(date(20))
        );
        assert_eq!(
            demand_ship_day(&node, date(23), at(&node, 19, 16)),
            Some(date(23))
        );
        // A hold placed on Monday 16th not shipped by Thursday ships today.
        assert_eq!(
            held_ship_day(&node, at(&node, 16, 10), at(&node, 19, 10)),
            Some(date(19))
        );
        assert_eq!(
            held_ship_day(&node, at(&node, 20, 16), at(&node, 20, 17)),
            Some(date(23))
        );
    }
}
