//! The time budget of a call: the caller's gRPC deadline (the `grpc-timeout`
//! header) less a margin kept for building and sending the answer, or a
//! configured default. docs/operations.md ("Deadlines") says what each part
//! of a call may use.

use std::time::{Duration, Instant};

use allot_service::{Code, ServiceError};
use tonic::metadata::MetadataMap;

/// Parses a `grpc-timeout` value such as `150m` or `2S`.
pub(crate) fn parse_grpc_timeout(value: &str) -> Option<Duration> {
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

/// A call's time budget as configured: the default without a gRPC deadline,
/// and the margin kept from one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    /// Budget of a call without a deadline.
    pub(crate) default: Duration,
    /// Kept from the caller's deadline for building and sending the answer,
    /// at least.
    pub(crate) margin: Duration,
    /// Share of the caller's timeout kept for the answer when that is more
    /// than `margin` (0.0 to 0.9): a large answer takes longer to explain,
    /// record and send than a fixed margin allows.
    pub(crate) margin_share: f64,
    /// Longest budget, whatever the caller's deadline.
    pub(crate) max: Duration,
}

impl Budget {
    /// The budget `allocation` configures.
    pub(crate) fn configured(allocation: &crate::config::AllocationConfig) -> Budget {
        Budget {
            default: Duration::from_millis(allocation.default_budget_ms),
            margin: Duration::from_millis(allocation.deadline_margin_ms),
            margin_share: allocation.deadline_margin_share,
            max: Duration::from_millis(allocation.max_budget_ms),
        }
    }

    /// This budget with `budget` as both the default and the longest: a
    /// call that asks for its own time (a backlog re-plan's `budget_ms`),
    /// still cut short by the caller's deadline less the margin.
    pub(crate) fn asking(self, budget: Duration) -> Budget {
        Budget {
            default: budget,
            max: budget,
            ..self
        }
    }

    /// When the work of a call that started at `started` must be done:
    /// `started` + (the caller's timeout - the margin), or + `default`
    /// without one, never more than `max` after `started`.
    /// DEADLINE_EXCEEDED when the caller left no time at all.
    pub(crate) fn deadline(
        &self,
        metadata: &MetadataMap,
        started: Instant,
    ) -> Result<Instant, ServiceError> {
        let timeout = metadata
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_grpc_timeout);
        let Some(timeout) = timeout else {
            return Ok(started + self.default.min(self.max));
        };
        if timeout <= self.margin {
            return Err(ServiceError::new(
                Code::DeadlineExceeded,
                format!(
                    "the call's deadline ({} us) leaves no time to decide: it must exceed the server's margin of {} us",
                    timeout.as_micros(),
                    self.margin.as_micros()
                ),
            ));
        }
        // `clamp` keeps a NaN (a configuration may say `nan`), and a NaN
        // share is no share.
        let share = if self.margin_share.is_nan() {
            0.0
        } else {
            self.margin_share.clamp(0.0, 0.9)
        };
        let margin = self.margin.max(timeout.mul_f64(share));
        Ok(started + (timeout - margin).min(self.max))
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

    const BUDGET: Budget = Budget {
        default: Duration::from_millis(50),
        margin: Duration::from_millis(2),
        margin_share: 0.2,
        max: Duration::from_millis(1_000),
    };

    fn timeout(value: &str) -> MetadataMap {
        let mut metadata = MetadataMap::new();
        metadata.insert("grpc-timeout", value.parse().unwrap());
        metadata
    }

    #[test]
    fn a_deadline_shorter_than_the_margin_is_exceeded_at_once() {
        let now = Instant::now();
        let err = BUDGET.deadline(&timeout("1m"), now).unwrap_err();
        assert_eq!(err.code(), Code::DeadlineExceeded);
        let ok = BUDGET.deadline(&MetadataMap::new(), now).unwrap();
        assert_eq!(ok, now + Duration::from_millis(50));
    }

    #[test]
    fn the_margin_is_the_larger_of_the_fixed_one_and_the_share() {
        let now = Instant::now();
        // 5 ms: 20% is 1 ms, less than the fixed 2 ms.
        let short = BUDGET.deadline(&timeout("5m"), now).unwrap();
        assert_eq!(short, now + Duration::from_millis(3));
        // 100 ms: 20% is 20 ms.
        let long = BUDGET.deadline(&timeout("100m"), now).unwrap();
        assert_eq!(long, now + Duration::from_millis(80));
    }

    #[test]
    fn no_deadline_buys_more_than_the_configured_cap() {
        let now = Instant::now();
        let hours = BUDGET.deadline(&timeout("99999999H"), now).unwrap();
        assert_eq!(hours, now + Duration::from_millis(1_000));
        let capped = Budget {
            default: Duration::from_secs(5),
            ..BUDGET
        };
        let default = capped.deadline(&MetadataMap::new(), now).unwrap();
        assert_eq!(default, now + Duration::from_millis(1_000));
    }

    #[test]
    fn a_margin_share_of_nan_in_the_configuration_keeps_only_the_fixed_margin() {
        let now = Instant::now();
        let nan = Budget {
            margin_share: f64::NAN,
            ..BUDGET
        };
        let deadline = nan.deadline(&timeout("100m"), now).unwrap();
        assert_eq!(deadline, now + Duration::from_millis(98));
    }
}
