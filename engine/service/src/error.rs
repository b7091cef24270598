//! The service layer's errors: what went wrong, in words that name the field
//! or the state to fix, with a transport-neutral [`Code`]. The server maps
//! each code onto a gRPC status in one exhaustive match.

use std::fmt::Display;

use allot_engine::ErrorCode;
use allot_engine::error::Classify;

/// What kind of failure a [`ServiceError`] is, independent of any transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// The request itself is wrong; the message names the field.
    InvalidArgument,
    /// A referenced entity (node, SKU, reservation, decision) does not exist.
    NotFound,
    /// Well formed, but the state does not allow it (other network or model,
    /// a reservation no longer held).
    FailedPrecondition,
    /// The entity already exists, or a key was used for another request.
    AlreadyExists,
    /// A bounded resource (solver queue, decision log queue) is full.
    ResourceExhausted,
    /// The caller's time budget ran out.
    DeadlineExceeded,
    /// A position or page outside what is retained.
    OutOfRange,
    /// Concurrent calls kept this one from finishing (other replicas took
    /// the units first, again and again): retry.
    Aborted,
    /// Not serving yet (loading) or any more (shutting down): retry.
    Unavailable,
    /// The server's configuration does not allow the call (e.g. model
    /// reloads switched off).
    PermissionDenied,
    /// Part of the contract but not served by this release.
    Unimplemented,
    /// A bug or an unexpected failure inside allot.
    Internal,
}

/// Why a use case could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// A request field is wrong.
    #[error("{field}: {problem}")]
    Invalid {
        /// The field's path in the request, e.g. `lines[2].quantity`.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// Another failure, with its code and message.
    #[error("{message}")]
    Failed {
        /// What kind of failure.
        code: Code,
        /// What happened and what to do.
        message: String,
    },
}

impl ServiceError {
    /// The transport-neutral code.
    pub fn code(&self) -> Code {
        match self {
            ServiceError::Invalid { .. } => Code::InvalidArgument,
            ServiceError::Failed { code, .. } => *code,
        }
    }

    /// A failure of `code` saying `message`.
    pub fn new(code: Code, message: impl Into<String>) -> ServiceError {
        ServiceError::Failed {
            code,
            message: message.into(),
        }
    }

    /// INVALID_ARGUMENT naming the offending request field.
    pub fn invalid(field: impl Into<String>, problem: impl Display) -> ServiceError {
        ServiceError::Invalid {
            field: field.into(),
            problem: problem.to_string(),
        }
    }

    /// NOT_FOUND for an unknown entity referenced by a request field.
    pub fn not_found(field: &str, what: &str, code: &str) -> ServiceError {
        ServiceError::new(Code::NotFound, format!("{field}: unknown {what} {code:?}"))
    }

    /// FAILED_PRECONDITION saying `message`.
    pub fn precondition(message: impl Into<String>) -> ServiceError {
        ServiceError::new(Code::FailedPrecondition, message)
    }

    /// RESOURCE_EXHAUSTED saying `message`.
    pub fn exhausted(message: impl Into<String>) -> ServiceError {
        ServiceError::new(Code::ResourceExhausted, message)
    }

    /// UNAVAILABLE saying `message`.
    pub fn unavailable(message: impl Into<String>) -> ServiceError {
        ServiceError::new(Code::Unavailable, message)
    }

    /// INTERNAL saying `message` (a bug or an unexpected failure).
    pub fn internal(message: impl Into<String>) -> ServiceError {
        ServiceError::new(Code::Internal, message)
    }

    /// UNAVAILABLE while the network, stock and models are still loading.
    pub fn loading() -> ServiceError {
        ServiceError::unavailable(
            "allot is loading its network and stock; retry shortly (health reports NOT_SERVING until ready)",
        )
    }

    /// UNIMPLEMENTED for a part of the contract this release does not serve.
    pub fn not_in_this_release(rpc: &str) -> ServiceError {
        ServiceError::new(
            Code::Unimplemented,
            format!(
                "{rpc} is part of the allot.v1 contract but not implemented in this release; \
                 InventoryService, AllocationService, PromiseService, RiskService, DecisionService, AdminService.GetNetwork and GetModelInfo, and grpc.health.v1 are"
            ),
        )
    }

    /// A domain error with its own message and classified code.
    pub fn domain<E: Classify + Display>(error: E) -> ServiceError {
        ServiceError::new(engine_code(error.code()), error.to_string())
    }
}

/// The service code of an engine error code (exhaustive: a new engine code
/// fails to compile here until it is mapped).
fn engine_code(code: ErrorCode) -> Code {
    match code {
        ErrorCode::InvalidArgument => Code::InvalidArgument,
        ErrorCode::NotFound => Code::NotFound,
        ErrorCode::FailedPrecondition => Code::FailedPrecondition,
        ErrorCode::AlreadyExists => Code::AlreadyExists,
        ErrorCode::ResourceExhausted => Code::ResourceExhausted,
        ErrorCode::DeadlineExceeded => Code::DeadlineExceeded,
        ErrorCode::Internal => Code::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_field_is_named_first_and_domain_errors_keep_their_code() {
        let e = ServiceError::invalid("lines[2].quantity", "must be >= 1");
        assert_eq!(e.code(), Code::InvalidArgument);
        assert_eq!(e.to_string(), "lines[2].quantity: must be >= 1");
        let e = ServiceError::not_found("sku", "SKU", "X-1");
        assert_eq!(e.code(), Code::NotFound);
        assert_eq!(e.to_string(), "sku: unknown SKU \"X-1\"");
        assert_eq!(engine_code(ErrorCode::AlreadyExists), Code::AlreadyExists);
    }
}
