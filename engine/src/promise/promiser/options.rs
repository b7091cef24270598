//! Option building: a plan (fresh or cached) turned into delivery options
//! for one request's order time, with ship dates, cutoffs, windows and
//! on-time probabilities.

use std::time::{Duration, SystemTime};

use chrono::NaiveDate;
use chrono_tz::Tz;

use super::plan::{LevelPlan, Planned, PlannedLevel};
use crate::allocation::lateness::{P_LATE_EARLY_PERMILLE, P_LATE_ON_DAY_PERMILLE, destination_tz};
use crate::allocation::outcome::{Reason, ReasonCode};
use crate::calendar;
use crate::network::Network;
use crate::promise::quote::{
    DeliveryOption, PromiseOutcome, PromiseRead, ShipmentQuote, TransitSource, UnavailableOption,
};
use crate::promise::request::PromiseRequest;
use crate::transit::TransitPredictor;

/// Turns the plans into options for this request's order time: ship dates,
/// cutoffs, windows and probabilities are computed per request (cheap), so
/// a cached plan answers exactly as a fresh one would.
pub(super) fn finish(
    network: &Network,
    request: &PromiseRequest,
    planned: &Planned,
    predictor: Option<&dyn TransitPredictor>,
    from_cache: bool,
    read: PromiseRead,
) -> PromiseOutcome {
    let now = request.order_time;
    let tz = destination_tz(network, &request.destination);
    let predictor = predictor.filter(|_| planned.transit == TransitSource::Model);
    let mut options = Vec::new();
    let mut unavailable = Vec::new();
    for plan in &planned.levels {
        match plan {
            LevelPlan::Planned(p) => match option(network, tz, now, p, predictor, from_cache) {
                Ok(o) => options.push(o),
                Err(reason) => unavailable.push(UnavailableOption {
                    service_level: p.level,
                    reasons: vec![reason],
                }),
            },
            // The reasons are copied only for a caller who asked for them.
            LevelPlan::Unavailable(level, reasons) if request.explain_unavailable => unavailable
                .push(UnavailableOption {
                    service_level: *level,
                    reasons: reasons.clone(),
                }),
            LevelPlan::Unavailable(..) => {}
        }
    }
    if !request.explain_unavailable {
        unavailable.clear();
    }
    PromiseOutcome {
        options,
        unavailable,
        model: planned.model.clone(),
        transit: planned.transit.clone(),
        from_cache,
        read,
    }
}

/// One option, or why its shipments cannot leave (a node that never ships).
fn option(
    network: &Network,
    tz: Tz,
    now: SystemTime,
    plan: &PlannedLevel,
    predictor: Option<&dyn TransitPredictor>,
    from_cache: bool,
) -> Result<DeliveryOption, Reason> {
    let mut shipments = Vec::with_capacity(plan.shipments.len());
    let mut arrivals: Vec<Option<NaiveDate>> = Vec::with_capacity(plan.shipments.len());
    for &(node_id, service_id, q) in &plan.shipments {
        let node = network.node(node_id);
        let service = network.service(service_id);
        let closed = || Reason {
            code: ReasonCode::ExcludedClosed,
            message: format!(
                "node {} does not ship with {} within {} days",
                node.code,
                service.code,
                calendar::MAX_SCAN_DAYS
            ),
            node: Some(node_id),
            cost_delta: 0,
        };
        let ship_date = calendar::ship_date(node, service.pickup_days, now).ok_or_else(closed)?;
        let ship_by = calendar::cutoff_instant(node, now).unwrap_or(now);
        let (earliest, latest, arrival) = match q.filter(|_| predictor.is_some()) {
            Some(q) => (
                calendar::after_days(now, q.q10),
                calendar::after_days(now, q.q90),
                None,
            ),
            None => {
                let day =
                    calendar::nominal_arrival(node, service.pickup_days, service.transit_days, now)
                        .ok_or_else(closed)?;
                let start = calendar::start_of_day(tz, day).unwrap_or(now);
                let end = calendar::end_of_day(tz, day).unwrap_or(now);
                (start, end - Duration::from_secs(1), Some(day))
            }
        };
        arrivals.push(arrival);
        shipments.push(ShipmentQuote {
            node: node_id,
            service: service_id,
            ship_date,
            ship_by,
            quantiles: q.filter(|_| predictor.is_some()),
            earliest,
            latest,
        });
    }
    let slowest = shipments
        .iter()
        .max_by_key(|s| (s.latest, std::cmp::Reverse(s.node)))
        .ok_or_else(|| Reason {
            code: ReasonCode::ExcludedNoStock,
            message: "the plan ships nothing".into(),
            node: None,
            cost_delta: 0,
        })?;
    let earliest = shipments.iter().map(|s| s.earliest).max().unwrap_or(now);
    let latest = slowest.latest;
    let latest_date = calendar::local_date(tz, latest);
    let by = calendar::end_of_day(tz, latest_date).unwrap_or(latest);
    let days = calendar::days_between(now, by).max(0.0);
    let on_time: f64 = shipments
        .iter()
        .zip(&arrivals)
        .map(|(s, arrival)| match (predictor, s.quantiles, arrival) {
            (Some(p), Some(q), _) => {
                let v = p.p_delivered_within(&q, days);
                if v.is_finite() {
                    v.clamp(0.0, 1.0)
                } else {
                    0.0
                }
            }
            (_, _, Some(day)) if *day < latest_date => 1.0 - P_LATE_EARLY_PERMILLE as f64 / 1000.0,
            _ => 1.0 - P_LATE_ON_DAY_PERMILLE as f64 / 1000.0,
        })
        .product();
    Ok(DeliveryOption {
        service_level: plan.level,
        service: slowest.service,
        ship_from: plan.ship_from.clone(),
        ship_by: shipments.iter().map(|s| s.ship_by).min().unwrap_or(now),
        ship_date_local: shipments
            .iter()
            .map(|s| s.ship_date)
            .max()
            .unwrap_or_else(|| calendar::local_date(tz, now)),
        earliest_delivery_date: calendar::local_date(tz, earliest),
        latest_delivery_date: latest_date,
        earliest_delivery: earliest,
        latest_delivery: latest,
        on_time_probability: on_time,
        cost_minor: plan.cost,
        from_cache,
        shipments,
    })
}
