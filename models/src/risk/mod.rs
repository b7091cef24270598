//! Fraud risk of one order: decision-time features from the feature store,
//! the fraud model's probability, TreeSHAP reasons, the card's thresholds
//! and the operator's rule overlays.

mod policy;

use std::path::Path;
use std::time::{Duration, Instant};

pub use policy::{RiskPolicy, RuleHit};

use crate::features::{
    FRAUD_FEATURES, FeatureStore, FraudFeatures, Observation, OrderEvent, StoreConfig,
};
use crate::scoring::{FraudModel, ScoringError};
use crate::shap::{Ensemble, Explainer, FeatureReason, fraud_reasons};
use policy::CompiledPolicy;

/// The three outcomes of a risk assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RiskDecision {
    /// Go ahead.
    Approve,
    /// A person should look before it ships.
    Review,
    /// Do not ship.
    Reject,
}

/// One reason of an assessment: a feature that pushed the score up, or a
/// rule that decided.
#[derive(Debug, Clone, PartialEq)]
pub enum RiskReason {
    /// From the model's per-feature contributions.
    Feature(FeatureReason),
    /// From a rule overlay.
    Rule(RuleHit),
}

/// The answer for one order.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskAssessment {
    /// The model's probability that the order is fraud.
    pub probability: f32,
    /// The decision after thresholds and rules.
    pub decision: RiskDecision,
    /// Rule reasons first, then the top model reasons.
    pub reasons: Vec<RiskReason>,
    /// The features the model saw.
    pub features: FraudFeatures,
    /// Model name from the card.
    pub model_name: String,
    /// Model version from the card.
    pub model_version: String,
    /// Time spent on features, score and reasons.
    pub elapsed: Duration,
    /// What the feature store remembered of the order; `None` when it was
    /// not remembered (a recorded decision re-scored, or `remember` off).
    pub observed: Option<Observation>,
}

/// Scores orders for fraud and remembers them in the feature store.
pub struct RiskScorer {
    model: FraudModel,
    /// TreeSHAP with per-leaf tables precomputed once at load.
    explainer: Explainer,
    store: FeatureStore,
    policy: CompiledPolicy,
    review_at: f64,
    reject_at: f64,
}

impl RiskScorer {
    /// Loads `fraud.onnx`, `cards/fraud.json` and `fraud.lgb.txt` from
    /// `dir` (the ONNX Runtime library must be initialised, see
    /// [`crate::scoring::OrtRuntime::init`]). The policy's lists are keyed
    /// with `keys`, as the orders' identities must be.
    pub fn load(
        dir: &Path,
        policy: &RiskPolicy,
        store: StoreConfig,
        keys: &dyn crate::features::EntityKeys,
    ) -> Result<RiskScorer, ScoringError> {
        let model = FraudModel::load(&dir.join("fraud.onnx"), &dir.join("cards/fraud.json"))?;
        let explainer_path = dir.join("fraud.lgb.txt");
        let explainer = Ensemble::load(&explainer_path)
            .map_err(|e| ScoringError::Explainer {
                path: explainer_path.display().to_string(),
                problem: e.to_string(),
            })?
            .explainer();
        let names = model.model().card().feature_names();
        if names != FRAUD_FEATURES {
            return Err(ScoringError::Explainer {
                path: dir.join("cards/fraud.json").display().to_string(),
                problem: format!(
                    "the card's features {names:?} differ from the engine's {FRAUD_FEATURES:?}"
                ),
            });
        }
        let (review_at, reject_at) = match model.thresholds() {
            Some(t) => (t.review.score_at_least, t.reject.score_at_least),
            None => (0.5, 0.9),
        };
        Ok(RiskScorer {
            model,
            explainer,
            store: FeatureStore::new(store),
            policy: CompiledPolicy::new(policy, keys),
            review_at,
            reject_at,
        })
    }

    /// The feature store (for returns and tests).
    pub fn store(&self) -> &FeatureStore {
        &self.store
    }

    /// The fraud model's card.
    pub fn card(&self) -> &crate::scoring::ModelCard {
        self.model.model().card()
    }

    /// The REVIEW and REJECT thresholds in use.
    pub fn thresholds(&self) -> (f64, f64) {
        (self.review_at, self.reject_at)
    }

    /// Model name and version.
    pub fn model_version(&self) -> (&str, &str) {
        let card = self.model.model().card();
        (&card.name, &card.version)
    }

    /// Assesses `order` against what the store has seen so far, then records
    /// it (when `remember`) so later orders see it in their velocities.
    pub fn assess(
        &self,
        order: &OrderEvent,
        remember: bool,
    ) -> Result<RiskAssessment, ScoringError> {
        let started = Instant::now();
        let features = self.store.fraud_features(order);
        let hits = self.policy.hits(
            order.customer,
            order.card,
            order.device,
            order.amount_minor(),
        );
        let mut assessed = self.decide(features, hits, started)?;
        if remember {
            let observed = order.observation();
            self.store.remember(&observed);
            assessed.observed = Some(observed);
        }
        Ok(assessed)
    }

    /// Assesses recorded features with the rule hits recorded beside them,
    /// without the feature store (replaying a recorded decision): the model
    /// scores `features` exactly as it would have then.
    pub fn assess_recorded(
        &self,
        features: FraudFeatures,
        hits: Vec<RuleHit>,
    ) -> Result<RiskAssessment, ScoringError> {
        self.decide(features, hits, Instant::now())
    }

    /// Score, thresholds, rule overrides and reasons for one feature row.
    fn decide(
        &self,
        features: FraudFeatures,
        hits: Vec<RuleHit>,
        started: Instant,
    ) -> Result<RiskAssessment, ScoringError> {
        let row = features.to_row();
        let probability = self.model.score(&row)?;
        let contributions = self.explainer.contributions(&row);
        let values: Vec<f32> = contributions.values.iter().map(|&v| v as f32).collect();
        let mut decision = if f64::from(probability) >= self.reject_at {
            RiskDecision::Reject
        } else if f64::from(probability) >= self.review_at {
            RiskDecision::Review
        } else {
            RiskDecision::Approve
        };
        if hits.contains(&RuleHit::OverAmount) && decision == RiskDecision::Approve {
            decision = RiskDecision::Review;
        }
        if hits.contains(&RuleHit::Allowed) {
            decision = RiskDecision::Approve;
        }
        if hits.iter().any(|h| matches!(h, RuleHit::Blocked(_))) {
            decision = RiskDecision::Reject;
        }
        let mut reasons: Vec<RiskReason> = hits.into_iter().map(RiskReason::Rule).collect();
        reasons.extend(
            fraud_reasons(&row, &values, FRAUD_FEATURES, self.policy.top_reasons)
                .into_iter()
                .filter(|r| r.contribution >= self.policy.min_reason_contribution)
                .map(RiskReason::Feature),
        );
        let (name, version) = self.model_version();
        Ok(RiskAssessment {
            probability,
            decision,
            reasons,
            features,
            model_name: name.to_string(),
            model_version: version.to_string(),
            elapsed: started.elapsed(),
            observed: None,
        })
    }
}
