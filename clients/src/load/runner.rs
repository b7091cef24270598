//! Drives a server: closed loop (a fixed number of tasks, each sending its
//! next request when the previous one answered) or open loop (requests sent
//! at their scheduled times whatever the answers, see [`super::schedule`]).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::requests::RequestPlan;
use super::schedule::{corrected_latency, intended_offset};
use super::stats::{RunStats, new_histogram, record_latency};
use super::target::Target;
use super::{LoadConfig, LoadReport, Pacing, Stop};

/// State shared by the senders of a run and its progress reporter.
pub(super) struct Shared {
    pub plan: RequestPlan,
    pub targets: Vec<Target>,
    pub timeout: Duration,
    /// Start of the run (warmup included).
    pub start: Instant,
    /// End of the warmup: requests sent (or intended) earlier are not
    /// counted in the results.
    pub measure_from: Instant,
    /// When to stop sending, for a run by duration.
    pub send_until: Option<Instant>,
    /// How many measured requests to send, for a run by count.
    pub measured_budget: Option<u64>,
    /// Measured requests sent so far.
    pub measured_sent: AtomicU64,
    /// Answers so far, warmup included (for the progress line).
    pub answered: AtomicU64,
    /// Next request index.
    pub next_index: AtomicU64,
    /// Results of the measured requests.
    pub measured: Mutex<Measured>,
}

/// Results of the measured requests of a run.
#[derive(Default)]
pub(super) struct Measured {
    /// Their answers.
    pub stats: RunStats,
    /// When the last one arrived.
    pub last_answer: Option<Instant>,
}

impl Shared {
    /// Builds the shared state of a run starting now.
    pub fn new(plan: RequestPlan, targets: Vec<Target>, config: &LoadConfig) -> Shared {
        let start = Instant::now();
        let measure_from = start + config.warmup;
        let (send_until, measured_budget) = match config.stop {
            Stop::Duration(d) => (Some(measure_from + d), None),
            Stop::Requests(n) => (None, Some(n)),
        };
        Shared {
            plan,
            targets,
            timeout: config.timeout,
            start,
            measure_from,
            send_until,
            measured_budget,
            measured_sent: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            next_index: AtomicU64::new(0),
            measured: Mutex::new(Measured::default()),
        }
    }

    /// Whether a request to be sent at `at` may still go: false once the
    /// duration is over or the measured budget is spent.
    fn may_send(&self, at: Instant) -> bool {
        if self.send_until.is_some_and(|end| at >= end) {
            return false;
        }
        match self.measured_budget {
            Some(budget) if at >= self.measure_from => {
                self.measured_sent.fetch_add(1, Ordering::Relaxed) < budget
            }
            _ => true,
        }
    }

    /// Sends request `index`, timing it from `from` (the actual send time in
    /// closed loop, the intended one in open loop), and records the answer
    /// if `from` is after the warmup.
    async fn send_and_record(&self, index: u64, from: Instant) {
        let (kind, call) = self.plan.call(index);
        let target = &self.targets[(index % self.targets.len() as u64) as usize];
        let code = target.send(call, self.timeout).await;
        let answered = Instant::now();
        self.answered.fetch_add(1, Ordering::Relaxed);
        if from >= self.measure_from {
            let latency = corrected_latency(from - self.start, answered - self.start);
            let mut measured = self.lock();
            measured.stats.record(kind, code, latency);
            measured.last_answer = Some(measured.last_answer.map_or(answered, |t| t.max(answered)));
        }
    }

    /// The measured results, locked.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Measured> {
        self.measured.lock().expect("results lock")
    }

    /// The measured window: from the end of the warmup to the last measured
    /// answer (or to the end of the sending period if that is later).
    fn measured_window(&self) -> Duration {
        let last = self.lock().last_answer;
        let end = match (last, self.send_until) {
            (Some(answer), Some(until)) => answer.max(until),
            (Some(answer), None) => answer,
            (None, Some(until)) => until.min(Instant::now()),
            (None, None) => self.measure_from,
        };
        end.saturating_duration_since(self.measure_from)
    }
}

/// Runs `config.pacing` to the end and returns the report (of a run over
/// `targets` endpoints).
pub(super) async fn drive(shared: Arc<Shared>, config: &LoadConfig, targets: usize) -> LoadReport {
    let schedule_lag = match config.pacing {
        Pacing::Closed { concurrency } => {
            closed_loop(&shared, concurrency).await;
            None
        }
        Pacing::Open {
            rate,
            max_in_flight,
        } => Some(open_loop(&shared, rate, max_in_flight).await),
    };
    // Two statements: the lock guard of one must be gone before the other.
    let measured = shared.measured_window();
    let stats = shared.lock().stats.clone();
    LoadReport {
        config: config.clone(),
        stats,
        measured,
        schedule_lag,
        targets,
        targets_serving: None,
    }
}

/// `concurrency` tasks, each sending its next request when the previous one
/// answered.
async fn closed_loop(shared: &Arc<Shared>, concurrency: usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let shared = Arc::clone(shared);
        tasks.spawn(async move {
            loop {
                let now = Instant::now();
                if !shared.may_send(now) {
                    break;
                }
                let index = shared.next_index.fetch_add(1, Ordering::Relaxed);
                shared.send_and_record(index, now).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// A scheduler thread issuing request `i` at `start + i / rate` (sleeping
/// with the OS timer, finer than tokio's millisecond wheel) onto the
/// runtime, never more than `max_in_flight` outstanding. Returns the
/// scheduler's lag behind the schedule (how late requests were issued).
async fn open_loop(shared: &Arc<Shared>, rate: f64, max_in_flight: usize) -> Histogram<u64> {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let runtime = tokio::runtime::Handle::current();
    let scheduler = {
        let shared = Arc::clone(shared);
        let in_flight = Arc::clone(&in_flight);
        std::thread::Builder::new()
            .name("load-scheduler".into())
            .spawn(move || schedule(&shared, rate, max_in_flight, &in_flight, &runtime))
            .expect("spawn the scheduler thread")
    };
    // Wait for the scheduler, then for the requests still outstanding.
    let lag = loop {
        if scheduler.is_finished() {
            break scheduler.join().expect("scheduler thread panicked");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    while in_flight.load(Ordering::Acquire) > 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    lag
}

/// The scheduler loop of [`open_loop`] (runs on its own thread).
fn schedule(
    shared: &Arc<Shared>,
    rate: f64,
    max_in_flight: usize,
    in_flight: &Arc<AtomicUsize>,
    runtime: &tokio::runtime::Handle,
) -> Histogram<u64> {
    let mut lag = new_histogram();
    for index in 0u64.. {
        let intended = shared.start + intended_offset(index, rate);
        if !shared.may_send(intended) {
            break;
        }
        let now = Instant::now();
        if intended > now {
            std::thread::sleep(intended - now);
        }
        let issued = Instant::now();
        if intended >= shared.measure_from {
            record_latency(&mut lag, issued.saturating_duration_since(intended));
        }
        if in_flight.load(Ordering::Acquire) >= max_in_flight {
            if intended >= shared.measure_from {
                let kind = shared.plan.mix().kind_at(index);
                shared.lock().stats.drop_request(kind);
            }
            continue;
        }
        in_flight.fetch_add(1, Ordering::AcqRel);
        let shared = Arc::clone(shared);
        let in_flight = Arc::clone(in_flight);
        runtime.spawn(async move {
            shared.send_and_record(index, intended).await;
            in_flight.fetch_sub(1, Ordering::AcqRel);
        });
    }
    lag
}
