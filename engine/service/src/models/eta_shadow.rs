//! The ETA shadow: while a shadow ETA version is set, every promise's
//! shipments are predicted by it too, beside the live version that decided.
//! The shadow never changes an answer; what it predicted is recorded on the
//! decision and exported as metrics, so a team can compare before promoting.

use std::sync::Arc;
use std::time::SystemTime;

use allot_engine::network::{Network, NodeId, ServiceLevel};
use allot_engine::promise::{PromiseOutcome, PromiseRequest};
use allot_engine::transit::{Lane, TransitPredictor, TransitQuantiles};
use allot_models::transit::EtaVersion;

use crate::engine::Engine;

/// One shipment of a promise under both versions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShadowShipment {
    /// The option's service level.
    pub level: ServiceLevel,
    /// The shipping node.
    pub node: NodeId,
    /// The live version's transit quantiles (those the promise used).
    pub live: TransitQuantiles,
    /// The shadow version's, for the same lane and release time.
    pub shadow: TransitQuantiles,
}

impl ShadowShipment {
    /// Whether both versions' q90 round up to the same whole day: the
    /// shadow would have promised the same latest date.
    pub fn agrees(&self) -> bool {
        self.live.q90.ceil() == self.shadow.q90.ceil()
    }
}

/// What a shadow ETA version predicted for one promise.
#[derive(Debug, Clone, PartialEq)]
pub struct EtaShadow {
    /// The shadow's model name.
    pub model_name: String,
    /// Its version.
    pub model_version: String,
    /// Hex SHA-256 of its model file.
    pub model_sha256: String,
    /// Every shipment of every option, fastest level first.
    pub shipments: Vec<ShadowShipment>,
}

impl EtaShadow {
    /// Whether the shadow agrees on every shipment.
    pub fn agrees(&self) -> bool {
        self.shipments.iter().all(ShadowShipment::agrees)
    }
}

/// The shadow ETA version, when one is set.
pub fn shadow_version(engine: &Engine) -> Option<Arc<EtaVersion>> {
    engine.eta.as_ref()?.versions().shadow()
}

/// The shipments a promise's live version predicted, ready for the shadow
/// to predict the same lanes.
#[derive(Debug, Clone)]
pub struct ShadowLanes {
    /// (level, node, lane, live quantiles) per shipment, fastest level first.
    used: Vec<(ServiceLevel, NodeId, Lane, TransitQuantiles)>,
    /// The release time the live version predicted them for.
    order_time: SystemTime,
}

impl ShadowLanes {
    /// The lanes of `outcome`'s shipments that carry model quantiles;
    /// `None` when none does (the promise used no model). Cheap: no model
    /// runs.
    pub fn of(
        network: &Network,
        request: &PromiseRequest,
        outcome: &PromiseOutcome,
    ) -> Option<Self> {
        let region = request.destination.lane_region(network);
        let used: Vec<_> = outcome
            .options
            .iter()
            .flat_map(|o| {
                o.shipments.iter().filter_map(move |s| {
                    let lane = Lane {
                        node: s.node,
                        service: s.service,
                        region,
                    };
                    Some((o.service_level, s.node, lane, s.quantiles?))
                })
            })
            .collect();
        (!used.is_empty()).then_some(Self {
            used,
            order_time: request.order_time,
        })
    }

    /// [`ShadowLanes::predict`], and a panic in it only loses the
    /// comparison (counted as a failure): the promise is never affected.
    pub fn predict_guarded(&self, shadow: &EtaVersion) -> Option<EtaShadow> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.predict(shadow)))
            .unwrap_or_else(|_| {
                shadow_failed(&shadow.identity().version, "the shadow prediction panicked");
                None
            })
    }

    /// Predicts the lanes with `shadow` (blocking: it runs the model).
    /// `None` when the shadow failed (counted in
    /// `allot_model_shadow_errors_total`); the answer is never affected.
    pub fn predict(&self, shadow: &EtaVersion) -> Option<EtaShadow> {
        let lanes: Vec<Lane> = self.used.iter().map(|u| u.2).collect();
        let id = shadow.identity();
        let predicted = match shadow.predictor().predict(&lanes, self.order_time) {
            Ok(q) if q.len() == lanes.len() => q,
            Ok(q) => {
                shadow_failed(
                    &id.version,
                    &format!("{} predictions for {} lanes", q.len(), lanes.len()),
                );
                return None;
            }
            Err(e) => {
                shadow_failed(&id.version, &e.to_string());
                return None;
            }
        };
        let shipments: Vec<ShadowShipment> = self
            .used
            .iter()
            .zip(predicted)
            .map(|(&(level, node, _, live), shadow)| ShadowShipment {
                level,
                node,
                live,
                shadow,
            })
            .collect();
        for s in &shipments {
            metrics::histogram!("allot_model_shadow_score_difference", "model" => "eta")
                .record((s.shadow.q50 - s.live.q50).abs());
        }
        let answer = EtaShadow {
            model_name: id.name.clone(),
            model_version: id.version.clone(),
            model_sha256: id.sha256.clone(),
            shipments,
        };
        metrics::counter!(
            "allot_model_shadow_decisions_total",
            "model" => "eta",
            "shadow_version" => id.version.clone(),
            "agreement" => if answer.agrees() { "agree" } else { "disagree" }
        )
        .increment(1);
        Some(answer)
    }
}

/// Counts and logs a shadow prediction that could not be made (also when
/// its task died): the promise is answered without it.
pub fn shadow_failed(version: &str, error: &str) {
    tracing::warn!(error, version, "shadow ETA model failed to predict");
    metrics::counter!("allot_model_shadow_errors_total", "model" => "eta").increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(q10: f64, q50: f64, q90: f64) -> TransitQuantiles {
        TransitQuantiles { q10, q50, q90 }
    }

    fn shipment(live: TransitQuantiles, shadow: TransitQuantiles) -> ShadowShipment {
        ShadowShipment {
            level: ServiceLevel::Ground,
            node: NodeId(0),
            live,
            shadow,
        }
    }

    #[test]
    fn a_shadow_agrees_when_every_latest_day_is_the_same() {
        let same_day = shipment(q(1.0, 2.0, 3.2), q(1.1, 2.4, 3.9));
        let next_day = shipment(q(1.0, 2.0, 3.2), q(1.0, 2.0, 4.1));
        assert!(same_day.agrees());
        assert!(!next_day.agrees());
        let mut shadow = EtaShadow {
            model_name: "eta".into(),
            model_version: "v".into(),
            model_sha256: String::new(),
            shipments: vec![same_day],
        };
        assert!(shadow.agrees());
        shadow.shipments.push(next_day);
        assert!(!shadow.agrees());
    }
}
