//! Fraud risk of one order: decision-time features from the feature store,
//! the fraud model's probability, TreeSHAP reasons, the card's thresholds
//! and the operator's rule overlays.

mod policy;
mod version;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use policy::{RiskPolicy, RuleHit};
pub use version::{
    EXPLAINER_TOLERANCE, FRAUD_CARD, FRAUD_LIGHTGBM, FRAUD_ONNX, FRAUD_OUTPUT, FraudVersion,
    QualityBar, VersionOptions,
};

use crate::features::{
    FRAUD_FEATURES, FeatureStore, FraudFeatures, Observation, OrderEvent, StoreConfig,
    reason_indices,
};
use crate::registry::{GateRefusal, Slots};
use crate::scoring::ScoringError;
use crate::shap::{FeatureReason, ReasonCode};
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
    /// Hex SHA-256 of the model file that scored.
    pub model_sha256: String,
    /// The shadow model's opinion of the same features, when a shadow is
    /// set (live traffic only; it never decides).
    pub shadow: Option<ShadowScore>,
    /// Time spent on features, score and reasons.
    pub elapsed: Duration,
    /// What the feature store remembered of the order; `None` when it was
    /// not remembered (a recorded decision re-scored, or `remember` off).
    pub observed: Option<Observation>,
}

/// What a shadow model said about an order the live model decided.
#[derive(Debug, Clone, PartialEq)]
pub struct ShadowScore {
    /// The shadow model's name.
    pub model_name: String,
    /// The shadow's version.
    pub model_version: String,
    /// Hex SHA-256 of the shadow's model file.
    pub model_sha256: String,
    /// Its P(fraud).
    pub probability: f32,
    /// The decision it would have made (its thresholds, the same rules).
    pub decision: RiskDecision,
}

/// Scores orders for fraud and remembers them in the feature store.
///
/// The model is hot-reloadable: [`RiskScorer::versions`] holds the live
/// version, the one it replaced and an optional shadow. The feature store
/// and the rules stay across reloads.
pub struct RiskScorer {
    versions: Slots<FraudVersion>,
    store: FeatureStore,
    policy: CompiledPolicy,
}

impl RiskScorer {
    /// Loads the fraud model of `dir` (`fraud.onnx`, `cards/fraud.json` and
    /// `fraud.lgb.txt`) through every gate but quality (there is nothing
    /// to compare with yet); the ONNX Runtime library must be initialised,
    /// see [`crate::scoring::OrtRuntime::init`]. The policy's lists are
    /// keyed with `keys`, as the orders' identities must be.
    pub fn load(
        dir: &Path,
        policy: &RiskPolicy,
        store: StoreConfig,
        keys: &dyn crate::features::EntityKeys,
        options: VersionOptions,
    ) -> Result<RiskScorer, GateRefusal> {
        let version = FraudVersion::load(dir, options, None)?;
        Ok(RiskScorer::new(Arc::new(version), policy, store, keys))
    }

    /// Serves `version`, with an empty feature store of `store`'s limits.
    pub fn new(
        version: Arc<FraudVersion>,
        policy: &RiskPolicy,
        store: StoreConfig,
        keys: &dyn crate::features::EntityKeys,
    ) -> RiskScorer {
        RiskScorer {
            versions: Slots::new(version),
            store: FeatureStore::new(store),
            policy: CompiledPolicy::new(policy, keys),
        }
    }

    /// The live, previous and shadow versions.
    pub fn versions(&self) -> &Slots<FraudVersion> {
        &self.versions
    }

    /// The feature store (for returns and tests).
    pub fn store(&self) -> &FeatureStore {
        &self.store
    }

    /// The live fraud model's card.
    pub fn card(&self) -> crate::scoring::ModelCard {
        self.versions.live().card().clone()
    }

    /// The REVIEW and REJECT thresholds in use.
    pub fn thresholds(&self) -> (f64, f64) {
        self.versions.live().thresholds()
    }

    /// The live model's name and version.
    pub fn model_version(&self) -> (String, String) {
        let live = self.versions.live();
        let id = live.identity();
        (id.name.clone(), id.version.clone())
    }

    /// Assesses `order` against what the store has seen so far, then records
    /// it (when `remember`) so later orders see it in their velocities.
    /// The live version decides; a shadow, when set, scores the same
    /// features beside it. Both watch their drift.
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
        let live = self.versions.live();
        let mut assessed = self.decide(&live, features, hits, started, true)?;
        if let Some(shadow) = self.versions.shadow() {
            assessed.shadow = Some(self.shadow(&shadow, &assessed, hits_of(&assessed)));
        }
        if remember {
            let observed = order.observation();
            self.store.remember(&observed);
            assessed.observed = Some(observed);
        }
        Ok(assessed)
    }

    /// Assesses recorded features with the rule hits recorded beside them,
    /// without the feature store (replaying a recorded decision): the live
    /// model scores `features` exactly as it would have then. No drift is
    /// recorded and no shadow scores.
    pub fn assess_recorded(
        &self,
        features: FraudFeatures,
        hits: Vec<RuleHit>,
    ) -> Result<RiskAssessment, ScoringError> {
        let live = self.versions.live();
        self.decide(&live, features, hits, Instant::now(), false)
    }

    /// The shadow's score and decision for the live assessment's features;
    /// a shadow that fails to score is counted and reported as NaN with the
    /// live decision (it never fails the call).
    fn shadow(
        &self,
        shadow: &FraudVersion,
        live: &RiskAssessment,
        hits: Vec<RuleHit>,
    ) -> ShadowScore {
        let row = live.features.to_row();
        let id = shadow.identity();
        let probability = match shadow.score(&row) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, version = %id.version, "shadow fraud model failed to score");
                metrics::counter!("allot_model_shadow_errors_total", "model" => "fraud")
                    .increment(1);
                f32::NAN
            }
        };
        let decision = if probability.is_nan() {
            live.decision
        } else {
            shadow.drift().observe(&row, &[probability]);
            decide_with(shadow.thresholds(), probability, &hits)
        };
        let agreement = if decision == live.decision {
            "agree"
        } else {
            "disagree"
        };
        metrics::counter!(
            "allot_model_shadow_decisions_total",
            "model" => "fraud",
            "shadow_version" => id.version.clone(),
            "agreement" => agreement
        )
        .increment(1);
        if probability.is_finite() {
            metrics::histogram!("allot_model_shadow_score_difference", "model" => "fraud")
                .record(f64::from(probability - live.probability).abs());
        }
        ShadowScore {
            model_name: id.name.clone(),
            model_version: id.version.clone(),
            model_sha256: id.sha256.clone(),
            probability,
            decision,
        }
    }

    /// Score, thresholds, rule overrides and reasons for one feature row.
    fn decide(
        &self,
        version: &FraudVersion,
        features: FraudFeatures,
        hits: Vec<RuleHit>,
        started: Instant,
        live_traffic: bool,
    ) -> Result<RiskAssessment, ScoringError> {
        let row = features.to_row();
        let probability = version.model.score(&row)?;
        if live_traffic {
            version.drift().observe(&row, &[probability]);
        }
        let contributions = version.explainer.contributions(&row);
        let values: Vec<f32> = contributions.values.iter().map(|&v| v as f32).collect();
        let decision = decide_with(version.thresholds(), probability, &hits);
        let mut reasons: Vec<RiskReason> = hits.into_iter().map(RiskReason::Rule).collect();
        // What weighed most toward the decision: toward fraud for a review
        // or a rejection, toward approval for an approval; at least one.
        let n = FRAUD_FEATURES.len().min(values.len());
        reasons.extend(
            reason_indices(
                &values[..n],
                decision == RiskDecision::Approve,
                self.policy.top_reasons,
                self.policy.min_reason_contribution,
            )
            .into_iter()
            .map(|i| {
                RiskReason::Feature(FeatureReason {
                    feature: FRAUD_FEATURES[i].to_owned(),
                    value: row[i],
                    contribution: values[i],
                    code: ReasonCode::for_feature(FRAUD_FEATURES[i]),
                })
            }),
        );
        let id = version.identity();
        Ok(RiskAssessment {
            probability,
            decision,
            reasons,
            features,
            model_name: id.name.clone(),
            model_version: id.version.clone(),
            model_sha256: id.sha256.clone(),
            shadow: None,
            elapsed: started.elapsed(),
            observed: None,
        })
    }
}

/// The rule hits an assessment's reasons carry.
fn hits_of(assessed: &RiskAssessment) -> Vec<RuleHit> {
    assessed
        .reasons
        .iter()
        .filter_map(|r| match r {
            RiskReason::Rule(hit) => Some(*hit),
            RiskReason::Feature(_) => None,
        })
        .collect()
}

/// The decision for `probability` under `(review, reject)` thresholds, then
/// the rules: over the amount limit reviews at least, the allow list
/// approves, a block list rejects.
fn decide_with(
    (review_at, reject_at): (f64, f64),
    probability: f32,
    hits: &[RuleHit],
) -> RiskDecision {
    let p = f64::from(probability);
    let mut decision = if p >= reject_at {
        RiskDecision::Reject
    } else if p >= review_at {
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
    decision
}
