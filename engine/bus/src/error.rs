//! Why a bus operation failed.

use std::time::Duration;

/// A boxed error from the NATS client, kept as the source of a [`BusError`]
/// (its types are not part of this crate's API).
type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a bus operation failed. Each message names what failed; the NATS
/// client's reason, where there is one, is the error's source.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The configuration is invalid (the message says which setting).
    #[error("invalid bus configuration: {0}")]
    Config(String),
    /// A subject or filter given to publish or follow is invalid.
    #[error("invalid bus subject {subject:?}: {reason}")]
    InvalidSubject {
        /// The subject as given (without the prefix).
        subject: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A message id given to publish is invalid.
    #[error("invalid bus message id {msg_id:?}: {reason}")]
    InvalidMsgId {
        /// The id as given.
        msg_id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The server could not be reached or refused the connection.
    #[error("cannot connect to NATS at {url}")]
    Connect {
        /// The configured URL.
        url: String,
        /// The client's reason.
        #[source]
        source: Source,
    },
    /// The stream could not be created or updated (JetStream off or
    /// unreachable, or a setting or subject the server refuses).
    #[error("cannot set up the JetStream stream {stream}")]
    StreamSetup {
        /// The stream's name.
        stream: String,
        /// The client's or the server's reason.
        #[source]
        source: Source,
    },
    /// No acknowledgement came from JetStream within the ack timeout (the
    /// connection may be down). The message may still have been stored:
    /// retry with the same message id.
    #[error("no acknowledgement from JetStream for a message to {subject} within {timeout:?}")]
    PublishTimeout {
        /// The full subject (with the prefix).
        subject: String,
        /// The configured ack timeout.
        timeout: Duration,
    },
    /// JetStream refused the message or the client could not send it.
    #[error("cannot publish to {subject}")]
    Publish {
        /// The full subject (with the prefix).
        subject: String,
        /// The client's or the server's reason.
        #[source]
        source: Source,
    },
    /// The consumer a follower needs could not be created.
    #[error("cannot follow {filter} on the JetStream stream {stream}")]
    Follow {
        /// The full filter (with the prefix).
        filter: String,
        /// The stream's name.
        stream: String,
        /// The client's or the server's reason.
        #[source]
        source: Source,
    },
}
