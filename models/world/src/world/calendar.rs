//! The world's calendar: days, splits, seasonality, peak events and the
//! promotion calendar shared by the order stream and demand.

use allot_models::features::CATEGORIES;
use chrono::{Datelike, NaiveDate, Weekday};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Which part of the data a row belongs to, by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The first 70% of days.
    Train,
    /// The next 10%.
    Valid,
    /// The last 20%.
    Test,
}

impl Split {
    /// The CSV spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
        }
    }
}

/// One category promotion: `discount` off from `start` for `len` days.
#[derive(Debug, Clone, Copy)]
struct Promo {
    category: usize,
    start: u32,
    len: u32,
    discount: f64,
}

/// Days of the world with their seasonality and promotions.
#[derive(Debug, Clone)]
pub struct Calendar {
    /// First day (UTC).
    pub start: NaiveDate,
    /// Number of days.
    pub days: u32,
    promos: Vec<Promo>,
}

impl Calendar {
    /// The calendar of `days` days from `start`, with promotions drawn from
    /// `rng`: about one 3-7 day promotion per category per month, plus the
    /// sitewide Black Friday to Cyber Monday sale.
    pub fn new(start: NaiveDate, days: u32, rng: &mut ChaCha8Rng) -> Calendar {
        let mut promos = Vec::new();
        for category in 0..CATEGORIES.len() {
            let count = (days / 30).max(1);
            for _ in 0..count {
                promos.push(Promo {
                    category,
                    start: rng.random_range(0..days),
                    len: rng.random_range(3..=7),
                    discount: rng.random_range(0.15..0.30),
                });
            }
        }
        Calendar {
            start,
            days,
            promos,
        }
    }

    /// The date of day `d`.
    pub fn date(&self, d: u32) -> NaiveDate {
        self.start + chrono::Days::new(u64::from(d))
    }

    /// Unix seconds of day `d`'s UTC midnight.
    pub fn midnight(&self, d: u32) -> i64 {
        self.date(d)
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp()
    }

    /// Day index of a unix time (may fall outside `0..days`).
    pub fn day_of(&self, time: i64) -> i64 {
        (time - self.midnight(0)).div_euclid(86_400)
    }

    /// Train / valid / test of day `d`: the last 20% of days are test, the
    /// 10% before them valid.
    pub fn split(&self, d: i64) -> Split {
        let days = i64::from(self.days);
        if d >= days * 8 / 10 {
            Split::Test
        } else if d >= days * 7 / 10 {
            Split::Valid
        } else {
            Split::Train
        }
    }

    /// Whether `date` is in Black Friday .. Cyber Monday.
    pub fn is_cyber_week(date: NaiveDate) -> bool {
        allot_models::features::is_cyber_week(date)
    }

    /// Relative shopping volume on `date` (1.0 = an ordinary autumn day):
    /// weekly pattern, peak-season lift, Black Friday / Cyber Monday spikes,
    /// a Christmas drop and a January lull.
    pub fn volume(date: NaiveDate) -> f64 {
        let weekly = match date.weekday() {
            Weekday::Mon => 1.08,
            Weekday::Tue => 1.02,
            Weekday::Wed => 1.0,
            Weekday::Thu => 0.97,
            Weekday::Fri => 0.92,
            Weekday::Sat => 0.88,
            Weekday::Sun => 1.12,
        };
        let bf = black_friday(date.year());
        let (m, d) = (date.month(), date.day());
        let season = if date == bf {
            3.2
        } else if date == bf + chrono::Days::new(3) {
            2.8
        } else if Calendar::is_cyber_week(date) {
            2.0
        } else if m == 12 && d == 25 {
            0.45
        } else if m == 12 && (21..=24).contains(&d) {
            1.15
        } else if m == 12 && d > 25 {
            1.2
        } else if (m == 11 && d >= 15) || m == 12 {
            1.5
        } else if m == 1 {
            0.85
        } else {
            1.0 + 0.002 * f64::from(date.ordinal() % 60)
        };
        weekly * season
    }

    /// The discount on `category` on day `d`, if it is on promotion (the
    /// largest of overlapping promotions; 20% sitewide in cyber week).
    pub fn promo(&self, category: usize, d: u32) -> Option<f64> {
        let mut best: Option<f64> = None;
        if Calendar::is_cyber_week(self.date(d)) {
            best = Some(allot_models::features::CYBER_WEEK_DISCOUNT);
        }
        for p in &self.promos {
            if p.category == category && d >= p.start && d < p.start + p.len {
                best = Some(best.map_or(p.discount, |b: f64| b.max(p.discount)));
            }
        }
        best
    }
}

pub use allot_models::features::black_friday;

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn splits_and_black_friday() {
        let start = NaiveDate::from_ymd_opt(2026, 9, 15).unwrap();
        let cal = Calendar::new(start, 120, &mut ChaCha8Rng::seed_from_u64(1));
        assert_eq!(cal.split(83), Split::Train);
        assert_eq!(cal.split(84), Split::Valid);
        assert_eq!(cal.split(96), Split::Test);
        assert_eq!(
            black_friday(2026),
            NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
        );
        assert!(Calendar::volume(black_friday(2026)) > 2.5);
        assert_eq!(cal.day_of(cal.midnight(5) + 86_399), 5);
    }
}
