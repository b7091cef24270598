//! `grpc.health.v1` checks.

use std::time::{Duration, Instant};

use tonic_health::pb::HealthCheckRequest;
pub use tonic_health::pb::health_check_response::ServingStatus;

use crate::client::AllotClient;
use crate::error::{ClientError, code_name};

/// Pause between two polls of [`AllotClient::wait_until_serving`].
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Longest a single health poll may take.
const POLL_TIMEOUT: Duration = Duration::from_secs(2);

impl AllotClient {
    /// The serving status of `service` (`""` = the server as a whole).
    /// An unknown service is a `NOT_FOUND` [`ClientError::Status`].
    pub async fn health(&self, service: &str) -> Result<ServingStatus, ClientError> {
        let request = HealthCheckRequest {
            service: service.to_string(),
        };
        let response = self.health_client().check(request).await?.into_inner();
        Ok(ServingStatus::try_from(response.status).unwrap_or(ServingStatus::Unknown))
    }

    /// Polls the overall health (service `""`) until it is `SERVING`, for at
    /// most `timeout`. See [`AllotClient::wait_until_service_serving`].
    pub async fn wait_until_serving(&self, timeout: Duration) -> Result<(), ClientError> {
        self.wait_until_service_serving("", timeout).await
    }

    /// Polls the health of `service` until it is `SERVING`, for at most
    /// `timeout`. Connection errors, `UNAVAILABLE` and non-serving statuses
    /// are retried; other gRPC errors (e.g. `NOT_FOUND` for an unknown
    /// service) are returned at once. On timeout the error holds the last
    /// status or error seen.
    pub async fn wait_until_service_serving(
        &self,
        service: &str,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let start = Instant::now();
        loop {
            let remaining = timeout.saturating_sub(start.elapsed());
            let poll = tokio::time::timeout(remaining.min(POLL_TIMEOUT), self.health(service));
            let last = match poll.await {
                Ok(Ok(ServingStatus::Serving)) => return Ok(()),
                Ok(Ok(status)) => status.as_str_name().to_string(),
                Ok(Err(ClientError::Status(s)))
                    if !matches!(
                        s.code(),
                        tonic::Code::Unavailable
                            | tonic::Code::Unknown
                            | tonic::Code::DeadlineExceeded
                            | tonic::Code::Cancelled
                    ) =>
                {
                    return Err(ClientError::Status(s));
                }
                Ok(Err(e)) => format!("{}: {e}", code_name(e.code())),
                Err(_) => String::from("health check timed out"),
            };
            let remaining = timeout.saturating_sub(start.elapsed());
            if remaining.is_zero() {
                return Err(ClientError::Timeout {
                    what: format!(
                        "SERVING status of {} at {}",
                        service_label(service),
                        self.endpoint()
                    ),
                    waited: start.elapsed(),
                    last,
                });
            }
            tokio::time::sleep(POLL_INTERVAL.min(remaining)).await;
        }
    }
}

/// How a health service name is shown in messages.
fn service_label(service: &str) -> String {
    if service.is_empty() {
        String::from("the server")
    } else {
        format!("service `{service}`")
    }
}
