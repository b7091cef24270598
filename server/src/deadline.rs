//! The time budget of a call: the caller's gRPC deadline (the `grpc-timeout`
//! header) less a safety margin, or a configured default.

use std::time::{Duration, Instant};

use allot_service::{Code, ServiceError};
use tonic::metadata::MetadataMap;

/// Parses a `grpc-timeout` value such as `150m` or `2S`.
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// When the work of this call must be done: `started` + (the caller's
/// timeout - `margin`), or + `default` without one. DEADLINE_EXCEEDED when
/// the caller left no time at all.
pub(crate) fn budget(
    metadata: &MetadataMap,
    started: Instant,
    default: Duration,
    margin: Duration,
) -> Result<Instant, ServiceError> {
    let timeout = metadata
        .get("grpc-timeout")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_grpc_timeout);
    match timeout {
        None => Ok(started + default),
        Some(t) if t <= margin => Err(ServiceError::new(
            Code::DeadlineExceeded,
            format!(
                "the call's deadline ({} us) leaves no time to decide",
                t.as_micros()
            ),
        )),
        Some(t) => Ok(started + (t - margin)),
    }
}

/// A call's time budget as configured: the default without a gRPC deadline,
/// and the margin kept from one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    /// Budget of a call without a deadline.
    pub(crate) default: Duration,
    /// Kept from the caller's deadline for building and sending the answer.
    pub(crate) margin: Duration,
}

impl Budget {
    /// When the work of a call that started at `started` must be done.
    pub(crate) fn deadline(
        &self,
        metadata: &MetadataMap,
        started: Instant,
    ) -> Result<Instant, ServiceError> {
        budget(metadata, started, self.default, self.margin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_by_unit() {
        assert_eq!(parse_grpc_timeout("150m"), Some(Duration::from_millis(150)));
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout("7u"), Some(Duration::from_micros(7)));
        assert_eq!(parse_grpc_timeout("x"), None);
        assert_eq!(parse_grpc_timeout("10q"), None);
    }

    #[test]
    fn a_deadline_shorter_than_the_margin_is_exceeded_at_once() {
        let mut metadata = MetadataMap::new();
        metadata.insert("grpc-timeout", "1m".parse().unwrap());
        let now = Instant::now();
        let err = budget(
            &metadata,
            now,
            Duration::from_millis(50),
            Duration::from_millis(2),
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::DeadlineExceeded);
        let ok = budget(
            &MetadataMap::new(),
            now,
            Duration::from_millis(50),
            Duration::from_millis(2),
        )
        .unwrap();
        assert_eq!(ok, now + Duration::from_millis(50));
    }
}
