//! The one place where domain errors become gRPC statuses.

use allot_engine::ErrorCode;
use allot_engine::error::Classify;
use tonic::{Code, Status};

/// The gRPC code for a transport-neutral error code. Exhaustive on purpose: a
/// new [`ErrorCode`] fails to compile here until it is mapped.
pub fn grpc_code(code: ErrorCode) -> Code {
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

/// A domain error as a gRPC status carrying the error's own message.
pub fn status<E: Classify + std::fmt::Display>(error: E) -> Status {
    Status::new(grpc_code(error.code()), error.to_string())
}

/// INVALID_ARGUMENT naming the offending request field.
pub fn invalid(field: &str, problem: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("{field}: {problem}"))
}

/// NOT_FOUND for an unknown entity referenced by a request field.
pub fn not_found(field: &str, what: &str, code: &str) -> Status {
    Status::not_found(format!("{field}: unknown {what} {code:?}"))
}

/// UNAVAILABLE while the network and stock are still loading.
pub fn loading() -> Status {
    Status::unavailable(
        "allot is loading its network and stock; retry shortly (health reports NOT_SERVING until ready)",
    )
}

/// UNIMPLEMENTED for an RPC of the contract that this release does not serve.
pub fn not_in_this_release(rpc: &str) -> Status {
    Status::unimplemented(format!(
        "{rpc} is part of the allot.v1 contract but not implemented in this release; \
         InventoryService, AllocationService, PromiseService, RiskService, DecisionService, AdminService.GetNetwork and GetModelInfo, and grpc.health.v1 are"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_maps_to_a_distinct_status() {
        let all = [
            ErrorCode::InvalidArgument,
            ErrorCode::NotFound,
            ErrorCode::FailedPrecondition,
            ErrorCode::AlreadyExists,
            ErrorCode::ResourceExhausted,
            ErrorCode::DeadlineExceeded,
            ErrorCode::Internal,
        ];
        let codes: std::collections::HashSet<_> =
            all.iter().map(|c| grpc_code(*c) as i32).collect();
        assert_eq!(codes.len(), all.len());
        assert!(!codes.contains(&(Code::Ok as i32)));
    }
}
