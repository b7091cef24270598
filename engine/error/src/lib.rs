//! The transport-neutral error vocabulary shared by every domain error.

/// What kind of failure a domain error is, independent of any transport.
///
/// The server maps each code onto a gRPC status in one exhaustive match, so
/// adding a variant here fails to compile there until it is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The request itself is wrong; the message names the field.
    InvalidArgument,
    /// A referenced entity (node, SKU, reservation, decision) does not exist.
    NotFound,
    /// The request is well formed but the system is not in a state to serve it.
    FailedPrecondition,
    /// The entity the request would create already exists (or a key is reused
    /// with a different request).
    AlreadyExists,
    /// A bounded resource (queue, concurrency, memory budget) is full.
    ResourceExhausted,
    /// The caller's time budget ran out before an answer could be produced.
    DeadlineExceeded,
    /// A bug or an unexpected failure inside allot.
    Internal,
}

/// Implemented by every domain error so the server can classify it.
pub trait Classify {
    /// The transport-neutral code of this error.
    fn code(&self) -> ErrorCode;
}
