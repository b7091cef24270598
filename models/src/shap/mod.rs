//! Per-feature explanations of tree-ensemble scores, and fraud reason codes.
//!
//! [`Ensemble`] parses LightGBM's model text (`booster.save_model`), and
//! [`Ensemble::contributions`] runs path-dependent TreeSHAP on it: the same
//! numbers as LightGBM's `predict(..., pred_contrib=True)` (per-feature values
//! plus the bias, summing to the raw score, log-odds for the fraud classifier).
//! [`fraud_reasons`] turns the positive ones into [`ReasonCode`]s.

mod ensemble;
mod explainer;
mod parity;
mod path;
mod reasons;
mod treeshap;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use ensemble::{Ensemble, MissingType, Split, Tree};
pub use explainer::Explainer;
pub use parity::CONTRIBUTION_TOLERANCE;
pub use reasons::{FeatureReason, ReasonCode, fraud_reasons};
pub use treeshap::Contributions;

/// Why a LightGBM model text could not be used for explanations.
#[derive(Debug, thiserror::Error)]
pub enum ShapError {
    /// The file could not be read.
    #[error("cannot read LightGBM model {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The text is not a well-formed LightGBM model.
    #[error("malformed LightGBM model text: {0}")]
    Format(String),
    /// The model uses something this implementation does not handle.
    #[error("unsupported LightGBM model: {0}")]
    Unsupported(String),
    /// Contributions disagree with the reference, or the model with its card.
    #[error("TreeSHAP parity: {0}")]
    Parity(String),
    /// An error inside one tree.
    #[error("tree {tree}: {source}")]
    InTree {
        /// Index of the tree (`Tree=k`).
        tree: usize,
        /// What is wrong with it.
        source: Box<ShapError>,
    },
}

impl ShapError {
    fn in_tree(self, tree: usize) -> Self {
        Self::InTree {
            tree,
            source: Box::new(self),
        }
    }
}
