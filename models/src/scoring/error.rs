//! What can go wrong loading the runtime or a model, or scoring.

use std::path::PathBuf;

/// How to make the ONNX Runtime library available; part of every library error.
pub const LIBRARY_FIX: &str = "run scripts/bootstrap (it installs the pinned onnxruntime wheel into .venv), \
     or set models.onnxruntime_lib / ORT_DYLIB_PATH to a libonnxruntime.so (>= 1.31)";

/// Errors of the scoring layer.
#[derive(Debug, thiserror::Error)]
pub enum ScoringError {
    /// No ONNX Runtime library was found where it was looked for.
    #[error("ONNX Runtime library not found (looked for {}): {LIBRARY_FIX}", display_paths(.searched))]
    LibraryNotFound {
        /// Every file or glob that was tried.
        searched: Vec<PathBuf>,
    },
    /// The library exists but could not be loaded or initialised.
    #[error("cannot load ONNX Runtime from {path}: {message}: {LIBRARY_FIX}")]
    LibraryLoad {
        /// The library file.
        path: PathBuf,
        /// What ort or the dynamic loader said.
        message: String,
    },
    /// The runtime was already loaded from another library in this process.
    #[error(
        "ONNX Runtime is already loaded from {loaded}; cannot load {requested} in the same process"
    )]
    AlreadyInitialized {
        /// The library in use.
        loaded: PathBuf,
        /// The library asked for now.
        requested: PathBuf,
    },
    /// A model card could not be read.
    #[error("cannot read model card {path}: {source}")]
    ReadCard {
        /// The card file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A model card is not valid JSON of the expected shape.
    #[error("invalid model card {path}: {source}")]
    ParseCard {
        /// The card file.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// ONNX Runtime could not create a session for a model file.
    #[error("cannot load ONNX model {path}: {message}")]
    Session {
        /// The model file.
        path: PathBuf,
        /// What ONNX Runtime said.
        message: String,
    },
    /// The model's graph disagrees with its card (or with what the scorer needs).
    #[error("model {model} does not match its card: {detail}")]
    Mismatch {
        /// Model name from the card.
        model: String,
        /// Which input or output differs, and how.
        detail: String,
    },
    /// A row had the wrong number of features.
    #[error("model {model} takes {expected} features per row, got {got}")]
    FeatureCount {
        /// Model name.
        model: String,
        /// Features per row in the card.
        expected: usize,
        /// Values given (per row, or a total not divisible into rows).
        got: usize,
    },
    /// ONNX Runtime failed while scoring.
    #[error("scoring with model {model} failed: {message}")]
    Run {
        /// Model name.
        model: String,
        /// What ONNX Runtime said.
        message: String,
    },
    /// The explanation model (the LightGBM text model behind TreeSHAP) could
    /// not be loaded or does not fit the scoring model.
    #[error("cannot use the explainer {path}: {problem}")]
    Explainer {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
}

fn display_paths(paths: &[PathBuf]) -> String {
    let v: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    v.join(", ")
}
