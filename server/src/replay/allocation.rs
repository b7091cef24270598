//! Replaying an Allocate decision: a stock store holding exactly the
//! recorded rows over the served network, the recorded capacities, the
//! recorded time as now, the fraud score from the recorded features, and no
//! reservation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use allot_engine::allocation::allocate::Allocator;
use allot_engine::network::{Network, NodeId};
use allot_engine::reservation::ReservationBook;
use allot_engine::stock::{StockLevel, StockStore};
use allot_proto::v1 as pb;
use tonic::Status;

use super::{check_versions, diff, recorded_fraud_features};
use crate::allocate::{DecideError, FraudInput, Mode, RiskAssessmentInput, decide, response};
use crate::convert::allocation::{order_request, system_time};
use crate::convert::risk as risk_conv;
use crate::state::Engine;

/// Time a replayed solve may take: enough to prove what the original
/// proved.
pub(super) const REPLAY_BUDGET: Duration = Duration::from_secs(5);

pub(super) fn precondition(record: &pb::DecisionRecord, problem: impl std::fmt::Display) -> Status {
    Status::failed_precondition(format!("decision {}: {problem}", record.decision_id))
}

/// A stock store over `network` holding exactly `rows` (every other level
/// zero), as of `at`.
pub(super) fn rebuild_stock(
    record: &pb::DecisionRecord,
    network: &Arc<Network>,
    at: std::time::SystemTime,
) -> Result<StockStore, Status> {
    let store = StockStore::new(network.clone());
    let mut per_node: Vec<Vec<_>> = vec![Vec::new(); network.node_count()];
    for row in &record.stock_read {
        let node = network.node_id(&row.node).ok_or_else(|| {
            precondition(
                record,
                format!("node {:?} is not in the served network", row.node),
            )
        })?;
        let sku = network.sku_id(&row.sku).ok_or_else(|| {
            precondition(
                record,
                format!("SKU {:?} is not in the served network", row.sku),
            )
        })?;
        per_node[node.0 as usize].push((
            sku,
            StockLevel {
                on_hand: row.on_hand,
                reserved: row.reserved,
                protected: row.protected,
            },
        ));
    }
    for (n, rows) in per_node.into_iter().enumerate() {
        if !rows.is_empty() {
            store
                .replace_node(NodeId(n as u32), rows, 0, at)
                .map_err(|e| precondition(record, format!("recorded stock: {e}")))?;
        }
    }
    Ok(store)
}

/// What a record read, rebuilt over the served network: the instant it
/// decided at, its stock rows and the remaining capacity per node.
pub(super) struct RecordedState {
    /// The recorded `decided_at`.
    pub decided_at: std::time::SystemTime,
    /// A store holding exactly the recorded stock rows.
    pub stock: StockStore,
    /// Remaining capacity per node id.
    pub capacity: Vec<u32>,
}

/// Rebuilds what `record` read (see [`RecordedState`]).
pub(super) fn recorded_state(
    record: &pb::DecisionRecord,
    network: &Arc<Network>,
) -> Result<RecordedState, Status> {
    let decided_at = record
        .decided_at
        .as_ref()
        .ok_or_else(|| precondition(record, "no recorded decision time"))
        .and_then(|t| system_time(t, "decided_at"))?;
    Ok(RecordedState {
        decided_at,
        stock: rebuild_stock(record, network, decided_at)?,
        capacity: capacities(record, network)?,
    })
}

/// The recorded remaining capacity per node id (0 for a node not listed).
pub(super) fn capacities(
    record: &pb::DecisionRecord,
    network: &Network,
) -> Result<Vec<u32>, Status> {
    let mut capacity = vec![0; network.node_count()];
    for c in &record.capacity {
        let node = network.node_id(&c.node).ok_or_else(|| {
            precondition(
                record,
                format!("node {:?} is not in the served network", c.node),
            )
        })?;
        capacity[node.0 as usize] = c.remaining_units;
    }
    Ok(capacity)
}

/// Re-runs an ALLOCATION record and compares the answers.
pub(super) async fn replay(
    engine: &Engine,
    record: pb::DecisionRecord,
) -> Result<pb::ReplayDecisionResponse, Status> {
    check_versions(engine, &record)?;
    let Some(pb::decision_record::Request::AllocateRequest(request)) = record.request.clone()
    else {
        return Err(precondition(&record, "no recorded Allocate request"));
    };
    let Some(pb::decision_record::Response::AllocateResponse(recorded)) = record.response.clone()
    else {
        return Err(precondition(&record, "no recorded Allocate response"));
    };
    let network = engine.network.clone();
    let RecordedState {
        decided_at,
        stock: store,
        capacity,
    } = recorded_state(&record, &network)?;
    let (order, _commit) = order_request(&network, request.clone(), "allocate_request.")?;
    let fraud = match (&request.context, &recorded.risk) {
        (Some(_), Some(risk)) => FraudInput::Recorded(Box::new(RiskAssessmentInput {
            features: recorded_fraud_features(&record),
            hits: risk_conv::recorded_rule_hits(&risk.reasons),
        })),
        _ => FraudInput::None,
    };
    let eta_recorded = engine
        .transit
        .as_ref()
        .filter(|t| {
            record
                .model_versions
                .iter()
                .any(|m| m.name == t.model_name())
        })
        .cloned();
    let allocator = Allocator::new(
        Arc::new(ReservationBook::new(Arc::new(store))),
        *engine.allocator.params(),
    )
    .with_transit(eta_recorded);
    let risk = engine.risk.clone();
    let decided = tokio::task::spawn_blocking(move || {
        decide(
            &allocator,
            &risk,
            &order,
            fraud,
            Mode::Replay {
                capacity: &capacity,
            },
            Instant::now() + REPLAY_BUDGET,
            decided_at,
        )
    })
    .await
    .map_err(|e| Status::internal(format!("replay task failed: {e}")))?
    .map_err(DecideError::status)?;
    let replayed = response(&network, record.decision_id.clone(), &decided);
    let mut differences = diff::allocation(&recorded, &replayed);
    let config = engine.decisions.config_hash();
    if !differences.is_empty() && !record.config_hash.is_empty() && record.config_hash != config {
        differences.push(format!(
            "config_hash: {} -> {config} (the configuration changed since the decision)",
            record.config_hash
        ));
    }
    Ok(pb::ReplayDecisionResponse {
        original: Some(record),
        identical: differences.is_empty(),
        differences,
        response: Some(pb::replay_decision_response::Response::AllocateResponse(
            replayed,
        )),
    })
}
