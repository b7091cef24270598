//! The live progress line on stderr.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::runner::Shared;
use super::stats::new_histogram;

/// Every second until aborted, prints to stderr: elapsed time, answers in
/// the last second, OK and error answers so far and their p99 (measured
/// requests only; `warmup` while warming up).
pub(super) async fn report_every_second(shared: Arc<Shared>) {
    let mut ticks = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(1),
        Duration::from_secs(1),
    );
    let mut merged = new_histogram();
    let mut last_answered = 0;
    let mut last_tick = Instant::now();
    loop {
        ticks.tick().await;
        let now = Instant::now();
        let answered = shared.answered.load(Ordering::Relaxed);
        let rps = (answered - last_answered) as f64 / (now - last_tick).as_secs_f64();
        (last_answered, last_tick) = (answered, now);
        let (mut ok, mut errors) = (0, 0);
        merged.reset();
        {
            let measured = shared.lock();
            for stats in &measured.stats.by_kind {
                ok += stats.ok_count();
                errors += stats.error_count();
                if stats.answered() > 0 {
                    merged.add(&stats.all).expect("same histogram bounds");
                }
            }
        }
        let phase = if now < shared.measure_from {
            " (warmup)"
        } else {
            ""
        };
        eprintln!(
            "[{:>6.1}s]{phase} rps {rps:>8.0}  ok {ok:>9}  errors {errors:>7}  p99 {}",
            (now - shared.start).as_secs_f64(),
            super::report::format_us(merged.value_at_quantile(0.99)),
        );
    }
}
