//! The error type of the client library.

use std::path::PathBuf;
use std::time::Duration;

use tonic::Code;

/// Everything that can go wrong in [`crate::AllotClient`] and its helpers.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The endpoint is not a valid URI.
    #[error("invalid endpoint `{endpoint}`: {source}")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// The parse error.
        #[source]
        source: tonic::transport::Error,
    },
    /// Nothing answered at the endpoint (refused, unreachable or timed out).
    #[error("cannot connect to {endpoint}: {detail}")]
    Connect {
        /// The endpoint as used (with scheme).
        endpoint: String,
        /// The error chain, flattened into one line.
        detail: String,
        /// The transport error.
        #[source]
        source: tonic::transport::Error,
    },
    /// None of several replicas could be reached (each refused, unreachable
    /// or not answering within [`crate::CONNECT_TIMEOUT`]).
    #[error("cannot connect to any replica: {detail}")]
    NoReplica {
        /// The endpoints as used (with scheme).
        endpoints: Vec<String>,
        /// Why, per endpoint, in one line.
        detail: String,
    },
    /// The server answered with a gRPC error.
    #[error("{}", status_text(.0))]
    Status(#[from] tonic::Status),
    /// `ReplaceNodeStock` failed for one node of a multi-node load.
    #[error(
        "ReplaceNodeStock for node `{node}` failed ({replaced} of {total} nodes replaced before it): {}",
        status_text(.source)
    )]
    NodeReplace {
        /// The node whose replacement failed.
        node: String,
        /// Nodes successfully replaced before this one (they stay replaced).
        replaced: usize,
        /// Nodes in the file.
        total: usize,
        /// The server's answer.
        #[source]
        source: tonic::Status,
    },
    /// A CSV input file is malformed; nothing was sent.
    #[error(transparent)]
    Csv(#[from] crate::input::CsvError),
    /// A file could not be read.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// proto3 JSON conversion failed (unknown message name, invalid JSON, a
    /// message that does not match its descriptor).
    #[error("json: {0}")]
    Json(String),
    /// A wait gave up.
    #[error("{what} not reached after {:.1}s (last: {last})", .waited.as_secs_f64())]
    Timeout {
        /// What was waited for.
        what: String,
        /// How long it waited.
        waited: Duration,
        /// The last observed state or error.
        last: String,
    },
    /// A helper was called with an invalid argument (e.g. batch size 0).
    #[error("{0}")]
    InvalidArgument(String),
}

impl ClientError {
    /// The gRPC status code that best describes the error: the server's code
    /// for server errors, a local equivalent otherwise (e.g. `Unavailable`
    /// for connection failures, `InvalidArgument` for malformed CSV).
    pub fn code(&self) -> Code {
        match self {
            Self::InvalidEndpoint { .. } | Self::Csv(_) | Self::InvalidArgument(_) => {
                Code::InvalidArgument
            }
            Self::Json(_) => Code::InvalidArgument,
            Self::Connect { .. } | Self::NoReplica { .. } => Code::Unavailable,
            Self::Status(s) | Self::NodeReplace { source: s, .. } => s.code(),
            Self::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Code::NotFound
            }
            Self::Io { .. } => Code::Unknown,
            Self::Timeout { .. } => Code::DeadlineExceeded,
        }
    }

    /// The server's status when the error came from the server.
    pub fn status(&self) -> Option<&tonic::Status> {
        match self {
            Self::Status(s) | Self::NodeReplace { source: s, .. } => Some(s),
            _ => None,
        }
    }
}

/// The canonical gRPC name of a status code, e.g. `NOT_FOUND`.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The status message (or the code's description when the message is
/// empty), followed by the chain of a local cause such as a refused
/// connection.
pub(crate) fn status_text(status: &tonic::Status) -> String {
    let message = if status.message().is_empty() {
        status.code().description()
    } else {
        status.message()
    };
    match std::error::Error::source(status) {
        Some(cause) => {
            let chain = error_chain(cause);
            if chain.contains(message) {
                chain
            } else {
                format!("{message}: {chain}")
            }
        }
        None => message.to_string(),
    }
}

/// Flattens an error and its sources into one line, skipping repeated texts.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = e.source();
    }
    parts.join(": ")
}
