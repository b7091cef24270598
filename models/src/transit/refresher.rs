//! A background thread that keeps the ETA cache warm: it prefills the
//! current and the next 15-minute bucket a little before each bucket
//! starts, so steady-state predictions are cache hits.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use allot_engine::transit::TransitError;

use super::predictor::EtaPredictor;
use crate::features::ETA_TIME_BUCKET_SECS;

/// What one refresher pass did, for logs and metrics.
pub type PassReport = Result<usize, TransitError>;

/// The refresher thread; dropping it stops the thread (a pass in progress
/// stops after its current model run).
pub struct Refresher {
    stopping: Arc<AtomicBool>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Refresher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refresher")
            .field("running", &self.thread.is_some())
            .finish()
    }
}

impl Refresher {
    /// Starts a thread named `eta-refresher` that prefills, on the predictor
    /// `live` returns at each pass (the live version), the bucket of now
    /// and the next one at once, then again `lead` before each bucket
    /// starts. `report` is called after each pass with the lanes scored (or
    /// the error; the thread carries on and retries at the next pass).
    pub fn spawn(
        live: impl Fn() -> Arc<EtaPredictor> + Send + 'static,
        lead: Duration,
        report: impl Fn(PassReport) + Send + 'static,
    ) -> std::io::Result<Refresher> {
        let (stop, stopped) = mpsc::channel::<()>();
        let stopping = Arc::new(AtomicBool::new(false));
        let flag = stopping.clone();
        let bucket = Duration::from_secs(ETA_TIME_BUCKET_SECS as u64);
        let lead = lead.min(bucket / 2);
        let thread = std::thread::Builder::new()
            .name("eta-refresher".into())
            .spawn(move || {
                loop {
                    let now = SystemTime::now();
                    let predictor = live();
                    let keep_going = || !flag.load(Ordering::Relaxed);
                    let pass = predictor
                        .prefill_while(now, &keep_going)
                        .and_then(|a| Ok(a + predictor.prefill_while(now + bucket, &keep_going)?));
                    if !keep_going() {
                        break;
                    }
                    report(pass);
                    let wait = until_next_pass(SystemTime::now(), bucket, lead);
                    match stopped.recv_timeout(wait) {
                        Err(RecvTimeoutError::Timeout) => continue,
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
            })?;
        Ok(Refresher {
            stopping,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// Time from `now` to `lead` before the next bucket boundary (at least one
/// second).
fn until_next_pass(now: SystemTime, bucket: Duration, lead: Duration) -> Duration {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let into = Duration::from_nanos((since.as_nanos() % bucket.as_nanos()) as u64);
    let to_boundary = bucket - into;
    let wait = if to_boundary > lead {
        to_boundary - lead
    } else {
        to_boundary + bucket - lead
    };
    wait.max(Duration::from_secs(1))
}

impl Drop for Refresher {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Relaxed);
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_pass_is_lead_before_the_boundary() {
        let bucket = Duration::from_secs(900);
        let lead = Duration::from_secs(60);
        let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(
            until_next_pass(at(9_000), bucket, lead),
            Duration::from_secs(840)
        );
        assert_eq!(
            until_next_pass(at(9_000 + 850), bucket, lead),
            Duration::from_secs(50 + 840)
        );
        assert_eq!(
            until_next_pass(at(9_000 + 839), bucket, lead),
            Duration::from_secs(1)
        );
    }
}
