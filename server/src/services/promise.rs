//! PromiseService: delivery options for a cart, quoted on the solver pool
//! and recorded in the decision log.

use std::time::{Duration, Instant, SystemTime};

use allot_engine::network::Network;
use allot_engine::promise::{PromiseOutcome, PromiseRequest, TransitSource};
use allot_proto::v1 as pb;
use allot_proto::v1::promise_service_server::PromiseService;
use tonic::{Request, Response, Status};

use crate::config::AllocationConfig;
use crate::convert::promise as conv;
use crate::convert::time::timestamp;
use crate::deadline::budget;
use crate::decisions::{self, DecisionRecorder, input_hash, redact_promise, server_version};
use crate::error::status;
use crate::pool::SolverPool;
use crate::state::{Engine, Ready};

/// Feature-map key set to 1 when the windows fell back to nominal transit
/// because the ETA model failed.
pub const ETA_FALLBACK: &str = "eta_fallback";

/// The PromiseService adapter.
pub struct PromiseApi {
    ready: Ready,
    config: AllocationConfig,
    pool: SolverPool,
}

impl PromiseApi {
    /// An adapter over the engine published in `ready`; the time budget and
    /// the solver pool are allocation's.
    pub fn new(ready: Ready, config: AllocationConfig, pool: SolverPool) -> Self {
        PromiseApi {
            ready,
            config,
            pool,
        }
    }
}

#[tonic::async_trait]
impl PromiseService for PromiseApi {
    async fn get_delivery_promise(
        &self,
        request: Request<pb::PromiseRequest>,
    ) -> Result<Response<pb::PromiseResponse>, Status> {
        let started = Instant::now();
        let deadline = budget(
            request.metadata(),
            started,
            Duration::from_millis(self.config.default_budget_ms),
            Duration::from_millis(self.config.deadline_margin_ms),
        )?;
        let engine = self.ready.engine()?.clone();
        let message = request.into_inner();
        let now = SystemTime::now();
        let promise = conv::promise_request(&engine.network, message.clone(), now)?;
        // A cached quote costs tens of microseconds: answered here; a miss
        // plans on the bounded solver pool.
        let (promise, outcome) = match engine.promiser.promise_if_cached(&promise) {
            Ok(Some(outcome)) => (promise, outcome),
            Err(error) => return Err(status(error)),
            Ok(None) => {
                let worker = engine.clone();
                let (promise, outcome) = self
                    .pool
                    .run(deadline, move || {
                        let outcome = worker.promiser.promise(&promise, deadline);
                        (promise, outcome)
                    })
                    .await?;
                (promise, outcome.map_err(status)?)
            }
        };
        let decision_id = DecisionRecorder::new_id();
        let response =
            conv::promise_response(&engine.network, &promise, &outcome, decision_id, now);
        let (mut record, event) = promise_record(
            &engine,
            message,
            response,
            &promise,
            &outcome,
            started.elapsed(),
        );
        engine.decisions.record(&record, Some(event))?;
        // The response goes back out of the record it was encoded in.
        let Some(pb::decision_record::Response::PromiseResponse(response)) = record.response.take()
        else {
            return Err(Status::internal(
                "a promise record without its response (a bug)",
            ));
        };
        if record.state_recorded_by.is_empty() {
            // Later quotes from the same cache entry refer to this record.
            let _ = outcome.read.recorded_by.set(response.decision_id.clone());
        }
        metrics::counter!(
            "allot_promise_quotes_total",
            "cache" => if outcome.from_cache { "hit" } else { "miss" }
        )
        .increment(1);
        Ok(Response::new(response))
    }
}

/// One line for the event feed: the options' levels, dates and costs.
fn summary(response: &pb::PromiseResponse) -> String {
    use std::fmt::Write as _;
    if response.options.is_empty() {
        return "promise quoted: no option".to_string();
    }
    let mut line = String::with_capacity(32 + 48 * response.options.len());
    line.push_str("promise quoted: ");
    for (i, o) in response.options.iter().enumerate() {
        if i > 0 {
            line.push_str("; ");
        }
        let level = match pb::ServiceLevel::try_from(o.service_level) {
            Ok(pb::ServiceLevel::SameDay) => "same_day",
            Ok(pb::ServiceLevel::Overnight) => "overnight",
            Ok(pb::ServiceLevel::TwoDay) => "two_day",
            Ok(pb::ServiceLevel::Ground) => "ground",
            Ok(pb::ServiceLevel::Unspecified) | Err(_) => "",
        };
        let _ = write!(
            line,
            "{level} by {} ({:.0}%, {} minor)",
            o.latest_delivery_date,
            100.0 * o.on_time_probability,
            o.cost_minor
        );
    }
    line
}

/// The ETA quantiles behind each option's shipments, and whether the
/// windows fell back to nominal transit.
fn eta_features(
    network: &Network,
    outcome: &PromiseOutcome,
    response: &pb::PromiseResponse,
) -> std::collections::HashMap<String, f64> {
    let mut features = std::collections::HashMap::new();
    if matches!(outcome.transit, TransitSource::NominalAfterModelError(_)) {
        features.insert(ETA_FALLBACK.to_string(), 1.0);
    }
    for (o, option) in outcome.options.iter().zip(&response.options) {
        let level = option.service_level;
        for (i, s) in o.shipments.iter().enumerate() {
            if let Some(q) = s.quantiles {
                let key = format!("eta.{level}.{i}.{}", network.node(s.node).code);
                features.insert(format!("{key}.q10"), q.q10);
                features.insert(format!("{key}.q50"), q.q50);
                features.insert(format!("{key}.q90"), q.q90);
            }
        }
    }
    features
}

/// The decision record and event of one promise; the record holds the
/// response (the caller takes it back out after encoding the record).
fn promise_record(
    engine: &Engine,
    mut request: pb::PromiseRequest,
    response: pb::PromiseResponse,
    promise: &PromiseRequest,
    outcome: &PromiseOutcome,
    decision_time: Duration,
) -> (pb::DecisionRecord, pb::DecisionEvent) {
    let network: &Network = &engine.network;
    let input_hash = input_hash(&request);
    redact_promise(&mut request);
    let read = &outcome.read;
    let model_versions = outcome
        .model
        .iter()
        .map(|(name, version)| pb::ModelVersion {
            name: name.clone(),
            version: version.clone(),
        })
        .collect();
    // A quote from a cache entry whose first quote is recorded refers to
    // that record for the rows, versions, capacities and ETA features it
    // shares.
    let state_recorded_by = read.recorded_by.get().cloned();
    let (stock_versions, stock_read, capacity, features) = match &state_recorded_by {
        Some(_) => Default::default(),
        None => (
            decisions::stock_versions(network, &read.stock_versions),
            decisions::stock_read(network, &read.stock_read),
            decisions::capacity(network, &read.capacity),
            eta_features(network, outcome, &response),
        ),
    };
    let mut reasons = Vec::new();
    for r in response.unavailable.iter().flat_map(|u| u.reasons.iter()) {
        if !reasons.contains(r) {
            reasons.push(r.clone());
        }
    }
    let event = pb::DecisionEvent {
        position: 0,
        at: None,
        kind: pb::DecisionEventKind::PromiseQuoted as i32,
        decision_id: response.decision_id.clone(),
        order_id: String::new(),
        reservation_id: String::new(),
        summary: summary(&response),
    };
    let record = pb::DecisionRecord {
        decision_id: response.decision_id.clone(),
        kind: pb::DecisionKind::Promise as i32,
        recorded_at: Some(timestamp(SystemTime::now())),
        input_hash,
        stock_versions,
        model_versions,
        config_hash: engine.decisions.config_hash().to_string(),
        network_hash: engine.decisions.network_hash().to_string(),
        request: Some(pb::decision_record::Request::PromiseRequest(request)),
        response: Some(pb::decision_record::Response::PromiseResponse(response)),
        features,
        reasons,
        solver: None,
        decision_time_us: decision_time.as_micros() as u64,
        server_version: server_version().to_string(),
        stock_read,
        capacity,
        decided_at: Some(timestamp(promise.order_time)),
        state_recorded_by: state_recorded_by.unwrap_or_default(),
    };
    (record, event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_each_option_level_date_chance_and_cost() {
        let option = |level: pb::ServiceLevel, date: &str, p: f64, cost: i64| pb::DeliveryOption {
            service_level: level as i32,
            latest_delivery_date: date.into(),
            on_time_probability: p,
            cost_minor: cost,
            ..Default::default()
        };
        let mut response = pb::PromiseResponse {
            options: vec![
                option(pb::ServiceLevel::TwoDay, "2026-12-02", 0.946, 2516),
                option(pb::ServiceLevel::Ground, "2026-12-04", 0.9, 899),
            ],
            ..Default::default()
        };
        assert_eq!(
            summary(&response),
            "promise quoted: two_day by 2026-12-02 (95%, 2516 minor); \
             ground by 2026-12-04 (90%, 899 minor)"
        );
        response.options.clear();
        assert_eq!(summary(&response), "promise quoted: no option");
    }
}
