//! Training equals serving: the orders of a synthetic world (the training
//! data's generator, `allot-training`) replayed through a real server's
//! ScoreOrder, with the world's returns reported through ReportReturns, give
//! exactly the fraud features of the training CSV (`fraud.csv`, as the
//! exporter writes it) for the same orders.
//!
//! The replay also does what live traffic does and training never sees:
//! some orders are scored twice, some are quoted (GetDeliveryPromise) before
//! they are scored, and every returned line of an order is reported (an
//! order with two returned lines is reported twice). None of it may move a
//! feature. No model output is compared, so a retrained model does not
//! change the outcome.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use std::collections::HashMap;

use allot_engine::network::ServiceLevel;
use allot_models::features::FRAUD_FEATURES;
use allot_proto::v1 as pb;
use allot_proto::v1::decision_service_client::DecisionServiceClient;
use allot_proto::v1::promise_service_client::PromiseServiceClient;
use allot_proto::v1::risk_service_client::RiskServiceClient;
use allot_training::world::{Order, World, WorldConfig};
use common::{TestServer, test_config};
use tonic::transport::Channel;

/// A world small enough to replay over gRPC in seconds, with enough repeat
/// customers, shared devices and cards, fraud bursts and returns that every
/// velocity feature and the return rate take non-zero values.
fn world() -> World {
    World::generate(WorldConfig {
        days: 24,
        customers: 400,
        daily_orders: 60.0,
        campaigns_per_100_days: 30.0,
        demand_skus: 2,
        demand_regions: 1,
        ..WorldConfig::small(23)
    })
}

fn timestamp(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

fn level(service: ServiceLevel) -> pb::ServiceLevel {
    match service {
        ServiceLevel::Ground => pb::ServiceLevel::Ground,
        ServiceLevel::TwoDay => pb::ServiceLevel::TwoDay,
        ServiceLevel::Overnight => pb::ServiceLevel::Overnight,
        ServiceLevel::SameDay => pb::ServiceLevel::SameDay,
    }
}

fn order_id(index: usize) -> String {
    format!("world-order-{index}")
}

fn customer_id(customer: u32) -> String {
    format!("world-customer-{customer}")
}

/// The world's address `a` as a caller writes it: its postal code and a
/// first line that names it (the server keys an address by both).
fn address(w: &World, a: u32) -> pb::Destination {
    pb::Destination {
        location: Some(pb::destination::Location::PostalCode(
            w.population.addresses[a as usize].postal.clone(),
        )),
        address_line1: Some(format!("{a} World Street")),
        ..Default::default()
    }
}

fn lines(w: &World, o: &Order) -> Vec<pb::OrderLine> {
    o.lines
        .iter()
        .enumerate()
        .map(|(j, l)| pb::OrderLine {
            line_id: j.to_string(),
            sku: w.network.sku(l.sku).code.clone(),
            quantity: l.qty,
            unit_price_minor: Some(u64::try_from(l.unit_price_minor).unwrap()),
            weight_grams: None,
        })
        .collect()
}

/// The ScoreOrderRequest of the world's order `index`: everything the
/// exporter's `OrderEvent` holds, as a caller sends it.
fn score_request(w: &World, index: usize) -> pb::ScoreOrderRequest {
    let o = &w.orders[index];
    let customer = &w.population.customers[o.customer as usize];
    let amount: i64 = o
        .lines
        .iter()
        .map(|l| l.unit_price_minor * i64::from(l.qty))
        .sum();
    pb::ScoreOrderRequest {
        order_id: order_id(index),
        lines: lines(w, o),
        destination: Some(address(w, o.ship)),
        context: Some(pb::OrderContext {
            customer_id: customer_id(o.customer),
            // A guest checkout sends no account: its age is missing, as in
            // the training data.
            account_created_at: if o.guest {
                None
            } else {
                timestamp(customer.created)
            },
            device_id: format!("world-device-{}", o.device),
            card_fingerprint: format!("world-card-{}", o.card),
            billing: Some(address(w, o.bill)),
            placed_at: timestamp(o.time),
            ..Default::default()
        }),
        // The lines' value, sent as the caller's total.
        order_amount_minor: amount,
        currency: String::new(),
        service_level: level(o.service) as i32,
    }
}

/// The rows of `fraud.csv` by order index: the feature columns, an empty
/// cell as NaN.
fn training_rows(csv: &str) -> Vec<Vec<f32>> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&header[..FRAUD_FEATURES.len()], FRAUD_FEATURES);
    lines
        .map(|line| {
            line.split(',')
                .take(FRAUD_FEATURES.len())
                .map(|cell| {
                    if cell.is_empty() {
                        f32::NAN
                    } else {
                        cell.parse().unwrap()
                    }
                })
                .collect()
        })
        .collect()
}

/// The features the server recorded for decision `id` (ExplainDecision), in
/// model input order; a feature the record leaves out is missing (NaN).
async fn served_row(channel: &Channel, id: &str) -> Vec<f32> {
    let record = DecisionServiceClient::new(channel.clone())
        .explain_decision(pb::ExplainDecisionRequest {
            decision_id: id.into(),
        })
        .await
        .unwrap()
        .into_inner();
    FRAUD_FEATURES
        .iter()
        .map(|name| record.features.get(*name).map_or(f32::NAN, |v| *v as f32))
        .collect()
}

/// Equal as f32 (NaN equals NaN: both missing).
fn same(a: f32, b: f32) -> bool {
    (a.is_nan() && b.is_nan()) || a == b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_features_equal_the_training_features_of_the_same_orders() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    allot_training::export::write_world(&w, dir.path()).unwrap();
    let expected = training_rows(&std::fs::read_to_string(dir.path().join("fraud.csv")).unwrap());
    assert_eq!(expected.len(), w.orders.len());

    let server = TestServer::start(test_config()).await;
    server.wait_serving().await;
    let channel = server.channel().await;
    let mut risk = RiskServiceClient::new(channel.clone());
    let mut promise = PromiseServiceClient::new(channel.clone());

    let mut next_return = 0;
    let (mut counted, mut repeated) = (0u32, 0u32);
    let mut decisions = Vec::with_capacity(w.orders.len());
    for (index, o) in w.orders.iter().enumerate() {
        // The returns received before this order, every returned line.
        let mut returns = Vec::new();
        while let Some(r) = w.returns.get(next_return).filter(|r| r.time <= o.time) {
            returns.push(pb::ReturnedOrder {
                order_id: order_id(r.order as usize),
                customer_id: customer_id(w.orders[r.order as usize].customer),
                email: String::new(),
                returned_at: timestamp(r.time),
            });
            next_return += 1;
        }
        if !returns.is_empty() {
            let report = risk
                .report_returns(pb::ReportReturnsRequest { returns })
                .await
                .unwrap()
                .into_inner();
            assert!(report.decision_id.starts_with("dec_"));
            counted += report.counted;
            repeated += report.already_counted;
        }
        let request = score_request(&w, index);
        if index % 4 == 1 {
            // A quote of the same cart first: promises never count.
            promise
                .get_delivery_promise(pb::PromiseRequest {
                    lines: request.lines.clone(),
                    destination: request.destination.clone(),
                    ..Default::default()
                })
                .await
                .unwrap();
        }
        let first = risk
            .score_order(request.clone())
            .await
            .unwrap()
            .into_inner();
        if index % 5 == 2 {
            // The same order scored again: the features it had, and still
            // one order for the orders after it.
            let again = risk.score_order(request).await.unwrap().into_inner();
            let bits = |row: Vec<f32>| row.into_iter().map(f32::to_bits).collect::<Vec<_>>();
            assert_eq!(
                bits(served_row(&channel, &again.decision_id).await),
                bits(served_row(&channel, &first.decision_id).await),
                "order {index} scored twice"
            );
        }
        decisions.push(first.decision_id);
    }
    let returned_orders = {
        let mut orders: Vec<u32> = w.returns[..next_return].iter().map(|r| r.order).collect();
        orders.sort_unstable();
        orders.dedup();
        orders.len()
    };
    assert_eq!(
        counted as usize, returned_orders,
        "each returned order counts once"
    );
    assert_eq!((counted + repeated) as usize, next_return);

    let mut mismatches: Vec<String> = Vec::new();
    let mut non_zero: HashMap<&str, usize> = HashMap::new();
    for (index, (id, want)) in decisions.iter().zip(&expected).enumerate() {
        let got = served_row(&channel, id).await;
        for ((name, g), e) in FRAUD_FEATURES.iter().zip(&got).zip(want) {
            if !same(*g, *e) {
                mismatches.push(format!("order {index} {name}: served {g}, trained {e}"));
            }
            if *e != 0.0 && !e.is_nan() {
                *non_zero.entry(name).or_default() += 1;
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} orders' features differ from training, e.g.:\n{}",
        mismatches.len(),
        decisions.len(),
        mismatches[..mismatches.len().min(20)].join("\n")
    );
    // The replay exercised what it claims to: repeats, returns, and every
    // history feature.
    assert!(repeated > 0, "no order had two returned lines");
    for name in [
        "customer_orders_24h",
        "customer_orders_7d",
        "device_orders_1h",
        "card_orders_24h",
        "address_orders_24h",
        "customer_return_rate",
    ] {
        assert!(
            non_zero.get(name).copied().unwrap_or(0) > 0,
            "{name} is 0 on every order: {non_zero:?}"
        );
    }
    server.stop().await.unwrap();
}
