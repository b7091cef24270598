//! Units ordered per SKU x region x local day: the history the demand
//! model's lag features read.

use std::collections::{BTreeMap, HashMap};

use allot_engine::network::{RegionId, SkuId};
use chrono::NaiveDate;
use parking_lot::Mutex;

/// Days of history kept (and read by the 7-day lags of a forecast that
/// starts up to three weeks after the last day sold).
pub const HISTORY_DAYS: u64 = 35;

/// Units ordered per SKU x region x local day, each order counted once by
/// its key. A day before the history's first observed day is unknown, not
/// zero: a forecast then reads its lags as missing.
#[derive(Debug, Default)]
pub struct SalesHistory {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    units: HashMap<(SkuId, RegionId), BTreeMap<NaiveDate, u32>>,
    /// Orders counted, by key, with the day they counted on.
    orders: HashMap<u64, NaiveDate>,
    /// The first day whose sales are known (observed from its start or
    /// imported).
    known_from: Option<NaiveDate>,
    /// The latest day seen (drives retention).
    latest: Option<NaiveDate>,
}

impl SalesHistory {
    /// An empty history: every day unknown.
    pub fn new() -> SalesHistory {
        SalesHistory::default()
    }

    /// Declares that every order from `day` on is observed (or imported):
    /// days from `day` on read as sold, zero when nothing was recorded.
    pub fn observe_from(&self, day: NaiveDate) {
        let mut inner = self.inner.lock();
        inner.known_from = Some(inner.known_from.map_or(day, |k| k.min(day)));
    }

    /// The first day whose sales are known, if any.
    pub fn known_from(&self) -> Option<NaiveDate> {
        self.inner.lock().known_from
    }

    /// Counts one order placed on `day` in `region`: its lines' units per
    /// SKU. An order key already counted is not counted again (an order
    /// re-brokered or scored twice is one order). Returns whether it
    /// counted.
    pub fn record_order(
        &self,
        key: u64,
        day: NaiveDate,
        region: RegionId,
        lines: impl IntoIterator<Item = (SkuId, u32)>,
    ) -> bool {
        let mut inner = self.inner.lock();
        if inner.orders.contains_key(&key) {
            return false;
        }
        inner.orders.insert(key, day);
        for (sku, units) in lines {
            let day_units = inner
                .units
                .entry((sku, region))
                .or_default()
                .entry(day)
                .or_insert(0);
            *day_units = day_units.saturating_add(units);
        }
        inner.see(day);
        true
    }

    /// Sets the units sold of `sku` in `region` on `day` (imported daily
    /// sales, which replace what was recorded for that day); the day is
    /// known from then on.
    pub fn import_day(&self, sku: SkuId, region: RegionId, day: NaiveDate, units: u32) {
        let mut inner = self.inner.lock();
        inner
            .units
            .entry((sku, region))
            .or_default()
            .insert(day, units);
        inner.known_from = Some(inner.known_from.map_or(day, |k| k.min(day)));
        inner.see(day);
    }

    /// Units of `sku` in `region` on each of `days` (in order): `None` for
    /// a day before the history's first known day.
    pub fn units(&self, sku: SkuId, region: RegionId, days: &[NaiveDate]) -> Vec<Option<u32>> {
        let inner = self.inner.lock();
        let series = inner.units.get(&(sku, region));
        days.iter()
            .map(|day| {
                let known = inner.known_from.is_some_and(|k| *day >= k);
                known.then(|| series.and_then(|s| s.get(day)).copied().unwrap_or(0))
            })
            .collect()
    }

    /// Every (SKU, region) with units sold on a day from `from` to `to`
    /// (inclusive), with those units, ordered by SKU then region.
    pub fn sold_between(&self, from: NaiveDate, to: NaiveDate) -> Vec<((SkuId, RegionId), u32)> {
        let inner = self.inner.lock();
        let mut sold: Vec<((SkuId, RegionId), u32)> = inner
            .units
            .iter()
            .filter_map(|(&key, days)| {
                let units = days
                    .range(from..=to)
                    .fold(0u32, |sum, (_, &u)| sum.saturating_add(u));
                (units > 0).then_some((key, units))
            })
            .collect();
        sold.sort_unstable();
        sold
    }

    /// Number of orders remembered (for tests and logs).
    pub fn orders(&self) -> usize {
        self.inner.lock().orders.len()
    }
}

impl Inner {
    /// Moves the latest day on and forgets what is older than the
    /// retention.
    fn see(&mut self, day: NaiveDate) {
        if self.latest.is_some_and(|l| l >= day) {
            return;
        }
        self.latest = Some(day);
        let Some(cut) = day.checked_sub_days(chrono::Days::new(HISTORY_DAYS)) else {
            return;
        };
        self.orders.retain(|_, d| *d >= cut);
        self.units.retain(|_, series| {
            series.retain(|d, _| *d >= cut);
            !series.is_empty()
        });
        if self.known_from.is_some_and(|k| k < cut) {
            self.known_from = Some(cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    #[test]
    fn orders_count_once_and_unknown_days_stay_unknown() {
        let h = SalesHistory::new();
        let (sku, region) = (SkuId(3), RegionId(1));
        h.observe_from(day(10));
        assert!(h.record_order(7, day(10), region, [(sku, 2), (SkuId(4), 1)]));
        assert!(!h.record_order(7, day(10), region, [(sku, 2)]));
        assert!(h.record_order(8, day(11), region, [(sku, 5)]));
        assert_eq!(
            h.units(sku, region, &[day(9), day(10), day(11), day(12)]),
            vec![None, Some(2), Some(5), Some(0)]
        );
        h.import_day(sku, region, day(8), 9);
        assert_eq!(
            h.units(sku, region, &[day(8), day(9)]),
            vec![Some(9), Some(0)]
        );
    }

    #[test]
    fn sold_series_are_those_with_units_in_the_window() {
        let h = SalesHistory::new();
        h.import_day(SkuId(2), RegionId(1), day(5), 3);
        h.import_day(SkuId(2), RegionId(1), day(6), 4);
        h.import_day(SkuId(1), RegionId(0), day(6), 0);
        h.import_day(SkuId(0), RegionId(3), day(9), 7);
        assert_eq!(
            h.sold_between(day(5), day(8)),
            vec![((SkuId(2), RegionId(1)), 7)]
        );
        assert_eq!(h.sold_between(day(6), day(9)).len(), 2);
        assert!(h.sold_between(day(10), day(12)).is_empty());
    }

    #[test]
    fn old_days_are_forgotten() {
        let h = SalesHistory::new();
        let (sku, region) = (SkuId(0), RegionId(0));
        h.import_day(sku, region, day(1), 4);
        h.record_order(1, day(1), region, [(sku, 1)]);
        let late = day(1) + chrono::Days::new(HISTORY_DAYS + 1);
        h.record_order(2, late, region, [(sku, 1)]);
        assert_eq!(h.orders(), 1);
        assert_eq!(h.units(sku, region, &[day(1)]), vec![None]);
    }
}
