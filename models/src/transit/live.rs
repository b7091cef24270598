//! The ETA model the engine holds: a [`TransitPredictor`] over whichever
//! version is live, swappable while serving.

use std::sync::Arc;
use std::time::SystemTime;

use allot_engine::transit::{Lane, ModelTag, TransitError, TransitPredictor, TransitQuantiles};

use super::version::EtaVersion;
use crate::registry::Slots;

/// The live ETA version behind the engine's transit predictor; reloads and
/// rollbacks swap it (see [`Slots`]). The engine pins the live predictor
/// once per decision ([`TransitPredictor::pinned`]), so one decision never
/// mixes two versions.
#[derive(Debug)]
pub struct LiveTransit {
    versions: Slots<EtaVersion>,
}

impl LiveTransit {
    /// Serving `version`.
    pub fn new(version: Arc<EtaVersion>) -> LiveTransit {
        LiveTransit {
            versions: Slots::new(version),
        }
    }

    /// The live, previous and shadow versions.
    pub fn versions(&self) -> &Slots<EtaVersion> {
        &self.versions
    }
}

impl TransitPredictor for LiveTransit {
    fn model(&self) -> ModelTag {
        TransitPredictor::model(self.versions.live().predictor().as_ref())
    }

    fn pinned(&self) -> Option<Arc<dyn TransitPredictor>> {
        Some(self.versions.live().predictor().clone())
    }

    fn observe_shipped(&self, lanes: &[Lane], released: SystemTime) {
        self.versions
            .live()
            .predictor()
            .observe_shipped(lanes, released);
    }

    fn predict(
        &self,
        lanes: &[Lane],
        released: SystemTime,
    ) -> Result<Vec<TransitQuantiles>, TransitError> {
        self.versions.live().predictor().predict(lanes, released)
    }

    fn p_delivered_within(&self, quantiles: &TransitQuantiles, days: f64) -> f64 {
        self.versions
            .live()
            .predictor()
            .p_delivered_within(quantiles, days)
    }
}
