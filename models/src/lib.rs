//! allot's models crate: what the engine knows and predicts at decision
//! time. Training-only code (the synthetic world, the export of its
//! training tables, the ETA calibration fit) is in `allot-training`
//! (`models/world/`), which the server does not link.
//!
//! - [`features`]: the feature definitions shared by training-data export and
//!   serving ([`features::FraudFeatures`], [`features::EtaFeatures`],
//!   [`features::DemandFeatures`]) and the rolling [`features::FeatureStore`].
//! - [`scoring`]: the ONNX Runtime scorer and the model cards.
//! - [`shap`]: TreeSHAP over the fraud model and its reason codes.
//! - [`risk`]: the fraud decision (score, thresholds, rules, reasons).
//! - [`registry`]: model identity (the file's SHA-256), the gates a model
//!   passes before it serves, and the live / previous / shadow slots of a
//!   hot-reloadable model.
//! - [`drift`]: PSI of live inputs and outputs against the card's reference
//!   histograms.
//! - [`transit`]: the ETA predictor behind the engine's transit predictions,
//!   its calibration and the background refresher.
//!
//! No tonic, no prost: this crate is transport-neutral like the engine.

pub mod demand;
pub mod drift;
pub mod features;
pub mod registry;
pub mod risk;
pub mod scoring;
pub mod shap;
pub mod transit;
