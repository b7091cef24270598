//! What records of several kinds share: the input hash, the stock and
//! capacities read, the fraud features.

use std::collections::HashMap;

use allot_engine::allocation::candidates::StockRow;
use allot_engine::allocation::protection::ProtectionRead;
use allot_engine::network::Network;
use allot_engine::stock::NodeVersion;
use allot_models::features::{FRAUD_FEATURES, FraudFeatures};
use allot_models::risk::RiskAssessment;
use allot_proto::v1 as pb;
use allot_service::hash::sha256_hex;

use crate::convert::risk::risk_decision;

/// Feature-map key set to 1 when the ETA model failed and the decision
/// fell back to nominal transit (the lateness term of an allocation, the
/// windows of a promise).
pub(crate) const ETA_FALLBACK: &str = "eta_fallback";

/// A model as a record names it: name, version and file hash.
pub(crate) fn model_version(name: &str, version: &str, sha256: &str) -> pb::ModelVersion {
    pb::ModelVersion {
        name: name.to_string(),
        version: version.to_string(),
        sha256: sha256.to_string(),
    }
}

/// What the shadow fraud model said about `assessed`, when one scored it.
pub(crate) fn shadow_score(assessed: &RiskAssessment) -> Option<pb::ShadowScore> {
    assessed.shadow.as_ref().map(|s| pb::ShadowScore {
        model: Some(model_version(
            &s.model_name,
            &s.model_version,
            &s.model_sha256,
        )),
        fraud_probability: f64::from(s.probability),
        decision: risk_decision(s.decision) as i32,
        agrees: s.decision == assessed.decision,
    })
}

/// Hex SHA-256 of the canonical protobuf encoding of `request` (prost
/// encodes fields in field-number order, so equal messages have equal
/// hashes). Hash the request as received, before redaction.
pub(crate) fn input_hash<M: prost::Message>(request: &M) -> String {
    sha256_hex(&request.encode_to_vec())
}

/// The snapshot versions and delta sequences a decision read, as recorded:
/// ordered by node code.
pub(crate) fn stock_versions(
    network: &Network,
    read: &[NodeVersion],
) -> Vec<pb::NodeSnapshotVersion> {
    let mut versions: Vec<pb::NodeSnapshotVersion> = read
        .iter()
        .map(|v| pb::NodeSnapshotVersion {
            node: network.node(v.node).code.clone(),
            version: v.version,
            sequence: v.sequence,
        })
        .collect();
    versions.sort_by(|a, b| a.node.cmp(&b.node));
    versions
}

/// The stock rows a decision read, as recorded: ordered by node code, then
/// SKU code.
pub(crate) fn stock_read(
    network: &Network,
    rows: &[StockRow],
    protection: Option<&ProtectionRead>,
) -> Vec<pb::StockRead> {
    let mut read: Vec<pb::StockRead> = rows
        .iter()
        .map(|r| pb::StockRead {
            node: network.node(r.node).code.clone(),
            sku: network.sku(r.sku).code.clone(),
            on_hand: r.level.on_hand,
            reserved: r.level.reserved,
            protected: r.level.protected,
            protection: protection.and_then(|p| p.price(r.node, r.sku)).map(|p| {
                pb::ProtectionPriceRead {
                    per_unit_minor: p.per_unit,
                    stockout_probability: p.stockout_probability,
                    expected_demand: p.expected_demand,
                    lead_days: p.lead_days,
                }
            }),
        })
        .collect();
    read.sort_by(|a, b| (&a.node, &a.sku).cmp(&(&b.node, &b.sku)));
    read
}

/// Every node's remaining capacity (indexed by node id; a node beyond the
/// slice has none), as recorded: ordered by node code.
pub(crate) fn capacity(network: &Network, remaining: &[u32]) -> Vec<pb::NodeCapacity> {
    let mut capacity: Vec<pb::NodeCapacity> = network
        .node_ids()
        .map(|n| pb::NodeCapacity {
            node: network.node(n).code.clone(),
            remaining_units: remaining.get(n.0 as usize).copied().unwrap_or(0),
        })
        .collect();
    capacity.sort_by(|a, b| a.node.cmp(&b.node));
    capacity
}

/// Model input features by name, without the missing (NaN) ones.
pub(crate) fn fraud_features(features: &FraudFeatures) -> HashMap<String, f64> {
    FRAUD_FEATURES
        .iter()
        .zip(features.to_row())
        .filter(|(_, value)| !value.is_nan())
        .map(|(name, value)| ((*name).to_string(), f64::from(value)))
        .collect()
}

/// Every distinct reason of `reasons`, in order.
pub(crate) fn distinct<'a>(reasons: impl Iterator<Item = &'a pb::Reason>) -> Vec<pb::Reason> {
    let mut out: Vec<pb::Reason> = Vec::new();
    for reason in reasons {
        if !out.contains(reason) {
            out.push(reason.clone());
        }
    }
    out
}
