//! Errors of building and solving an allocation problem.

use crate::error::{Classify, ErrorCode};

/// Why an allocation could not be built or solved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    /// The request is malformed; `field` names the offending field
    /// (for example `lines[3].quantity`).
    #[error("{field}: {problem}")]
    InvalidArgument {
        /// Path of the offending field, e.g. `lines[3].quantity`.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The request references an entity the network does not know.
    #[error("{field}: {what} not found")]
    NotFound {
        /// Path of the offending field.
        field: String,
        /// What was not found.
        what: String,
    },
    /// The MILP solver failed in a way that is not a property of the model
    /// (a bug, or HiGHS returning an error status).
    #[error("solver error: {0}")]
    Solver(String),
    /// Stock kept changing between solve and reservation: the commit gave
    /// up after re-solving several times (or the hold failed otherwise).
    #[error("could not reserve the plan: {0}")]
    Conflict(String),
}

impl AllocationError {
    /// An [`AllocationError::InvalidArgument`].
    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        AllocationError::InvalidArgument {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

impl From<allot_solver::SolverError> for AllocationError {
    fn from(error: allot_solver::SolverError) -> Self {
        AllocationError::Solver(error.0)
    }
}

impl Classify for AllocationError {
    fn code(&self) -> ErrorCode {
        match self {
            AllocationError::InvalidArgument { .. } => ErrorCode::InvalidArgument,
            AllocationError::NotFound { .. } => ErrorCode::NotFound,
            AllocationError::Solver(_) => ErrorCode::Internal,
            AllocationError::Conflict(_) => ErrorCode::FailedPrecondition,
        }
    }
}
