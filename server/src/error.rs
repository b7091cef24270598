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
        Code::Aborted => tonic::Code::Aborted,
        Code::Unavailable => tonic::Code::Unavailable,
        Code::PermissionDenied => tonic::Code::PermissionDenied,
        Code::Unimplemented => tonic::Code::Unimplemented,
        Code::Internal => tonic::Code::Internal,
    }
}

/// Longest status message sent, bytes. Messages quote the caller's values
/// (an unknown SKU, a postal code); a huge value must not make the status
/// too large for the client's header limit (16 KiB in most clients), which
/// would turn a clear INVALID_ARGUMENT into a protocol error.
const MAX_MESSAGE_BYTES: usize = 1024;

/// A service error as a gRPC status carrying the error's own message (cut
/// at [`MAX_MESSAGE_BYTES`]; the field it names comes first).
pub(crate) fn status(error: ServiceError) -> Status {
    let mut message = error.to_string();
    if message.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push_str("... (cut)");
    }
    Status::new(grpc_code(error.code()), message)
}

/// A use case's answer as a gRPC reply.
pub(crate) fn reply<T>(answer: Result<T, ServiceError>) -> Result<Response<T>, Status> {
    answer.map(Response::new).map_err(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_keeping_the_field() {
        let error = ServiceError::invalid("lines[0].sku", format!("unknown {}", "é".repeat(5000)));
        let status = status(error);
        assert!(status.message().len() <= MAX_MESSAGE_BYTES + 16);
        assert!(
            status.message().starts_with("lines[0].sku"),
            "{}",
            status.message()
        );
        assert!(status.message().ends_with("(cut)"));
    }

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
            Code::Aborted,
            Code::Unavailable,
            Code::PermissionDenied,
            Code::Unimplemented,
            Code::Internal,
        ];
        let codes: std::collections::HashSet<_> =
            all.iter().map(|c| grpc_code(*c) as i32).collect();
        assert_eq!(codes.len(), all.len());
        assert!(!codes.contains(&(tonic::Code::Ok as i32)));
    }
}
