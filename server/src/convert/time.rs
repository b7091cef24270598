//! Timestamps.

use std::time::{SystemTime, UNIX_EPOCH};

/// A `SystemTime` as a protobuf UTC timestamp.
pub fn timestamp(at: SystemTime) -> prost_types::Timestamp {
    let (seconds, nanos) = match at.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos() as i32),
        Err(before) => {
            let d = before.duration();
            let mut seconds = -(d.as_secs() as i64);
            let mut nanos = -(d.subsec_nanos() as i32);
            if nanos < 0 {
                seconds -= 1;
                nanos += 1_000_000_000;
            }
            (seconds, nanos)
        }
    };
    prost_types::Timestamp { seconds, nanos }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_keep_seconds_and_nanos() {
        let t = timestamp(UNIX_EPOCH + Duration::new(1_700_000_000, 5));
        assert_eq!((t.seconds, t.nanos), (1_700_000_000, 5));
        let t = timestamp(UNIX_EPOCH - Duration::new(1, 500_000_000));
        assert_eq!((t.seconds, t.nanos), (-2, 500_000_000));
    }
}
