//! Delivery promises: a cart's options per service level, quoted from the
//! cache when it can (tens of microseconds, inline) or planned on the
//! solver pool, and recorded in the decision log before they are answered.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use allot_engine::network::ServiceLevel;
use allot_engine::promise::{DeliveryOption, PromiseOutcome, PromiseRequest};

use crate::engine::Engine;
use crate::error::ServiceError;
use crate::id::DecisionId;
use crate::models::eta_shadow::{self, ShadowLanes};
use crate::pool::SolverPool;
use crate::sink::{Entry, Event, EventKind};
use crate::wire::{Quote, Recording, Wire};

/// One promise call, converted and validated by the adapter.
pub struct PromiseCall<R> {
    /// The engine's request.
    pub promise: PromiseRequest,
    /// The request as received (recorded redacted).
    pub request: R,
    /// When the quote was asked for (the answer's `quoted_at`).
    pub quoted_at: SystemTime,
    /// When the call started.
    pub started: Instant,
    /// When planning must end.
    pub deadline: Instant,
    /// Who asks: the name of the caller's token; empty with authentication
    /// off. Recorded with the decision and its event.
    pub caller: String,
}

/// The promise use case.
pub struct Promising<W: Wire> {
    engine: Arc<Engine>,
    wire: Arc<W>,
    pool: SolverPool,
}

impl<W: Wire> Promising<W> {
    /// Over `engine`, answering through `wire`, planning on `pool`.
    pub fn new(engine: Arc<Engine>, wire: Arc<W>, pool: SolverPool) -> Self {
        Promising { engine, wire, pool }
    }

    /// Quotes the cart, records the quote and answers.
    pub async fn quote(
        &self,
        call: PromiseCall<W::PromiseRequest>,
    ) -> Result<W::PromiseResponse, ServiceError> {
        let PromiseCall {
            promise,
            request,
            quoted_at,
            started,
            deadline,
            caller,
        } = call;
        let engine = &self.engine;
        // A shadow ETA version predicts the same shipments on the solver
        // pool: in the same task as the solve on a cache miss, in its own on
        // a hit. Its failure (or a full pool) only loses the comparison.
        let shadow = eta_shadow::shadow_version(engine);
        let (promise, outcome, eta_shadow) = match engine
            .promiser
            .promise_if_cached(&promise)
            .map_err(ServiceError::domain)?
        {
            Some(outcome) => {
                let lanes = shadow
                    .and_then(|v| Some((v, ShadowLanes::of(&engine.network, &promise, &outcome)?)));
                let eta_shadow = match lanes {
                    Some((v, lanes)) => {
                        let version = v.identity().version.clone();
                        self.pool
                            .run(deadline, move || lanes.predict_guarded(&v))
                            .await
                            .unwrap_or_else(|e| {
                                eta_shadow::shadow_failed(&version, &e.to_string());
                                None
                            })
                    }
                    None => None,
                };
                (promise, outcome, eta_shadow)
            }
            None => {
                let worker = engine.clone();
                let (promise, outcome, eta_shadow) = self
                    .pool
                    .run(deadline, move || {
                        let outcome = worker.promiser.promise(&promise, deadline);
                        let eta_shadow = match (&outcome, shadow) {
                            (Ok(o), Some(v)) => ShadowLanes::of(&worker.network, &promise, o)
                                .and_then(|lanes| lanes.predict_guarded(&v)),
                            _ => None,
                        };
                        (promise, outcome, eta_shadow)
                    })
                    .await?;
                (promise, outcome.map_err(ServiceError::domain)?, eta_shadow)
            }
        };
        let id = DecisionId::mint();
        let response = self.wire.promise(&id, &promise, &outcome, quoted_at);
        let event = promise_event(&outcome, &caller);
        // A quote from a cache entry whose first quote is recorded refers to
        // that record for the state it shares.
        let recorded_by = outcome.read.recorded_by.get().cloned();
        let (bytes, response) = self.wire.promise_record(
            Recording {
                id: &id,
                request,
                decided_at: promise.order_time,
                elapsed: started.elapsed(),
                caller: &caller,
            },
            response,
            Quote {
                request: &promise,
                outcome: &outcome,
                state_recorded_by: recorded_by.as_deref(),
                eta_shadow: eta_shadow.as_ref(),
            },
        )?;
        engine
            .decisions
            .record(Entry::new(&id, bytes, Some(event)))?;
        if recorded_by.is_none() {
            // Later quotes from the same cache entry refer to this record.
            let _ = outcome.read.recorded_by.set(id.into());
        }
        metrics::counter!(
            "allot_promise_quotes_total",
            "cache" => if outcome.from_cache { "hit" } else { "miss" }
        )
        .increment(1);
        Ok(response)
    }
}

/// Lower-case name of a service level.
pub fn level_name(level: ServiceLevel) -> &'static str {
    match level {
        ServiceLevel::SameDay => "same_day",
        ServiceLevel::Overnight => "overnight",
        ServiceLevel::TwoDay => "two_day",
        ServiceLevel::Ground => "ground",
    }
}

/// The PROMISE_QUOTED event: the options' levels, dates, chances and costs.
fn promise_event(outcome: &PromiseOutcome, caller: &str) -> Event {
    Event {
        kind: EventKind::PromiseQuoted,
        order_id: String::new(),
        reservation_id: String::new(),
        summary: summary(&outcome.options),
        caller: caller.to_string(),
    }
}

fn summary(options: &[DeliveryOption]) -> String {
    if options.is_empty() {
        return "promise quoted: no option".to_string();
    }
    let mut line = String::with_capacity(32 + 48 * options.len());
    line.push_str("promise quoted: ");
    for (i, o) in options.iter().enumerate() {
        if i > 0 {
            line.push_str("; ");
        }
        let _ = write!(
            line,
            "{} by {} ({:.0}%, {} minor)",
            level_name(o.service_level),
            o.latest_delivery_date,
            100.0 * o.on_time_probability,
            o.cost_minor
        );
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use allot_engine::network::ServiceId;
    use chrono::NaiveDate;

    fn option(level: ServiceLevel, date: &str, p: f64, cost: i64) -> DeliveryOption {
        let day: NaiveDate = date.parse().unwrap();
        DeliveryOption {
            service_level: level,
            service: ServiceId(0),
            ship_from: vec![],
            ship_by: SystemTime::UNIX_EPOCH,
            ship_date_local: day,
            earliest_delivery_date: day,
            latest_delivery_date: day,
            earliest_delivery: SystemTime::UNIX_EPOCH,
            latest_delivery: SystemTime::UNIX_EPOCH,
            on_time_probability: p,
            cost_minor: cost,
            from_cache: false,
            shipments: vec![],
        }
    }

    #[test]
    fn the_summary_names_each_option_level_date_chance_and_cost() {
        let options = [
            option(ServiceLevel::TwoDay, "2026-12-02", 0.946, 2516),
            option(ServiceLevel::Ground, "2026-12-04", 0.9, 899),
        ];
        assert_eq!(
            summary(&options),
            "promise quoted: two_day by 2026-12-02 (95%, 2516 minor); \
             ground by 2026-12-04 (90%, 899 minor)"
        );
        assert_eq!(summary(&[]), "promise quoted: no option");
    }
}
