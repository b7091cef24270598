//! Scoring with ONNX Runtime through `ort`.
//!
//! - [`OrtRuntime`]: the ONNX Runtime library, loaded once per process from a
//!   configurable path (default: the project venv's, see [`find_library`]).
//! - [`Model`]: an ONNX file checked against its [`ModelCard`] at load, with a
//!   pool of sessions (one per concurrent caller; 1 intra-op and 1 inter-op
//!   thread each, no spinning).
//! - [`FraudModel`], [`EtaModel`], [`DemandModel`]: single-row and batch scoring.

mod card;
mod error;
mod model;
mod parity;
mod pool;
mod runtime;
mod typed;

#[cfg(test)]
mod tests;

pub use card::{
    Dim, FeatureSpec, LightgbmOutput, LightgbmOutputs, ModelCard, Sample, TensorSpec, Threshold,
    Thresholds,
};
pub use error::{LIBRARY_FIX, ScoringError};
pub use model::{FeatureRows, Model, ModelOptions};
pub use parity::{PROBABILITY_TOLERANCE, ParityReport, REGRESSION_RELATIVE_TOLERANCE};
pub use runtime::{ORT_DYLIB_PATH, OrtRuntime, find_library};
pub use typed::{DemandModel, EtaModel, FraudModel};
