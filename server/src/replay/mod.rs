//! ReplayDecision as the wire sees it: a stored `DecisionRecord` read back
//! into the service layer's replay inputs (the stock it read, the
//! capacities, the features, the time), re-run there, and the two answers
//! compared.
//!
//! - `allocation`: Allocate decisions, without reserving.
//! - `risk`: ScoreOrder decisions, re-scored from the recorded features.
//! - `promise`: GetDeliveryPromise quotes, at the recorded order time.
//! - `diff`: what differs between two answers, ignoring ids, timings and
//!   timestamps of the decision itself.

mod allocation;
mod diff;
mod promise;
mod risk;

use allot_engine::allocation::protection::{PricedStock, ProtectionPrice};
use allot_engine::network::Network;
use allot_engine::stock::StockLevel;
use allot_models::features::{FRAUD_FEATURE_COUNT, FRAUD_FEATURES, FraudFeatures};
use allot_proto::v1 as pb;
use allot_service::decisions::{RecordedState, RecordedWith};
use allot_service::{DecisionId, ServiceError};
use prost::Message;

use crate::convert::time::system_time;

/// The service layer over the protobuf wire.
pub(crate) type Services = allot_service::Services<crate::records::ProtoWire>;

/// The stored record of `id`, decoded; NOT_FOUND when unknown or pruned.
pub(crate) async fn read_record(
    services: &Services,
    id: &DecisionId,
) -> Result<pb::DecisionRecord, ServiceError> {
    let bytes = services.decisions.read(id).await?;
    pb::DecisionRecord::decode(bytes.as_slice())
        .map_err(|e| ServiceError::internal(format!("decision {id} is unreadable: {e}")))
}

/// Re-runs `record` and reports whether the answer is identical.
/// FAILED_PRECONDITION when the record was made with another network or
/// model version than the ones served now (the message names both), or its
/// kind cannot be replayed.
pub(crate) async fn replay(
    services: &Services,
    record: pb::DecisionRecord,
) -> Result<pb::ReplayDecisionResponse, ServiceError> {
    match pb::DecisionKind::try_from(record.kind) {
        Ok(pb::DecisionKind::Allocation) => allocation::replay(services, record).await,
        Ok(pb::DecisionKind::Risk) => risk::replay(services, record).await,
        Ok(pb::DecisionKind::Promise) => promise::replay(services, record).await,
        Ok(kind) => Err(ServiceError::precondition(format!(
            "decision_id: decision {}: {} decisions cannot be replayed by this server \
             (allocation, promise and risk decisions can)",
            record.decision_id,
            kind.as_str_name()
        ))),
        Err(_) => Err(ServiceError::precondition(format!(
            "decision_id: decision {} has an unknown kind {} (allocation, promise and risk decisions can be replayed)",
            record.decision_id, record.kind
        ))),
    }
}

/// FAILED_PRECONDITION about the decision `decision_id` named, `record`,
/// saying `problem`.
fn precondition(record: &pb::DecisionRecord, problem: impl std::fmt::Display) -> ServiceError {
    ServiceError::precondition(format!(
        "decision_id: decision {}: {problem}",
        record.decision_id
    ))
}

/// What `record` says it was made with.
fn recorded_with(record: &pb::DecisionRecord) -> RecordedWith<'_> {
    RecordedWith {
        id: &record.decision_id,
        network_hash: &record.network_hash,
        models: record
            .model_versions
            .iter()
            .map(|m| (m.name.as_str(), m.version.as_str(), m.sha256.as_str()))
            .collect(),
        config_hash: &record.config_hash,
    }
}

/// What `record` read, over the served network.
fn recorded_state(
    record: &pb::DecisionRecord,
    network: &Network,
) -> Result<RecordedState, ServiceError> {
    let absent = |what: &str, code: &str| {
        precondition(
            record,
            format!("{what} {code:?} is not in the served network"),
        )
    };
    let decided_at = record
        .decided_at
        .as_ref()
        .map(|t| system_time(t, "decided_at"))
        .transpose()?;
    let mut stock = Vec::with_capacity(record.stock_read.len());
    let mut protection = Vec::new();
    for row in &record.stock_read {
        let node = network
            .node_id(&row.node)
            .ok_or_else(|| absent("node", &row.node))?;
        let sku = network
            .sku_id(&row.sku)
            .ok_or_else(|| absent("SKU", &row.sku))?;
        let level = StockLevel {
            on_hand: row.on_hand,
            reserved: row.reserved,
            protected: row.protected,
        };
        stock.push((node, sku, level));
        if let Some(p) = &row.protection {
            protection.push(PricedStock {
                node,
                sku,
                price: ProtectionPrice {
                    per_unit: p.per_unit_minor,
                    stockout_probability: p.stockout_probability,
                    expected_demand: p.expected_demand,
                    lead_days: p.lead_days,
                },
            });
        }
    }
    let mut capacity = vec![0; network.node_count()];
    for c in &record.capacity {
        let node = network
            .node_id(&c.node)
            .ok_or_else(|| absent("node", &c.node))?;
        capacity[node.0 as usize] = c.remaining_units;
    }
    Ok(RecordedState {
        decided_at,
        stock,
        capacity,
        protection,
    })
}

/// The fraud features of a record as the model's input row (a feature the
/// record does not hold was missing: NaN).
fn recorded_fraud_features(record: &pb::DecisionRecord) -> FraudFeatures {
    let mut row = [f32::NAN; FRAUD_FEATURE_COUNT];
    for (value, name) in row.iter_mut().zip(FRAUD_FEATURES) {
        if let Some(v) = record.features.get(*name) {
            *value = *v as f32;
        }
    }
    FraudFeatures::from_row(&row)
}
