//! Where requests go: one set of service clients per connection, and the
//! status code each call ends with.

use std::time::Duration;

use allot_proto::v1::allocation_service_client::AllocationServiceClient;
use allot_proto::v1::promise_service_client::PromiseServiceClient;
use allot_proto::v1::risk_service_client::RiskServiceClient;
use tonic::{Code, Status};
use tonic_health::pb::health_client::HealthClient;

use super::requests::Call;
use crate::client::{AllotChannel, AllotClient};

/// The service clients over one connection (one tonic `Channel`, one
/// HTTP/2 connection). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Target {
    health: HealthClient<AllotChannel>,
    allocation: AllocationServiceClient<AllotChannel>,
    promise: PromiseServiceClient<AllotChannel>,
    risk: RiskServiceClient<AllotChannel>,
}

impl Target {
    /// The clients over `client`'s channel (with its token, if any).
    pub fn new(client: &AllotClient) -> Target {
        Target {
            health: client.health_client(),
            allocation: client.allocation(),
            promise: client.promise(),
            risk: client.risk(),
        }
    }

    /// Sends `call` with a gRPC deadline of `timeout` and returns the status
    /// it ended with (the response itself is dropped). The deadline covers
    /// the whole call, the response body included (tonic's own client
    /// timeout stops at the response headers): a call still unanswered after
    /// `timeout` ends as DEADLINE_EXCEEDED.
    pub async fn send(&self, call: Call, timeout: Duration) -> Code {
        tokio::time::timeout(timeout, self.call(call, timeout))
            .await
            .unwrap_or(Code::DeadlineExceeded)
    }

    /// [`Target::send`] without the client-side deadline.
    async fn call(&self, call: Call, timeout: Duration) -> Code {
        fn with_deadline<T>(message: T, timeout: Duration) -> tonic::Request<T> {
            let mut request = tonic::Request::new(message);
            request.set_timeout(timeout);
            request
        }
        let result = match call {
            Call::Health(m) => {
                let mut client = self.health.clone();
                client.check(with_deadline(m, timeout)).await.map(drop)
            }
            Call::Allocate(m) => {
                let mut client = self.allocation.clone();
                client.allocate(with_deadline(m, timeout)).await.map(drop)
            }
            Call::Promise(m) => {
                let mut client = self.promise.clone();
                let request = with_deadline(m, timeout);
                client.get_delivery_promise(request).await.map(drop)
            }
            Call::Score(m) => {
                let mut client = self.risk.clone();
                client
                    .score_order(with_deadline(m, timeout))
                    .await
                    .map(drop)
            }
        };
        match result {
            Ok(()) => Code::Ok,
            Err(status) => status_code(&status),
        }
    }
}

/// The code of a failed call. tonic reports its own client-side deadline
/// expiry as CANCELLED "Timeout expired"; it is counted as
/// DEADLINE_EXCEEDED, as other gRPC clients report it.
pub fn status_code(status: &Status) -> Code {
    match status.code() {
        Code::Cancelled if status.message() == "Timeout expired" => Code::DeadlineExceeded,
        code => code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_timeouts_count_as_deadline_exceeded() {
        let timeout = Status::from_error(Box::new(tonic::TimeoutExpired(())));
        assert_eq!(status_code(&timeout), Code::DeadlineExceeded);
        assert_eq!(status_code(&Status::cancelled("by peer")), Code::Cancelled);
        assert_eq!(
            status_code(&Status::resource_exhausted("shed")),
            Code::ResourceExhausted
        );
    }
}
