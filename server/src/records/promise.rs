//! The record of a promise: the redacted request, what the quote read (or
//! the earlier record that holds it), the ETA quantiles behind each option,
//! the answer.

use std::collections::HashMap;

use allot_engine::network::Network;
use allot_engine::promise::{PromiseOutcome, TransitSource};
use allot_proto::v1 as pb;
use allot_service::ServiceError;
use allot_service::models::eta_shadow::EtaShadow;
use allot_service::wire::{Quote, Recording};
use prost::Message;

use super::ProtoWire;
use super::common::{
    ETA_FALLBACK, capacity, distinct, input_hash, model_version, stock_read, stock_versions,
};
use super::redact::redact_promise;

/// The ETA quantiles behind each option's shipments, and whether the
/// windows fell back to nominal transit.
fn eta_features(
    network: &Network,
    outcome: &PromiseOutcome,
    response: &pb::PromiseResponse,
) -> HashMap<String, f64> {
    let mut features = HashMap::new();
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

/// What the shadow ETA version predicted for the promise's shipments.
fn eta_shadow(network: &Network, shadow: &EtaShadow) -> pb::EtaShadow {
    pb::EtaShadow {
        model: Some(model_version(
            &shadow.model_name,
            &shadow.model_version,
            &shadow.model_sha256,
        )),
        shipments: shadow
            .shipments
            .iter()
            .map(|s| pb::EtaShadowShipment {
                service_level: crate::convert::level::to_proto(s.level) as i32,
                node: network.node(s.node).code.clone(),
                live_q10: s.live.q10,
                live_q50: s.live.q50,
                live_q90: s.live.q90,
                shadow_q10: s.shadow.q10,
                shadow_q50: s.shadow.q50,
                shadow_q90: s.shadow.q90,
            })
            .collect(),
        agrees: shadow.agrees(),
    }
}

/// The encoded record of one promise; the answer moves into the record for
/// encoding and back out.
pub(super) fn record(
    wire: &ProtoWire,
    call: Recording<'_, pb::PromiseRequest>,
    response: pb::PromiseResponse,
    quote: Quote<'_>,
) -> Result<(Vec<u8>, pb::PromiseResponse), ServiceError> {
    let network = &wire.network;
    let outcome = quote.outcome;
    let mut record = wire.header(&call, pb::DecisionKind::Promise);
    let mut request = call.request;
    record.input_hash = input_hash(&request);
    redact_promise(&mut request, &wire.privacy);
    let read = &outcome.read;
    record.model_versions = outcome
        .model
        .iter()
        .map(|m| model_version(&m.name, &m.version, &m.sha256))
        .collect();
    // A quote from a cache entry whose first quote is recorded refers to
    // that record for the rows, versions, capacities and ETA features it
    // shares.
    match quote.state_recorded_by {
        Some(basis) => record.state_recorded_by = basis.to_string(),
        None => {
            record.stock_versions = stock_versions(network, &read.stock_versions);
            record.stock_read = stock_read(network, &read.stock_read, Some(&read.protection));
            record.capacity = capacity(network, &read.capacity);
            record.features = eta_features(network, outcome, &response);
        }
    }
    record.eta_shadow = quote.eta_shadow.map(|s| eta_shadow(network, s));
    record.reasons = distinct(response.unavailable.iter().flat_map(|u| u.reasons.iter()));
    record.decided_at = Some(crate::convert::time::timestamp(quote.request.order_time));
    record.request = Some(pb::decision_record::Request::PromiseRequest(request));
    record.response = Some(pb::decision_record::Response::PromiseResponse(response));
    let bytes = record.encode_to_vec();
    match record.response.take() {
        Some(pb::decision_record::Response::PromiseResponse(response)) => Ok((bytes, response)),
        _ => Err(ServiceError::internal(
            "a promise record without its response (a bug)",
        )),
    }
}
