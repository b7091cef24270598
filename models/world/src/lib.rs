//! allot's training-only code, kept out of the crate the server links
//! (`allot-models`): the synthetic retail world that produces training data
//! with known ground truth, and what turns it into training inputs.
//!
//! - [`world`]: the deterministic synthetic world over the demo network
//!   (customers, orders, fraud campaigns, carrier transit, returns, demand).
//!   Its feature columns come from [`allot_models::features`], the code the
//!   engine runs at decision time.
//! - [`export`]: writes the world's training tables (`fraud.csv`, `eta.csv`,
//!   `demand.csv`, `returns.csv`, `world.json`).
//! - [`fit`]: fits the ETA calibration
//!   ([`allot_models::transit::Calibration`]) on held-out shipments of one
//!   or more worlds, and measures the shipped one on unseen worlds.
//!
//! The `allot-world` binary runs the export, the fit and the evaluation.

pub mod export;
pub mod fit;
pub mod world;
