//! The one place where the service layer's errors become gRPC statuses.

use allot_service::{Code, ServiceError};
use tonic::{Response, Status};

/// The gRPC code of a service code. Exhaustive on purpose: a new [`Code`]
/// fails to compile here until it is mapped.
pub(crate) fn grpc_code(code: Code) -> tonic::Code {
    match code {
        Code::InvalidArgument => tonic::Code::InvalidArgument,
        Code::NotFound => tonic::Code::NotFound,
        Code::FailedPrecondition => tonic::Code::FailedPrecondition,
        Code::AlreadyExists => tonic::Code::AlreadyExists,
        Code::ResourceExhausted => tonic::Code::ResourceExhausted,
        Code::DeadlineExceeded => tonic::Code::DeadlineExceeded,
        Code::OutOfRange => tonic::Code::OutOfRange,
        Code::Unavailable => tonic::Code::Unavailable,
        Code::Unimplemented => tonic::Code::Unimplemented,
        Code::Internal => tonic::Code::Internal,
    }
}

/// A service error as a gRPC status carrying the error's own message.
pub(crate) fn status(error: ServiceError) -> Status {
    Status::new(grpc_code(error.code()), error.to_string())
}

/// A use case's answer as a gRPC reply.
pub(crate) fn reply<T>(answer: Result<T, ServiceError>) -> Result<Response<T>, Status> {
    answer.map(Response::new).map_err(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_maps_to_a_distinct_status() {
        let all = [
            Code::InvalidArgument,
            Code::NotFound,
            Code::FailedPrecondition,
            Code::AlreadyExists,
            Code::ResourceExhausted,
            Code::DeadlineExceeded,
            Code::OutOfRange,
            Code::Unavailable,
            Code::Unimplemented,
            Code::Internal,
        ];
        let codes: std::collections::HashSet<_> =
            all.iter().map(|c| grpc_code(*c) as i32).collect();
        assert_eq!(codes.len(), all.len());
        assert!(!codes.contains(&(tonic::Code::Ok as i32)));
    }
}
