//! Transit-time predictions the engine decides with: how long a parcel takes
//! from the order's release to delivery, per lane (origin node, carrier
//! service, destination region), as three quantiles.
//!
//! The engine only sees the [`TransitPredictor`] trait; the models crate
//! implements it over the ETA model (ONNX Runtime, with a cache and a
//! calibration map). Allocation uses it for the expected lateness term and
//! the delivery window of each shipment; promises use it for the delivery
//! window and the on-time probability of each option.

use std::sync::Arc;
use std::time::SystemTime;

use crate::network::{NodeId, RegionId, ServiceId};

/// One lane: a parcel from `node` with `service` to `region`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lane {
    /// Origin node.
    pub node: NodeId,
    /// Carrier service.
    pub service: ServiceId,
    /// Destination region (the destination's postal region, else the
    /// nearest region).
    pub region: RegionId,
}

/// Predicted transit of one lane, days from release (the order time) to
/// delivery. Always `q10 <= q50 <= q90` (quantile crossing is removed by the
/// predictor).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransitQuantiles {
    /// 10th percentile, days.
    pub q10: f64,
    /// Median, days.
    pub q50: f64,
    /// 90th percentile, days.
    pub q90: f64,
}

impl TransitQuantiles {
    /// Quantiles from raw model outputs in any order, sorted so they never
    /// cross, and floored at zero.
    pub fn sorted(raw: [f64; 3]) -> TransitQuantiles {
        let mut q = raw.map(|v| if v.is_finite() { v.max(0.0) } else { 0.0 });
        q.sort_by(f64::total_cmp);
        TransitQuantiles {
            q10: q[0],
            q50: q[1],
            q90: q[2],
        }
    }
}

/// Why a prediction failed (the model run itself failed; the caller falls
/// back to nominal transit times and says so).
#[derive(Debug, Clone, thiserror::Error)]
#[error("transit prediction failed: {0}")]
pub struct TransitError(pub String);

/// Which model answered: recorded with every decision that used it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelTag {
    /// Model name, e.g. `eta`.
    pub name: String,
    /// Model version, from its card.
    pub version: String,
    /// Hex SHA-256 of the model file (empty when the predictor has no file).
    pub sha256: String,
}

/// Predicts transit quantiles and on-time probabilities.
pub trait TransitPredictor: Send + Sync {
    /// The model behind the predictions.
    fn model(&self) -> ModelTag;

    /// The predictor that answers now, for a predictor whose model can be
    /// swapped while serving: a caller pins it once and uses it for every
    /// prediction of one decision, so one decision never mixes two model
    /// versions. `None` (the default): this predictor never changes.
    fn pinned(&self) -> Option<Arc<dyn TransitPredictor>> {
        None
    }

    /// Records that a decision ships on `lanes` released at `released` (for
    /// drift monitoring of the model's live population); the default does
    /// nothing.
    fn observe_shipped(&self, lanes: &[Lane], released: SystemTime) {
        let _ = (lanes, released);
    }

    /// Quantiles for every lane, in order, for an order released at
    /// `released`. One call per order: implementations batch the lanes into
    /// one model run and cache what repeats.
    fn predict(
        &self,
        lanes: &[Lane],
        released: SystemTime,
    ) -> Result<Vec<TransitQuantiles>, TransitError>;

    /// Calibrated probability, 0.0 to 1.0, that a parcel with these
    /// quantiles is delivered within `days` of its release.
    fn p_delivered_within(&self, quantiles: &TransitQuantiles, days: f64) -> f64;
}
