//! Rule overlays on the fraud model: block lists, allow lists and an amount
//! limit, reported as rule reasons beside the model's.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::features::{EntityKey, EntityKeys};

/// The operator's rules, as configured (ids as the caller sends them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskPolicy {
    /// Customer ids always rejected.
    pub block_customers: Vec<String>,
    /// Card fingerprints always rejected.
    pub block_cards: Vec<String>,
    /// Device ids always rejected.
    pub block_devices: Vec<String>,
    /// Customer ids always approved (a block list entry still wins).
    pub allow_customers: Vec<String>,
    /// Orders above this amount (minor units) go to review at least.
    pub max_amount_minor: Option<i64>,
    /// How many model reasons an answer lists, 1 to 5 (the contract's
    /// most; more is read as 5, 0 as the default 5).
    pub top_reasons: usize,
    /// Smallest contribution (log-odds) a feature needs to be listed as a
    /// reason: smaller pushes are noise to a support agent.
    pub min_reason_contribution: f32,
}

impl Default for RiskPolicy {
    fn default() -> Self {
        RiskPolicy {
            block_customers: Vec::new(),
            block_cards: Vec::new(),
            block_devices: Vec::new(),
            allow_customers: Vec::new(),
            max_amount_minor: None,
            top_reasons: 5,
            min_reason_contribution: 0.05,
        }
    }
}

/// The policy with ids hashed the way the feature store keys entities.
#[derive(Debug, Clone, Default)]
pub(crate) struct CompiledPolicy {
    block_customers: HashSet<EntityKey>,
    block_cards: HashSet<EntityKey>,
    block_devices: HashSet<EntityKey>,
    allow_customers: HashSet<EntityKey>,
    pub(crate) max_amount_minor: Option<i64>,
    pub(crate) top_reasons: usize,
    pub(crate) min_reason_contribution: f32,
}

/// What a rule says about an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleHit {
    /// A block list holds the customer, card or device.
    Blocked(&'static str),
    /// The allow list holds the customer.
    Allowed,
    /// The order exceeds the amount limit.
    OverAmount,
}

impl CompiledPolicy {
    pub(crate) fn new(policy: &RiskPolicy, entity_keys: &dyn EntityKeys) -> CompiledPolicy {
        let keys =
            |kind: &str, ids: &[String]| ids.iter().map(|id| entity_keys.key(kind, id)).collect();
        CompiledPolicy {
            block_customers: keys("customer", &policy.block_customers),
            block_cards: keys("card", &policy.block_cards),
            block_devices: keys("device", &policy.block_devices),
            allow_customers: keys("customer", &policy.allow_customers),
            max_amount_minor: policy.max_amount_minor,
            // The contract lists at most 5 model reasons.
            top_reasons: if policy.top_reasons == 0 {
                5
            } else {
                policy.top_reasons.min(5)
            },
            min_reason_contribution: policy.min_reason_contribution,
        }
    }

    /// Every rule the order hits, blocks first.
    pub(crate) fn hits(
        &self,
        customer: EntityKey,
        card: Option<EntityKey>,
        device: Option<EntityKey>,
        amount_minor: i64,
    ) -> Vec<RuleHit> {
        let mut hits = Vec::new();
        if self.block_customers.contains(&customer) {
            hits.push(RuleHit::Blocked("customer"));
        }
        if card.is_some_and(|c| self.block_cards.contains(&c)) {
            hits.push(RuleHit::Blocked("card"));
        }
        if device.is_some_and(|d| self.block_devices.contains(&d)) {
            hits.push(RuleHit::Blocked("device"));
        }
        if self.allow_customers.contains(&customer) {
            hits.push(RuleHit::Allowed);
        }
        if self.max_amount_minor.is_some_and(|max| amount_minor > max) {
            hits.push(RuleHit::OverAmount);
        }
        hits
    }
}
