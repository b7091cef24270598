//! How a solver run can fail.

use allot_error::{Classify, ErrorCode};

/// A solver failed in a way that is not a property of the model (a bug, or
/// HiGHS returning an error status). The engine turns it into
/// `AllocationError::Solver` where a caller sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("solver error: {0}")]
pub struct SolverError(pub String);

impl Classify for SolverError {
    fn code(&self) -> ErrorCode {
        ErrorCode::Internal
    }
}
