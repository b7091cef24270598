//! The record of an Allocate decision and its answer: the redacted
//! request, what the engine read (stock, capacity, time, predictions), the
//! models, the features, the reasons and the answer.

use std::collections::HashSet;

use allot_engine::allocation::lateness::LatenessSource;
use allot_engine::allocation::outcome::AllocationOutcome;
use allot_engine::network::Network;
use allot_proto::v1 as pb;
use allot_service::allocate::{Decided, Disposition};
use allot_service::wire::Recording;
use prost::Message;

use super::ProtoWire;
use super::common::{
    ETA_FALLBACK, capacity, fraud_features, input_hash, model_version, shadow_score, stock_read,
    stock_versions,
};
use super::redact::redact_allocate;
use crate::convert::allocation as conv;
use crate::convert::risk as risk_conv;

/// Feature-map key prefix of a candidate's P(late) (`p_late.<NODE>`).
pub(crate) const P_LATE_PREFIX: &str = "p_late.";

/// Feature-map key set to 1 when a promise was priced with the nominal
/// curve (no ETA model loaded, or it failed).
pub(crate) const LATENESS_NOMINAL: &str = "lateness_nominal";

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

/// The `AllocateResponse` of a decision: the plan, the fraud assessment and
/// the disposition after the hold (HELD_FRAUD always wins; HELD_REVIEW
/// unless no plan exists).
pub(crate) fn allocation_response(
    network: &Network,
    decision_id: String,
    decided: &Decided,
) -> pb::AllocateResponse {
    let mut response = conv::allocate_response(network, decision_id.clone(), &decided.outcome);
    response.risk = decided
        .risk
        .as_ref()
        .map(|r| risk_conv::assessment(decision_id, r));
    late_risk_values(network, &decided.outcome, &mut response);
    response.disposition = disposition(decided.disposition()) as i32;
    response
}

/// LATE_RISK reasons name their node's probability of missing the promise
/// (`feature` = `p_late`, `value` = the probability).
fn late_risk_values(
    network: &Network,
    outcome: &AllocationOutcome,
    response: &mut pb::AllocateResponse,
) {
    let read = &outcome.read;
    for reason in response.lines.iter_mut().flat_map(|l| l.reasons.iter_mut()) {
        if reason.code != pb::ReasonCode::LateRisk as i32 {
            continue;
        }
        let p = network
            .node_id(&reason.node)
            .and_then(|node| read.candidates.iter().position(|&c| c == node))
            .and_then(|c| read.transit.p_late.get(c));
        if let Some(p) = p {
            reason.feature = "p_late".into();
            reason.value = format!("{p:.4}");
        }
    }
}

/// A disposition as proto.
fn disposition(d: Disposition) -> pb::OrderDisposition {
    match d {
        Disposition::Allocated => pb::OrderDisposition::Allocated,
        Disposition::PartiallyBackordered => pb::OrderDisposition::PartiallyBackordered,
        Disposition::Backordered => pb::OrderDisposition::Backordered,
        Disposition::Unfulfillable => pb::OrderDisposition::Unfulfillable,
        Disposition::HeldFraud => pb::OrderDisposition::HeldFraud,
        Disposition::HeldReview => pb::OrderDisposition::HeldReview,
    }
}

/// The encoded record of one Allocate decision.
pub(super) fn record(
    wire: &ProtoWire,
    call: Recording<'_, pb::AllocateRequest>,
    response: &pb::AllocateResponse,
    decided: &Decided,
) -> Vec<u8> {
    let network = &wire.network;
    let read = &decided.outcome.read;
    let mut record = wire.header(&call, pb::DecisionKind::Allocation);
    let mut request = call.request;
    let input_hash = input_hash(&request);
    let mut answer = response.clone();
    if let Some(risk) = answer.risk.as_mut() {
        risk.missing_signals = risk_conv::missing_signals(request.context.as_ref());
    }
    redact_allocate(&mut request, &wire.privacy);

    let stock_versions = stock_versions(network, &decided.outcome.stock_versions);

    let mut model_versions = Vec::new();
    if let Some(risk) = &decided.risk {
        model_versions.push(model_version(
            &risk.model_name,
            &risk.model_version,
            &risk.model_sha256,
        ));
        record.shadow = shadow_score(risk);
    }
    if let Some(m) = &read.transit.model {
        model_versions.push(model_version(&m.name, &m.version, &m.sha256));
    }
    model_versions.sort_by(|a, b| a.name.cmp(&b.name));

    let mut features = decided
        .risk
        .as_ref()
        .map(|r| fraud_features(&r.features))
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

    record.input_hash = input_hash;
    record.stock_versions = stock_versions;
    record.model_versions = model_versions;
    record.request = Some(pb::decision_record::Request::AllocateRequest(request));
    record.response = Some(pb::decision_record::Response::AllocateResponse(answer));
    record.features = features.into_iter().collect();
    record.reasons = all_reasons(response);
    record.solver = response.solver.clone();
    record.stock_read = stock_read(network, &read.stock_read, Some(&read.protection));
    record.capacity = capacity(network, &read.capacity);
    record.feature_store_entry = decided
        .risk
        .as_ref()
        .and_then(|r| r.observed.as_ref())
        .map(super::history::entry);
    record.encode_to_vec()
}
