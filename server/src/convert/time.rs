//! Timestamps both ways, through prost-types.

use std::time::SystemTime;

use allot_service::ServiceError;

/// A `SystemTime` as a protobuf UTC timestamp.
pub(crate) fn timestamp(at: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(at)
}

/// The last second protobuf timestamps may hold: 9999-12-31T23:59:59Z.
const LAST_SECOND: i64 = 253_402_300_799;

/// A protobuf timestamp as a `SystemTime`; `field` names it in errors.
/// Instants before 1970 or after 9999, and out-of-range nanos, are refused
/// (calendar arithmetic on them would overflow).
pub(crate) fn system_time(
    t: &prost_types::Timestamp,
    field: &str,
) -> Result<SystemTime, ServiceError> {
    let invalid = || {
        ServiceError::invalid(
            field,
            format!(
                "must be an instant from 1970 to 9999 with nanos in 0..1e9, got seconds {}, nanos {}",
                t.seconds, t.nanos
            ),
        )
    };
    if !(0..=LAST_SECOND).contains(&t.seconds) || !(0..1_000_000_000).contains(&t.nanos) {
        return Err(invalid());
    }
    SystemTime::try_from(*t).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn timestamps_keep_seconds_and_nanos_both_ways() {
        let at = UNIX_EPOCH + Duration::new(1_700_000_000, 5);
        let t = timestamp(at);
        assert_eq!((t.seconds, t.nanos), (1_700_000_000, 5));
        assert_eq!(system_time(&t, "at").unwrap(), at);
        let t = timestamp(UNIX_EPOCH - Duration::new(1, 500_000_000));
        assert_eq!((t.seconds, t.nanos), (-2, 500_000_000));
        let e = system_time(&t, "context.placed_at").unwrap_err();
        assert!(e.to_string().starts_with("context.placed_at: "), "{e}");
        let last = prost_types::Timestamp {
            seconds: LAST_SECOND,
            nanos: 999_999_999,
        };
        assert!(system_time(&last, "at").is_ok());
        let beyond = prost_types::Timestamp {
            seconds: LAST_SECOND + 1,
            nanos: 0,
        };
        assert!(system_time(&beyond, "at").is_err());
    }
}
