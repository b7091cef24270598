//! allot's models crate: what the engine knows at decision time, and the
//! synthetic retail world that produces training data with known ground truth.
//!
//! - [`features`]: the feature definitions shared by training-data export and
//!   serving ([`features::FraudFeatures`], [`features::EtaFeatures`],
//!   [`features::DemandFeatures`]) and the rolling [`features::FeatureStore`].
//! - [`world`]: the deterministic synthetic world over the demo network
//!   (customers, orders, fraud campaigns, carrier transit, returns, demand).
//! - [`export`]: writes the world's training tables (`fraud.csv`, `eta.csv`,
//!   `demand.csv`, `returns.csv`, `world.json`).
//!
//! No tonic, no prost: this crate is transport-neutral like the engine.

pub mod export;
pub mod features;
pub mod risk;
pub mod scoring;
pub mod shap;
pub mod transit;
pub mod world;
