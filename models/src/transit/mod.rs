//! Transit-time prediction for the engine: the ETA model behind
//! [`allot_engine::transit::TransitPredictor`].
//!
//! - [`EtaPredictor`]: quantiles per lane from the ETA model (one run per
//!   call for all the lanes the cache does not hold), a moka cache per
//!   (node, service, region, 15-minute bucket), and [`EtaPredictor::prefill`]
//!   to score every lane of the network for a bucket ahead of time.
//! - [`Calibration`]: the per-service window adjustment and the monotone map
//!   from the three-quantile CDF to a calibrated on-time probability, fitted
//!   on held-out synthetic shipments (`allot-world calibrate`, in the
//!   `allot-training` crate) and shipped as `models/eta.calibration.json`.
//! - [`EtaVersion`] and [`LiveTransit`]: one ETA version loaded through the
//!   gates, and the swappable predictor over the live one.
//! - [`Refresher`]: a background thread that prefills the current and the
//!   next bucket a little before each bucket starts.

mod calibration;
mod live;
mod predictor;
mod refresher;
mod version;

pub use calibration::{
    CALIBRATION_FILE, CDF_NAME, Calibration, CalibrationError, WindowAdjust, quantile_cdf,
};
pub use live::LiveTransit;
pub use predictor::{
    EtaPredictor, LOOKUPS_METRIC, PredictorLoadError, PredictorOptions, PredictorStats, RUNS_METRIC,
};
pub use refresher::Refresher;
pub use version::{ETA_CARD, ETA_ONNX, ETA_OUTPUTS, EtaQualityBar, EtaVersion, EtaVersionOptions};
