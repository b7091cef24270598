//! Valid requests of every RPC, from a network's own codes: the seed corpus
//! of the request fuzz target (`fuzz/corpus/requests`).

use allot_engine::network::Network;
use allot_proto::v1 as pb;
use prost::Message;

use super::Rpc;

/// Fuzz inputs (the selector byte, then the encoded request) that the
/// conversion of their RPC accepts.
pub(super) fn inputs(network: &Network) -> Vec<(Rpc, Vec<u8>)> {
    let order = order(network);
    let mut committed = order.clone();
    committed.order_id = "seed-2".into();
    committed.options = Some(pb::AllocationOptions {
        commit: true,
        idempotency_key: "seed-2-key".into(),
        reservation_ttl: Some(prost_types::Duration {
            seconds: 900,
            nanos: 0,
        }),
        max_splits: Some(2),
        excluded_nodes: vec![network.nodes()[0].code.clone()],
        ..Default::default()
    });
    committed.context = Some(context(&order));
    let mut by_coordinates = order.clone();
    by_coordinates.destination = Some(pb::Destination {
        location: Some(pb::destination::Location::Coordinates(pb::GeoPoint {
            lat: 40.7,
            lon: -74.0,
        })),
        ..Default::default()
    });
    let node = network.nodes()[0].code.clone();
    let sku = network.skus()[0].code.clone();
    let single = |rpc: Rpc, message: &dyn MessageBytes| (rpc, message.bytes());
    let stream = |rpc: Rpc, messages: &[&dyn MessageBytes]| {
        let bytes = messages.iter().flat_map(|m| m.delimited()).collect();
        (rpc, bytes)
    };
    let decision_id = "dec_01J0Z3Y4K5M6N7P8Q9R0S1T2V3";
    let plan = pb::EvaluatePlanRequest {
        order: Some(order.clone()),
        plan: vec![pb::PlannedAssignment {
            line_id: "1".into(),
            node: node.clone(),
            quantity: 1,
            service: None,
        }],
    };
    let score = pb::ScoreOrderRequest {
        order_id: order.order_id.clone(),
        lines: order.lines.clone(),
        destination: order.destination.clone(),
        context: Some(context(&order)),
        order_amount_minor: 0,
        currency: String::new(),
        service_level: order.service_level,
    };
    let cart = pb::PromiseRequest {
        lines: order.lines.clone(),
        destination: order.destination.clone(),
        order_time: None,
        explain_unavailable: true,
        service_levels: vec![
            pb::ServiceLevel::Ground as i32,
            pb::ServiceLevel::TwoDay as i32,
        ],
    };
    let replacement = |first: bool| pb::ReplaceNodeStockRequest {
        node: node.clone(),
        as_of_sequence: if first { 7 } else { 0 },
        reset_feed: false,
        rows: vec![pb::StockRecord {
            sku: network.skus()[usize::from(!first)].code.clone(),
            on_hand: 40,
            reserved: 2,
            protected: 5,
        }],
    };
    let delta = |sequence: u64, kind: pb::DeltaKind| pb::StockDelta {
        node: node.clone(),
        sku: sku.clone(),
        sequence,
        kind: kind as i32,
        quantity: -3,
        protected: None,
    };
    let deltas = |from: u64| pb::StockDeltaBatch {
        deltas: vec![
            delta(from, pb::DeltaKind::Adjust),
            delta(from + 1, pb::DeltaKind::Set),
        ],
    };
    let inputs = vec![
        single(
            Rpc::GetNetwork,
            &pb::GetNetworkRequest { include_skus: true },
        ),
        single(Rpc::GetModelInfo, &pb::GetModelInfoRequest {}),
        single(Rpc::ReloadModels, &pb::ReloadModelsRequest::default()),
        single(
            Rpc::ReloadModels,
            &pb::ReloadModelsRequest {
                model_dir: "/srv/models".into(),
                models: vec![pb::ModelKind::Fraud as i32],
                shadow: true,
            },
        ),
        single(
            Rpc::RollbackModels,
            &pb::RollbackModelsRequest {
                models: vec![pb::ModelKind::Eta as i32],
            },
        ),
        single(Rpc::ClearShadowModels, &pb::ClearShadowModelsRequest {}),
        single(Rpc::GetModelDrift, &pb::GetModelDriftRequest {}),
        single(Rpc::Allocate, &order),
        single(Rpc::Allocate, &committed),
        single(Rpc::Allocate, &by_coordinates),
        single(
            Rpc::ReoptimizeBacklog,
            &pb::ReoptimizeBacklogRequest {
                selection: Some(pb::reoptimize_backlog_request::Selection::Held(
                    pb::HeldFilter {
                        node: "DC-ATL".into(),
                        sku: String::new(),
                    },
                )),
                move_penalty_minor: Some(100),
                max_moves: Some(10),
                commit: true,
                budget_ms: 500,
            },
        ),
        single(
            Rpc::ConfirmReservation,
            &pb::ConfirmReservationRequest {
                reservation_id: "res_01J0Z3Y4K5M6N7P8Q9R0S1T2V3".into(),
            },
        ),
        single(
            Rpc::ReleaseReservation,
            &pb::ReleaseReservationRequest {
                reservation_id: "res_01J0Z3Y4K5M6N7P8Q9R0S1T2V3".into(),
                reason: pb::ReleaseReason::OrderCancelled as i32,
                note: "customer cancelled".into(),
            },
        ),
        single(
            Rpc::GetReservation,
            &pb::GetReservationRequest {
                reservation_id: "res_01J0Z3Y4K5M6N7P8Q9R0S1T2V3".into(),
            },
        ),
        single(Rpc::EvaluatePlan, &plan),
        single(
            Rpc::ExplainDecision,
            &pb::ExplainDecisionRequest {
                decision_id: decision_id.into(),
            },
        ),
        single(
            Rpc::WatchDecisions,
            &pb::WatchDecisionsRequest {
                from_position: Some(3),
                kinds: vec![
                    pb::DecisionEventKind::OrderAllocated as i32,
                    pb::DecisionEventKind::ReservationReleased as i32,
                ],
            },
        ),
        single(
            Rpc::ReplayDecision,
            &pb::ReplayDecisionRequest {
                decision_id: decision_id.into(),
            },
        ),
        stream(
            Rpc::ReplaceNodeStock,
            &[&replacement(true), &replacement(false)],
        ),
        stream(Rpc::StreamStockDeltas, &[&deltas(1), &deltas(3)]),
        single(
            Rpc::GetSkuAvailability,
            &pb::GetSkuAvailabilityRequest {
                sku: sku.clone(),
                nodes: vec![node.clone()],
                include_zero: true,
            },
        ),
        single(
            Rpc::GetNodeStock,
            &pb::GetNodeStockRequest {
                node: node.clone(),
                page_size: 100,
                page_token: "100".into(),
            },
        ),
        single(Rpc::GetStockStatus, &pb::GetStockStatusRequest {}),
        single(Rpc::GetDeliveryPromise, &cart),
        single(
            Rpc::RouteReturn,
            &pb::RouteReturnRequest {
                return_id: "ret-1".into(),
                order_id: "seed-1".into(),
                sku: sku.clone(),
                quantity: 1,
                origin: order.destination.clone(),
                ..Default::default()
            },
        ),
        single(Rpc::ScoreOrder, &score),
        single(
            Rpc::ReportReturns,
            &pb::ReportReturnsRequest {
                returns: vec![pb::ReturnedOrder {
                    order_id: "o-1".into(),
                    customer_id: "c-1".into(),
                    email: String::new(),
                    returned_at: Some(prost_types::Timestamp {
                        seconds: 1_767_225_600,
                        nanos: 0,
                    }),
                }],
            },
        ),
        single(
            Rpc::ForecastDemand,
            &pb::ForecastDemandRequest {
                skus: vec![sku.clone()],
                regions: vec![network.regions()[0].code.clone()],
                nodes: vec![network.nodes()[0].code.clone()],
                horizon_days: 7,
                promotions: vec![pb::Promotion {
                    category: network.skus()[0].category.clone(),
                    first_day: "2026-12-01".into(),
                    last_day: "2026-12-03".into(),
                    discount: 0.25,
                }],
            },
        ),
        single(
            Rpc::PlanTransfers,
            &pb::PlanTransfersRequest {
                skus: vec![sku.clone()],
                nodes: vec![network.nodes()[0].code.clone()],
                horizon_days: 14,
            },
        ),
        single(
            Rpc::ForecastWorkload,
            &pb::ForecastWorkloadRequest {
                nodes: vec![network.nodes()[0].code.clone()],
                horizon_days: 7,
                skus: vec![sku.clone()],
            },
        ),
    ];
    inputs
        .into_iter()
        .map(|(rpc, bytes)| {
            let mut input = vec![rpc.selector()];
            input.extend(bytes);
            (rpc, input)
        })
        .collect()
}

/// An order of two lines to the first region of `network`, ground.
fn order(network: &Network) -> pb::AllocateRequest {
    let line = |i: usize| pb::OrderLine {
        line_id: (i + 1).to_string(),
        sku: network.skus()[i].code.clone(),
        quantity: 1 + i as u32,
        unit_price_minor: Some(1_999),
        weight_grams: None,
    };
    let postal_code = format!("{:0<5}", format!("{}1", network.regions()[0].postal_prefix));
    pb::AllocateRequest {
        order_id: "seed-1".into(),
        lines: vec![line(0), line(1)],
        destination: Some(pb::Destination {
            location: Some(pb::destination::Location::PostalCode(postal_code)),
            ..Default::default()
        }),
        service_level: pb::ServiceLevel::Ground as i32,
        promised_by: None,
        options: Some(pb::AllocationOptions {
            allow_backorder: true,
            ..Default::default()
        }),
        context: None,
    }
}

/// A buyer with every signal, billing at the order's destination.
fn context(order: &pb::AllocateRequest) -> pb::OrderContext {
    pb::OrderContext {
        customer_id: "customer-1".into(),
        account_created_at: Some(prost_types::Timestamp {
            seconds: 1_672_531_200,
            nanos: 0,
        }),
        email: "customer1@example.com".into(),
        device_id: "device-1".into(),
        card_fingerprint: "card-1".into(),
        billing: order.destination.clone(),
        ip: "203.0.113.7".into(),
        placed_at: None,
    }
}

/// A message as bytes, alone or length-delimited in a stream (object safe,
/// unlike [`Message`]).
trait MessageBytes {
    fn bytes(&self) -> Vec<u8>;
    fn delimited(&self) -> Vec<u8>;
}

impl<M: Message> MessageBytes for M {
    fn bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }

    fn delimited(&self) -> Vec<u8> {
        self.encode_length_delimited_to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Contract, Rpc};

    #[test]
    fn every_rpc_has_a_seed_its_conversion_accepts() {
        let contract = Contract::demo();
        let seeds = contract.seed_inputs();
        for rpc in Rpc::ALL {
            assert!(seeds.iter().any(|(r, _)| *r == rpc), "no seed for {rpc:?}");
        }
        for (rpc, input) in &seeds {
            assert_eq!(Rpc::select(input[0]), *rpc);
            if let Err(e) = contract.convert_input(input) {
                panic!("the seed of {rpc:?} is refused: {e}");
            }
        }
    }

    /// Writes the seed corpus of the request target to the directory in
    /// `ALLOT_FUZZ_SEEDS` (`fuzz/corpus/requests`): `cargo test -p
    /// allot-server --features fuzzing -- --ignored write_request_seeds`.
    #[test]
    #[ignore = "writes files; run by hand to refresh the seed corpus"]
    fn write_request_seeds() {
        let dir = std::env::var("ALLOT_FUZZ_SEEDS").expect("ALLOT_FUZZ_SEEDS: a directory");
        std::fs::create_dir_all(&dir).unwrap();
        let mut n = std::collections::HashMap::new();
        for (rpc, input) in Contract::demo().seed_inputs() {
            let k = n.entry(rpc.selector()).or_insert(0);
            *k += 1;
            let path = format!("{dir}/{rpc:?}-{k}");
            std::fs::write(path, input).unwrap();
        }
    }
}
