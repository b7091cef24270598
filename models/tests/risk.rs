//! The risk scorer over the shipped fraud model: thresholds, rule overlays,
//! reasons, and the feature store remembering what it scored.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

use std::path::PathBuf;

use allot_engine::network::{GeoPoint, ServiceLevel};
use allot_models::features::{OrderEvent, OrderLine, StoreConfig, entity_key};
use allot_models::risk::{RiskDecision, RiskPolicy, RiskReason, RiskScorer, RuleHit};
use allot_models::scoring::OrtRuntime;

fn scorer(policy: RiskPolicy) -> RiskScorer {
    OrtRuntime::init(None).expect("ONNX Runtime library (run scripts/bootstrap)");
    RiskScorer::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        &policy,
        StoreConfig::default(),
        &allot_models::features::PlainKeys,
        allot_models::risk::VersionOptions::default(),
    )
    .unwrap()
}

fn order(customer: &str, card: &str, amount_minor: i64, service: ServiceLevel) -> OrderEvent {
    let nyc = GeoPoint {
        lat: 40.75,
        lon: -73.98,
    };
    OrderEvent {
        order: entity_key(&format!("o-{customer}-{card}-{amount_minor}-{service:?}")),
        time: 1_790_000_000,
        customer: entity_key(customer),
        account_created: Some(1_790_000_000 - 400 * 86_400),
        device: Some(entity_key(&format!("dev-{customer}"))),
        card: Some(entity_key(card)),
        ship_address: entity_key(&format!("addr-{customer}")),
        ship_to: nyc,
        bill_to: nyc,
        time_zone: chrono_tz::America::New_York,
        service,
        lines: vec![OrderLine {
            qty: 1,
            unit_price_minor: amount_minor,
            resale_risk: 0.2,
        }],
        total_minor: None,
    }
}

#[test]
fn a_block_list_rejects_and_says_so_and_the_store_remembers() {
    let policy = RiskPolicy {
        block_cards: vec!["stolen-card".into()],
        max_amount_minor: Some(100_000),
        ..Default::default()
    };
    let scorer = scorer(policy);
    let ordinary = scorer
        .assess(&order("c-1", "card-1", 4_000, ServiceLevel::Ground), true)
        .unwrap();
    assert!((0.0..=1.0).contains(&ordinary.probability));
    assert!(!ordinary.model_version.is_empty());
    // An approval says what weighed most toward approval.
    assert_eq!(ordinary.decision, RiskDecision::Approve);
    assert!(!ordinary.reasons.is_empty());
    assert!(
        ordinary
            .reasons
            .iter()
            .all(|r| matches!(r, RiskReason::Feature(f) if f.contribution < 0.0)),
        "{:?}",
        ordinary.reasons
    );

    let blocked = scorer
        .assess(
            &order("c-2", "stolen-card", 4_000, ServiceLevel::Ground),
            true,
        )
        .unwrap();
    assert_eq!(blocked.decision, RiskDecision::Reject);
    assert_eq!(
        blocked.reasons[0],
        RiskReason::Rule(RuleHit::Blocked("card"))
    );

    let big = scorer
        .assess(&order("c-3", "card-3", 500_000, ServiceLevel::Ground), true)
        .unwrap();
    assert_ne!(big.decision, RiskDecision::Approve);
    assert!(big.reasons.contains(&RiskReason::Rule(RuleHit::OverAmount)));

    // The first order of c-1 is now in the store: a second one sees it ...
    let mut second = order("c-1", "card-1", 4_000, ServiceLevel::Ground);
    second.order = entity_key("o-c-1-second");
    let again = scorer.assess(&second, true).unwrap();
    assert_eq!(again.features.customer_orders_24h, 1.0);
    // ... and the first scored again does not see itself.
    let repeat = scorer
        .assess(&order("c-1", "card-1", 4_000, ServiceLevel::Ground), true)
        .unwrap();
    assert_eq!(repeat.features.customer_orders_24h, 1.0, "only the second");
    assert_eq!(ordinary.features.customer_orders_24h, 0.0);
    // What it remembered is on the assessment (to be recorded) ...
    let first = order("c-1", "card-1", 4_000, ServiceLevel::Ground);
    assert_eq!(ordinary.observed, Some(first.observation()));
    // ... and only when it remembered.
    let probe = scorer.assess(&first, false).unwrap();
    assert_eq!(probe.observed, None);
    let recorded = scorer.assess_recorded(probe.features, vec![]).unwrap();
    assert_eq!(recorded.observed, None);
}

#[test]
fn a_stolen_card_pattern_scores_far_above_an_ordinary_order() {
    let scorer = scorer(RiskPolicy::default());
    let ordinary = scorer
        .assess(
            &order("regular", "card-r", 4_000, ServiceLevel::Ground),
            true,
        )
        .unwrap();
    // New account, high-resale goods, express, a large amount.
    let mut risky = order("fresh", "card-f", 90_000, ServiceLevel::Overnight);
    risky.account_created = Some(risky.time - 3_600);
    risky.lines[0].resale_risk = 0.9;
    let risky = scorer.assess(&risky, true).unwrap();
    assert!(
        risky.probability > 10.0 * ordinary.probability,
        "{} vs {}",
        risky.probability,
        ordinary.probability
    );
    assert_ne!(risky.decision, RiskDecision::Approve);
    let RiskReason::Feature(top) = &risky.reasons[0] else {
        panic!("no model reason: {:?}", risky.reasons);
    };
    assert!(top.contribution >= 0.05);
}
