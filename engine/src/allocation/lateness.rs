//! The expected lateness term and the delivery windows, from the transit
//! model when one is loaded, else from the nominal curve of
//! docs/allocation.md.
//!
//! With a [`TransitPredictor`] every candidate's lane (node, s*, destination
//! region) is predicted in one call per order. With a promise, P(late) =
//! 1 - P(delivered within the days from the order time to the end of the
//! promised date) and `late[n] = round_half_up(late_penalty x P(late))`.
//! Each candidate also gets its delivery window: [release + q10, release +
//! q90] and the probability of arriving by the promise (by the nominal
//! arrival date without one).
//!
//! Without a transit model the term follows the nominal curve
//! ([`P_LATE_EARLY_PERMILLE`] ...): P(late) from the nominal arrival date
//! against the promised date, both in the destination's time zone
//! (`destination_tz`).

use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::problem::Problem;
use super::request::{Destination, OrderRequest};
use crate::calendar::{days_between, end_of_day, nominal_arrival};
use crate::network::{Network, Node, ServiceId};
use crate::transit::{Lane, TransitPredictor, TransitQuantiles};

/// P(late) from which a shipping node gets the LATE_RISK reason.
pub const MATERIAL_P_LATE: f64 = 0.2;

/// The longest transit a window is drawn with, days (a guard against a
/// broken model answer; no parcel takes a year).
const MAX_TRANSIT_DAYS: f64 = 365.0;

/// Where the lateness term of a decision comes from.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum LatenessSource {
    /// No promise: the lateness term is 0.
    #[default]
    NoPromise,
    /// A promise and no transit model: the nominal curve.
    Nominal,
    /// A promise priced with the transit model.
    Model,
    /// A promise, but the transit model failed: the nominal curve, and why.
    NominalAfterModelError(String),
}

/// A candidate's predicted delivery window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeliveryWindow {
    /// The predicted transit quantiles, days from the order time.
    pub quantiles: TransitQuantiles,
    /// Order time + q10, whole seconds.
    pub earliest: SystemTime,
    /// Order time + q90, whole seconds.
    pub latest: SystemTime,
    /// Probability of delivery by the end of the promised date (by the end
    /// of the nominal arrival date without a promise), 0.0 to 1.0.
    pub on_time_probability: f64,
}

/// What a decision read about transit times.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransitRead {
    /// Where the lateness term comes from.
    pub source: LatenessSource,
    /// The transit model that answered, if one did.
    pub model: Option<crate::transit::ModelTag>,
    /// P(late) per candidate, in candidate order; all 0 without a promise.
    pub p_late: Vec<f64>,
    /// The delivery window per candidate, in candidate order; empty when no
    /// transit model answered.
    pub windows: Vec<DeliveryWindow>,
}

impl TransitRead {
    /// The nominal read: `p_late` per candidate from the nominal curve.
    pub(crate) fn nominal(promised: bool, p_late: Vec<f64>) -> TransitRead {
        TransitRead {
            source: if promised {
                LatenessSource::Nominal
            } else {
                LatenessSource::NoPromise
            },
            model: None,
            p_late,
            windows: Vec::new(),
        }
    }

    /// True when the lateness term fell back to the nominal curve because
    /// the transit model failed.
    pub fn fell_back(&self) -> bool {
        matches!(self.source, LatenessSource::NominalAfterModelError(_))
    }
}

/// `days` as a duration, in whole seconds, guarded against broken values.
fn days(days: f64) -> Duration {
    let d = if days.is_finite() {
        days.clamp(0.0, MAX_TRANSIT_DAYS)
    } else {
        0.0
    };
    Duration::from_secs((d * 86_400.0).round() as u64)
}

/// Prices the lateness term of `problem` with `predictor` (one batched
/// call) and draws each candidate's delivery window. On a model failure the
/// nominal term already in `problem` is kept and `read` says why.
pub(crate) fn predict(
    network: &Network,
    request: &OrderRequest,
    problem: &mut Problem,
    read: &mut TransitRead,
    predictor: &dyn TransitPredictor,
    late_penalty: i64,
    now: SystemTime,
) {
    if problem.candidates.is_empty() {
        return;
    }
    let pinned = predictor.pinned();
    let predictor: &dyn TransitPredictor = pinned.as_deref().unwrap_or(predictor);
    let region = request.destination.lane_region(network);
    let lanes: Vec<Lane> = problem
        .candidates
        .iter()
        .map(|c| Lane {
            node: c.node,
            service: c.service,
            region,
        })
        .collect();
    let quantiles = match predictor.predict(&lanes, now) {
        Ok(q) if q.len() == lanes.len() => q,
        Ok(q) => {
            return fall_back(
                read,
                format!("{} predictions for {} lanes", q.len(), lanes.len()),
            );
        }
        Err(error) => return fall_back(read, error.to_string()),
    };
    let tz = destination_tz(network, &request.destination);
    let promise_end = request
        .promised_by
        .map(|p| end_of_day(tz, promise_date(network, request, p)).unwrap_or(p));
    let mut windows = Vec::with_capacity(lanes.len());
    let mut p_late = Vec::with_capacity(lanes.len());
    for (c, q) in problem.candidates.iter_mut().zip(&quantiles) {
        let by = promise_end.or_else(|| {
            let service = network.service(c.service);
            nominal_arrival(
                network.node(c.node),
                service.pickup_days,
                service.transit_days,
                now,
            )
            .and_then(|d| end_of_day(tz, d))
        });
        let on_time = by.map_or(0.0, |by| {
            let p = predictor.p_delivered_within(q, days_between(now, by).max(0.0));
            if p.is_finite() {
                p.clamp(0.0, 1.0)
            } else {
                0.0
            }
        });
        if promise_end.is_some() {
            let late = 1.0 - on_time;
            c.lateness_per_unit = (late_penalty as f64 * late + 0.5).floor() as i64;
            p_late.push(late);
        } else {
            p_late.push(0.0);
        }
        windows.push(DeliveryWindow {
            quantiles: *q,
            earliest: now + days(q.q10),
            latest: now + days(q.q90),
            on_time_probability: on_time,
        });
    }
    read.p_late = p_late;
    read.windows = windows;
    read.model = Some(predictor.model());
    if promise_end.is_some() {
        read.source = LatenessSource::Model;
    }
}

fn fall_back(read: &mut TransitRead, error: String) {
    tracing::warn!(%error, "transit model failed: lateness priced with the nominal curve, no delivery windows");
    metrics::counter!("allot_transit_fallback_total").increment(1);
    if read.source == LatenessSource::Nominal {
        read.source = LatenessSource::NominalAfterModelError(error);
    }
}

// ---- the nominal lateness curve -------------------------------------------

/// Nominal probability of late delivery when the nominal arrival is at
/// least one day before the promised date, per mille.
pub const P_LATE_EARLY_PERMILLE: i64 = 20;
/// ... when it arrives on the promised date, per mille.
pub const P_LATE_ON_DAY_PERMILLE: i64 = 350;
/// ... when it arrives after the promised date (or the node never ships),
/// per mille.
pub const P_LATE_AFTER_PERMILLE: i64 = 950;

/// The promised date in the destination's time zone (the region's, else the
/// nearest region's, else UTC).
pub(crate) fn promise_date(
    network: &Network,
    request: &OrderRequest,
    promised_by: SystemTime,
) -> NaiveDate {
    DateTime::<Utc>::from(promised_by)
        .with_timezone(&destination_tz(network, &request.destination))
        .date_naive()
}

/// The destination's time zone: its region's, else the nearest region's,
/// else UTC. Orders and promises both date their deliveries in it.
pub(crate) fn destination_tz(network: &Network, destination: &Destination) -> Tz {
    let region = destination.region.or_else(|| {
        (!network.regions().is_empty()).then(|| network.nearest_region(destination.point))
    });
    region.map_or(Tz::UTC, |r| network.region(r).time_zone)
}

/// P(late) per mille from nominal transit days (docs/allocation.md).
pub(crate) fn p_late_permille(
    network: &Network,
    node: &Node,
    service: ServiceId,
    now: SystemTime,
    promise: NaiveDate,
) -> i64 {
    let s = network.service(service);
    let Some(arrival) = nominal_arrival(node, s.pickup_days, s.transit_days, now) else {
        return P_LATE_AFTER_PERMILLE;
    };
    if arrival < promise {
        P_LATE_EARLY_PERMILLE
    } else if arrival == promise {
        P_LATE_ON_DAY_PERMILLE
    } else {
        P_LATE_AFTER_PERMILLE
    }
}

/// A small deterministic predictor for tests: transit grows with the
/// service's nominal transit days; P(delivered within d) is linear between
/// q10 and q90.
#[cfg(test)]
pub(crate) mod test_predictor {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::network::Network;
    use crate::transit::TransitError;
    use std::sync::Arc;

    /// Transit of `service.transit_days + 1` days, +-1 day; fails when
    /// `fail` is set.
    pub(crate) struct FixedPredictor {
        pub network: Arc<Network>,
        pub fail: bool,
        pub calls: AtomicUsize,
    }

    impl TransitPredictor for FixedPredictor {
        fn model(&self) -> crate::transit::ModelTag {
            crate::transit::ModelTag {
                name: "eta-test".into(),
                version: "1".into(),
                sha256: String::new(),
            }
        }

        fn predict(
            &self,
            lanes: &[Lane],
            _released: SystemTime,
        ) -> Result<Vec<TransitQuantiles>, TransitError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.fail {
                return Err(TransitError("test failure".into()));
            }
            Ok(lanes
                .iter()
                .map(|l| {
                    let t = f64::from(self.network.service(l.service).transit_days) + 1.0;
                    TransitQuantiles::sorted([t - 1.0, t, t + 1.0])
                })
                .collect())
        }

        fn p_delivered_within(&self, q: &TransitQuantiles, days: f64) -> f64 {
            if q.q90 <= q.q10 {
                return if days >= q.q50 { 1.0 } else { 0.0 };
            }
            (0.1 + 0.8 * (days - q.q10) / (q.q90 - q.q10)).clamp(0.0, 1.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant, SystemTime};

    use super::test_predictor::FixedPredictor;
    use super::*;
    use crate::allocation::allocate::Allocator;
    use crate::allocation::candidates::tests::{order, popular, setup};
    use crate::allocation::outcome::ReasonCode;
    use crate::allocation::params::CostParams;
    use crate::network::{RegionId, ServiceLevel};
    use crate::reservation::ReservationBook;

    fn allocator(fail: bool) -> (Allocator, Arc<FixedPredictor>, OrderRequest) {
        let (network, store, _) = setup();
        let skus = popular(&network, &store, |s| {
            !network.sku(s).cold_chain && !network.sku(s).hazmat
        });
        let request = order(&network, &skus, RegionId(0), ServiceLevel::Ground);
        let predictor = Arc::new(FixedPredictor {
            network,
            fail,
            calls: AtomicUsize::new(0),
        });
        let book = Arc::new(ReservationBook::new(Arc::new(store)));
        let allocator = Allocator::new(book, CostParams::default())
            .with_transit(Some(predictor.clone() as Arc<dyn TransitPredictor>));
        (allocator, predictor, request)
    }

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    #[test]
    fn the_lateness_term_follows_the_promise_in_one_prediction_call() {
        let (allocator, predictor, mut request) = allocator(false);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        request.promised_by = Some(now + Duration::from_secs(60 * 86_400));
        let far = allocator.problem(&request, now).unwrap();
        assert_eq!(predictor.calls.load(Ordering::SeqCst), 1);
        assert_eq!(far.transit.source, LatenessSource::Model);
        assert!(far.problem.n() > 1);
        assert!(
            far.problem
                .candidates
                .iter()
                .all(|c| c.lateness_per_unit == 0)
        );
        assert_eq!(far.transit.windows.len(), far.problem.n());

        // Due before any parcel can arrive: P(late) = 1 everywhere.
        request.promised_by = Some(now);
        let due = allocator.problem(&request, now).unwrap();
        assert!(
            due.problem
                .candidates
                .iter()
                .all(|c| c.lateness_per_unit == CostParams::DEFAULT_LATE_PENALTY)
        );
        let outcome = allocator
            .decide_with_capacity(&request, &due.capacity, later(), now)
            .unwrap();
        assert!(outcome.objective.lateness > 0);
        let late_lines = outcome
            .lines
            .iter()
            .filter(|l| l.reasons.iter().any(|r| r.code == ReasonCode::LateRisk))
            .count();
        assert_eq!(late_lines, outcome.lines.len());
    }

    #[test]
    fn shipments_carry_windows_and_the_answer_is_deterministic() {
        let (allocator, _, mut request) = allocator(false);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        request.promised_by = Some(now + Duration::from_secs(4 * 86_400));
        let capacity = allocator.book().remaining_capacity(now);
        let a = allocator
            .decide_with_capacity(&request, &capacity, later(), now)
            .unwrap();
        let b = allocator
            .decide_with_capacity(&request, &capacity, later(), now)
            .unwrap();
        assert!(!a.shipments.is_empty());
        for s in &a.shipments {
            let w = s.window.expect("a window per shipment");
            assert!(now < w.earliest && w.earliest <= w.latest);
            assert!((0.0..=1.0).contains(&w.on_time_probability));
        }
        assert_eq!(a.shipments, b.shipments);
        assert_eq!(a.objective, b.objective);
        assert_eq!(a.read, b.read);
    }

    #[test]
    fn a_failing_model_falls_back_to_the_nominal_curve_and_says_so() {
        let (allocator, _, mut request) = allocator(true);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        request.promised_by = Some(now + Duration::from_secs(60 * 86_400));
        let built = allocator.problem(&request, now).unwrap();
        assert!(built.transit.fell_back());
        assert!(built.transit.windows.is_empty());
        assert!(
            built
                .problem
                .candidates
                .iter()
                .all(|c| c.lateness_per_unit == 30)
        );
        let outcome = allocator
            .decide_with_capacity(&request, &built.capacity, later(), now)
            .unwrap();
        assert!(outcome.shipments.iter().all(|s| s.window.is_none()));
        // Nominal P(late) 0.02 is not material: no LATE_RISK.
        assert!(
            outcome
                .lines
                .iter()
                .all(|l| l.reasons.iter().all(|r| r.code != ReasonCode::LateRisk))
        );
    }
}
