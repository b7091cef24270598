//! The decision record and event of an Allocate call: the redacted request,
//! what the engine read (stock, capacity, time, predictions), the models,
//! the features, the reasons and the answer.

use std::collections::HashSet;
use std::time::Duration;

use allot_engine::allocation::lateness::LatenessSource;
use allot_proto::v1 as pb;

use super::{Decided, Hold};
use crate::convert::time::timestamp;
use crate::decisions::{self, input_hash, redact_allocate, server_version};
use crate::state::Engine;

/// Feature-map key prefix of a candidate's P(late) (`p_late.<NODE>`).
pub const P_LATE_PREFIX: &str = "p_late.";

/// Feature-map key set to 1 when the lateness term fell back to the nominal
/// curve because the ETA model failed.
pub const ETA_FALLBACK: &str = "eta_fallback";

/// Feature-map key set to 1 when a promise was priced with the nominal
/// curve (no ETA model loaded, or it failed).
pub const LATENESS_NOMINAL: &str = "lateness_nominal";

/// Every reason of a response (lines, runners-up, exclusions, risk), in
/// that order, without repeats.
fn all_reasons(response: &pb::AllocateResponse) -> Vec<pb::Reason> {
    let mut seen = HashSet::new();
    response
        .lines
        .iter()
        .flat_map(|l| l.reasons.iter())
        .chain(
            response
                .runners_up
                .iter()
                .filter_map(|r| r.binding_reason.as_ref()),
        )
        .chain(response.excluded.iter().flat_map(|e| e.reasons.iter()))
        .chain(response.risk.iter().flat_map(|r| r.reasons.iter()))
        .filter(|r| {
            seen.insert((
                r.code,
                r.message.as_str(),
                r.feature.as_str(),
                r.value.as_str(),
                r.contribution.to_bits(),
                r.cost_delta_minor,
                r.node.as_str(),
            ))
        })
        .cloned()
        .collect()
}

/// One line for the event feed: what happened, where, at what cost. No
/// personal data.
fn summary(response: &pb::AllocateResponse, decided: &Decided) -> String {
    let order = &response.order_id;
    let nodes: Vec<&str> = response.shipments.iter().map(|s| s.node.as_str()).collect();
    let total = response.objective.as_ref().map_or(0, |o| o.total_minor);
    let plan = if nodes.is_empty() {
        "no shipment".to_string()
    } else {
        format!(
            "{}; {} shipments, {total} minor",
            nodes.join(", "),
            nodes.len()
        )
    };
    let reserved = if decided.outcome.reservation.is_some() {
        ", reserved"
    } else {
        ""
    };
    match decided.hold {
        Hold::Fraud => {
            format!("order {order} held for fraud (REJECT); plan {plan}, nothing reserved")
        }
        Hold::Review => format!("order {order} held for review; plan {plan}{reserved}"),
        Hold::None => match pb::OrderDisposition::try_from(response.disposition) {
            Ok(pb::OrderDisposition::Unfulfillable) => format!("order {order} unfulfillable"),
            Ok(d) => format!(
                "order {order} {} to {plan}{reserved}",
                d.as_str_name()
                    .trim_start_matches("ORDER_DISPOSITION_")
                    .to_lowercase()
                    .replace('_', " ")
            ),
            Err(_) => format!("order {order} allocated to {plan}{reserved}"),
        },
    }
}

/// The record and event of one Allocate decision.
pub fn allocation_record(
    engine: &Engine,
    mut request: pb::AllocateRequest,
    response: &pb::AllocateResponse,
    decided: &Decided,
    decision_time: Duration,
) -> (pb::DecisionRecord, pb::DecisionEvent) {
    let network = &engine.network;
    let read = &decided.outcome.read;
    let input_hash = input_hash(&request);
    redact_allocate(&mut request);

    let stock_versions = decisions::stock_versions(network, &decided.outcome.stock_versions);

    let mut model_versions = Vec::new();
    if let Some(risk) = &decided.risk {
        model_versions.push(pb::ModelVersion {
            name: risk.model_name.clone(),
            version: risk.model_version.clone(),
        });
    }
    if let Some((name, version)) = &read.transit.model {
        model_versions.push(pb::ModelVersion {
            name: name.clone(),
            version: version.clone(),
        });
    }
    model_versions.sort_by(|a, b| a.name.cmp(&b.name));

    let mut features = decided
        .risk
        .as_ref()
        .map(|r| decisions::fraud_features(&r.features))
        .unwrap_or_default();
    if read.transit.source != LatenessSource::NoPromise {
        for (node, p) in read.candidates.iter().zip(&read.transit.p_late) {
            features.insert(format!("{P_LATE_PREFIX}{}", network.node(*node).code), *p);
        }
    }
    if read.transit.fell_back() {
        features.insert(ETA_FALLBACK.to_string(), 1.0);
    }
    if matches!(
        read.transit.source,
        LatenessSource::Nominal | LatenessSource::NominalAfterModelError(_)
    ) {
        features.insert(LATENESS_NOMINAL.to_string(), 1.0);
    }

    let stock_read = decisions::stock_read(network, &read.stock_read);
    let capacity = decisions::capacity(network, &read.capacity);

    let record = pb::DecisionRecord {
        decision_id: response.decision_id.clone(),
        kind: pb::DecisionKind::Allocation as i32,
        recorded_at: Some(timestamp(std::time::SystemTime::now())),
        input_hash,
        stock_versions,
        model_versions,
        config_hash: engine.decisions.config_hash().to_string(),
        network_hash: engine.decisions.network_hash().to_string(),
        request: Some(pb::decision_record::Request::AllocateRequest(request)),
        response: Some(pb::decision_record::Response::AllocateResponse(
            response.clone(),
        )),
        features: features.into_iter().collect(),
        reasons: all_reasons(response),
        solver: response.solver.clone(),
        decision_time_us: decision_time.as_micros() as u64,
        server_version: server_version().to_string(),
        stock_read,
        capacity,
        decided_at: Some(timestamp(read.decided_at)),
        state_recorded_by: String::new(),
    };
    let kind = match decided.hold {
        Hold::None => pb::DecisionEventKind::OrderAllocated,
        Hold::Fraud | Hold::Review => pb::DecisionEventKind::OrderHeld,
    };
    let event = pb::DecisionEvent {
        position: 0,
        at: None,
        kind: kind as i32,
        decision_id: response.decision_id.clone(),
        order_id: response.order_id.clone(),
        reservation_id: decided
            .outcome
            .reservation
            .as_ref()
            .map(|r| r.id.clone())
            .unwrap_or_default(),
        summary: summary(response, decided),
    };
    (record, event)
}
