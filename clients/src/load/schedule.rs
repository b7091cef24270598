//! The open-loop schedule: when each request is meant to be sent, and how
//! latency is accounted so that a stalled server cannot hide its stall
//! (coordinated omission).
//!
//! Request `i` of a run at `rate` requests per second is intended to be
//! sent `i / rate` seconds after the start, whether or not earlier requests
//! have answered. Its latency runs from that intended time to its answer,
//! so time a request spent waiting to be sent (a slow client, a full
//! connection) counts against the server, as a user arriving at that moment
//! would have seen it. A request that cannot be sent because
//! `max_in_flight` requests are outstanding is dropped by the client and
//! counted as `client_dropped` instead of queueing without bound.

use std::time::Duration;

/// Offset from the start of an open-loop run at which request `index` is
/// intended to be sent: `index / rate` seconds, computed from the index
/// (not by adding intervals) so rounding never drifts.
pub fn intended_offset(index: u64, rate: f64) -> Duration {
    // Precision: f64 holds indexes exactly up to 2^53.
    Duration::from_secs_f64(index as f64 / rate)
}

/// Latency of an open-loop request: from its intended send time to its
/// answer (never negative).
pub fn corrected_latency(intended: Duration, answered: Duration) -> Duration {
    answered.saturating_sub(intended)
}

/// The result of [`simulate_open_loop`].
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SimulatedRun {
    /// Coordinated-omission-corrected latency of every sent request, in
    /// index order.
    pub latencies: Vec<Duration>,
    /// Latency of the same requests measured from when they were sent, the
    /// figure a naive generator would report.
    pub naive_latencies: Vec<Duration>,
    /// Requests not sent because `max_in_flight` were outstanding.
    pub client_dropped: u64,
}

/// Runs the open-loop accounting over simulated time: `count` requests at
/// `rate` per second, at most `max_in_flight` outstanding. `send_delay(i)`
/// is how late the client actually sends request `i` after its intended
/// time, and `answer(i, sent)` is when its answer arrives (offsets from the
/// start). This is the same admission and latency rule the real scheduler
/// applies, as a pure function for tests and what-if analysis.
pub fn simulate_open_loop(
    rate: f64,
    count: u64,
    max_in_flight: usize,
    mut send_delay: impl FnMut(u64) -> Duration,
    mut answer: impl FnMut(u64, Duration) -> Duration,
) -> SimulatedRun {
    let mut run = SimulatedRun::default();
    // Answer times of the requests still outstanding.
    let mut outstanding: Vec<Duration> = Vec::new();
    for index in 0..count {
        let intended = intended_offset(index, rate);
        let sent = intended + send_delay(index);
        outstanding.retain(|&answered| answered > sent);
        if outstanding.len() >= max_in_flight {
            run.client_dropped += 1;
            continue;
        }
        let answered = answer(index, sent).max(sent);
        outstanding.push(answered);
        run.latencies.push(corrected_latency(intended, answered));
        run.naive_latencies.push(answered - sent);
    }
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn intended_times_follow_the_rate_without_drift() {
        assert_eq!(intended_offset(0, 500.0), Duration::ZERO);
        assert_eq!(intended_offset(1, 500.0), ms(2));
        assert_eq!(intended_offset(500, 500.0), ms(1000));
        assert_eq!(intended_offset(3, 3.0), ms(1000));
        // 1/3 s steps: no accumulated rounding after a million steps.
        let far = intended_offset(3_000_000, 3.0);
        assert!(far.abs_diff(Duration::from_secs(1_000_000)) < Duration::from_micros(1));
    }

    #[test]
    fn latency_counts_from_the_intended_time() {
        assert_eq!(corrected_latency(ms(10), ms(13)), ms(3));
        assert_eq!(corrected_latency(ms(10), ms(9)), Duration::ZERO);
    }

    /// A server that answers in 1 ms but stalls for 500 ms from t = 1 s:
    /// every request intended during the stall waits for its end.
    fn stalling_server(_: u64, sent: Duration) -> Duration {
        let stall = ms(1000)..ms(1500);
        if stall.contains(&sent) {
            stall.end + ms(1)
        } else {
            sent + ms(1)
        }
    }

    #[test]
    fn a_stall_shows_in_corrected_latencies() {
        // 1000 requests/s for 2 s, unbounded in flight.
        let run = simulate_open_loop(
            1000.0,
            2000,
            usize::MAX,
            |_| Duration::ZERO,
            stalling_server,
        );
        assert_eq!(run.client_dropped, 0);
        assert_eq!(run.latencies.len(), 2000);
        // Request 1000 (intended at 1.0 s) waits the whole stall; 1250 half.
        assert_eq!(run.latencies[1000], ms(501));
        assert_eq!(run.latencies[1250], ms(251));
        assert_eq!(run.latencies[1600], ms(1));
        let slow = run.latencies.iter().filter(|&&l| l > ms(10)).count();
        // Those intended at 1.000 ..= 1.490 s waited more than 10 ms.
        assert_eq!(slow, 491, "about half a second of requests saw the stall");
    }

    #[test]
    fn a_late_client_is_charged_not_hidden() {
        // The client sends request 10 100 ms late (e.g. it was descheduled);
        // the server is fast, yet the user waited 101 ms.
        let delay = |i| if i == 10 { ms(100) } else { Duration::ZERO };
        let run = simulate_open_loop(100.0, 20, 64, delay, |_, sent| sent + ms(1));
        assert_eq!(run.latencies[10], ms(101));
        assert_eq!(run.naive_latencies[10], ms(1));
    }

    #[test]
    fn the_in_flight_bound_drops_instead_of_queueing() {
        // 100 outstanding at most: those intended at 1.000 ..= 1.099 s are
        // admitted and hold every slot until 1.501 s, so the 401 intended at
        // 1.100 ..= 1.500 s are dropped by the client.
        let run = simulate_open_loop(1000.0, 2000, 100, |_| Duration::ZERO, stalling_server);
        assert_eq!(run.client_dropped, 401);
        assert_eq!(run.latencies.len(), 1599);
        assert!(run.latencies.iter().all(|&l| l <= ms(501)));
    }
}
