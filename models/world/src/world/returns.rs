//! Returns: which delivered orders come back, when, why and in what state.

use allot_models::features::CATEGORIES;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::orders::Line;
use super::sample::{choose, lognormal};

/// Why a customer sent something back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnReason {
    /// Wrong size or fit.
    SizeFit,
    /// Did not want it after all.
    ChangedMind,
    /// Not what the listing promised.
    NotAsDescribed,
    /// Broken on arrival.
    Damaged,
    /// Does not work.
    Defective,
    /// Came too late to be useful.
    ArrivedLate,
}

impl ReturnReason {
    /// The CSV spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnReason::SizeFit => "size_fit",
            ReturnReason::ChangedMind => "changed_mind",
            ReturnReason::NotAsDescribed => "not_as_described",
            ReturnReason::Damaged => "damaged",
            ReturnReason::Defective => "defective",
            ReturnReason::ArrivedLate => "arrived_late",
        }
    }
}

/// The state the item comes back in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Unopened, resellable as new.
    New,
    /// Opened, complete.
    Opened,
    /// Visibly used.
    Used,
    /// Damaged.
    Damaged,
}

impl Condition {
    /// The CSV spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::New => "new",
            Condition::Opened => "opened",
            Condition::Used => "used",
            Condition::Damaged => "damaged",
        }
    }
}

/// One returned line.
#[derive(Debug, Clone, Copy)]
pub struct Return {
    /// Index of the order.
    pub order: u32,
    /// When the order was placed, unix seconds.
    pub order_time: i64,
    /// When the return was received, unix seconds.
    pub time: i64,
    /// Category index of the returned SKU.
    pub category: usize,
    /// Why.
    pub reason: ReturnReason,
    /// In what state.
    pub condition: Condition,
    /// Days between delivery and return.
    pub days_after_delivery: f64,
}

/// Base return probability of a line by category.
fn base_rate(category: usize) -> f64 {
    match CATEGORIES.get(category).copied().unwrap_or("") {
        "apparel" => 0.22,
        "footwear" => 0.18,
        "electronics" => 0.08,
        "jewelry" => 0.10,
        "sports" => 0.08,
        "home" => 0.07,
        "toys" => 0.06,
        "garden" => 0.05,
        "automotive" => 0.04,
        "beauty" => 0.04,
        "health" => 0.03,
        "grocery" => 0.01,
        _ => 0.0,
    }
}

/// The returns of one delivered legitimate order.
#[allow(clippy::too_many_arguments)]
pub fn returns_of(
    order: u32,
    order_time: i64,
    delivered: i64,
    late: bool,
    lines: &[Line],
    propensity: f64,
    rng: &mut ChaCha8Rng,
) -> Vec<Return> {
    let mut out = Vec::new();
    for l in lines {
        let fit = matches!(
            CATEGORIES.get(l.category).copied(),
            Some("apparel" | "footwear")
        );
        let tech = matches!(
            CATEGORIES.get(l.category).copied(),
            Some("electronics" | "toys")
        );
        let p = (base_rate(l.category) * propensity * if late { 1.3 } else { 1.0 }).min(0.8);
        if !rng.random_bool(p) {
            continue;
        }
        let reason = choose(
            rng,
            &[
                (ReturnReason::SizeFit, if fit { 0.55 } else { 0.0 }),
                (ReturnReason::ChangedMind, 0.22),
                (ReturnReason::NotAsDescribed, 0.14),
                (ReturnReason::Damaged, 0.06),
                (ReturnReason::Defective, if tech { 0.3 } else { 0.05 }),
                (ReturnReason::ArrivedLate, if late { 0.25 } else { 0.0 }),
            ],
        );
        let condition = match reason {
            ReturnReason::Damaged => choose(
                rng,
                &[(Condition::Damaged, 0.75), (Condition::Opened, 0.25)],
            ),
            ReturnReason::Defective => choose(
                rng,
                &[
                    (Condition::Opened, 0.6),
                    (Condition::Used, 0.3),
                    (Condition::Damaged, 0.1),
                ],
            ),
            _ => choose(
                rng,
                &[
                    (Condition::New, 0.5),
                    (Condition::Opened, 0.32),
                    (Condition::Used, 0.15),
                    (Condition::Damaged, 0.03),
                ],
            ),
        };
        let after = lognormal(rng, 9.0, 0.5).min(60.0);
        out.push(Return {
            order,
            order_time,
            time: delivered + (after * 86_400.0) as i64,
            category: l.category,
            reason,
            condition,
            days_after_delivery: after,
        });
    }
    out
}
