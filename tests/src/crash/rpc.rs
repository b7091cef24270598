//! One call as a client of a server that may die under it: an answer, a
//! refusal (nothing happened), or an unknown outcome (it may or may not have
//! happened).

use std::future::Future;
use std::time::Duration;

use tonic::{Code, Status};

/// Longest a client waits for one answer; longer is an unknown outcome.
pub const RPC_TIMEOUT: Duration = Duration::from_secs(20);

/// Retries of a call refused for overload (or unknown) during recovery and
/// checks, when the server is up and the outcome must be known.
pub const RETRIES: u32 = 40;

/// Pause before the first retry; doubles up to [`MAX_BACKOFF`].
const BACKOFF: Duration = Duration::from_millis(20);

/// Longest pause between two retries.
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// How a call ended, from the caller's point of view.
#[derive(Debug)]
pub enum Outcome<T> {
    /// Answered OK.
    Ok(T),
    /// Refused by the server: FAILED_PRECONDITION or RESOURCE_EXHAUSTED,
    /// nothing was done (what a refusal means depends on the call).
    Refused(Status),
    /// No answer, or one that does not say whether the call took effect:
    /// the connection broke (the server died), UNAVAILABLE, UNKNOWN,
    /// INTERNAL, CANCELLED, DEADLINE_EXCEEDED, or no answer in
    /// [`RPC_TIMEOUT`].
    Unknown(String),
    /// Any other error: NOT_FOUND, ALREADY_EXISTS, INVALID_ARGUMENT, ...
    Unexpected(Status),
}

/// Runs `call` under [`RPC_TIMEOUT`] and sorts its result.
pub async fn call<T>(call: impl Future<Output = Result<tonic::Response<T>, Status>>) -> Outcome<T> {
    match tokio::time::timeout(RPC_TIMEOUT, call).await {
        Err(_) => Outcome::Unknown(format!("no answer in {RPC_TIMEOUT:?}")),
        Ok(Ok(response)) => Outcome::Ok(response.into_inner()),
        Ok(Err(status)) => match status.code() {
            Code::FailedPrecondition | Code::ResourceExhausted => Outcome::Refused(status),
            Code::Unavailable
            | Code::Unknown
            | Code::Internal
            | Code::Cancelled
            | Code::DeadlineExceeded
            | Code::Aborted => {
                Outcome::Unknown(format!("{:?}: {}", status.code(), status.message()))
            }
            _ => Outcome::Unexpected(status),
        },
    }
}

/// Sends `request` until it is answered with something other than an
/// overload refusal (RESOURCE_EXHAUSTED) or an unknown outcome, backing off
/// between tries, at most [`RETRIES`] times; the last outcome otherwise.
/// For calls that may be repeated safely (reads, idempotent commits).
/// Each try sends a clone of `request` with a clone of `client`.
pub async fn settled<C, R, T, Fut>(
    client: &C,
    request: &R,
    send: impl Fn(C, R) -> Fut,
) -> Outcome<T>
where
    C: Clone,
    R: Clone,
    Fut: Future<Output = Result<tonic::Response<T>, Status>>,
{
    let mut backoff = BACKOFF;
    let mut tries = 0;
    loop {
        let outcome = call(send(client.clone(), request.clone())).await;
        let transient = match &outcome {
            Outcome::Refused(status) => status.code() == Code::ResourceExhausted,
            Outcome::Unknown(_) => true,
            Outcome::Ok(_) | Outcome::Unexpected(_) => false,
        };
        tries += 1;
        if !transient || tries >= RETRIES {
            return outcome;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// What a failed call on a reservation the harness knows shows: NOT_FOUND
/// means the server lost it, anything else is unexpected.
pub fn read_failure(status: &Status) -> super::report::ViolationKind {
    if status.code() == Code::NotFound {
        super::report::ViolationKind::ReservationMissing
    } else {
        super::report::ViolationKind::Unexpected
    }
}

/// A status as one line: its code and message.
pub fn describe(status: &Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}
