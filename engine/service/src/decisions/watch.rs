//! WatchDecisions: stored history, then live events, with no gap and no
//! repeat across the switch.
//!
//! The watcher subscribes to the live feed first, then reads the stored
//! events after its resume point page by page, then takes live events,
//! skipping those at or below the last position it has passed. Every live
//! event was committed before it was published, so an event published
//! before the subscription is in the store, and one published after it is
//! in the subscription.

use std::collections::HashSet;
use std::sync::Arc;

use allot_engine::decisions::StoredEvent;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, watch as signal};

use crate::error::{Code, ServiceError};
use crate::sink::{DecisionSink, EventKind};

/// Stored events read per page while catching up.
const PAGE: usize = 256;
/// Events buffered between the watcher task and the gRPC stream.
const STREAM_BUFFER: usize = 64;
/// Times a watcher re-subscribes when the live feed overran it while it was
/// still reading history (not the client's fault).
const CATCH_UP_RETRIES: u32 = 3;

/// The events of one watch, in position order; an error ends it.
pub type EventStream = mpsc::Receiver<Result<StoredEvent, ServiceError>>;

/// What ends a watch besides its client: the server shutting down (`stop`
/// turns true; the stream ends with UNAVAILABLE), or the client taking no
/// event for `stall` while one waits for it (the watch just ends: a client
/// that reads again finds the events it had not taken, then the end).
#[derive(Debug, Clone)]
pub struct Ends {
    /// Turns true when the server shuts down.
    pub stop: signal::Receiver<bool>,
    /// How long an event may wait for the client to take it.
    pub stall: Duration,
}

/// Starts a watch from `from_position` (`None`: from now on; 0: from the
/// oldest retained event) of the events whose kind is in `wanted` (every
/// kind when empty), until one of `ends`.
pub async fn watch(
    recorder: Arc<dyn DecisionSink>,
    from_position: Option<u64>,
    wanted: HashSet<EventKind>,
    ends: Ends,
) -> Result<EventStream, ServiceError> {
    let wanted: HashSet<i32> = wanted.into_iter().map(EventKind::code).collect();
    let live = recorder.subscribe();
    let reader = recorder.clone();
    let bounds = tokio::task::spawn_blocking(move || reader.bounds())
        .await
        .map_err(|e| ServiceError::internal(format!("reading the decision log: {e}")))??;
    let start = match from_position {
        None => bounds.latest,
        Some(0) => 0,
        Some(n) => {
            // Resuming from `first` reads the oldest retained event next.
            let first = bounds.oldest.map_or(bounds.latest, |o| o - 1);
            if n < first || n > bounds.latest {
                return Err(ServiceError::new(
                    Code::OutOfRange,
                    format!(
                        "from_position: {n} is outside the retained feed: resume from a position in \
                     {first}..={} (oldest retained event {}, latest {}), or from 0 for the oldest",
                        bounds.latest,
                        bounds
                            .oldest
                            .map_or_else(|| "none".to_string(), |o| o.to_string()),
                        bounds.latest,
                    ),
                ));
            }
            n
        }
    };
    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
    let watcher = Watcher {
        recorder,
        wanted,
        tx,
        stop: ends.stop,
        stall: ends.stall,
        last: start,
    };
    tokio::spawn(watcher.run(live));
    Ok(rx)
}

struct Watcher {
    recorder: Arc<dyn DecisionSink>,
    wanted: HashSet<i32>,
    tx: mpsc::Sender<Result<StoredEvent, ServiceError>>,
    stop: signal::Receiver<bool>,
    stall: Duration,
    /// The last position passed (sent or filtered out).
    last: u64,
}

/// What to do after an attempt to deliver.
enum Next {
    Go,
    End,
}

/// Completes when the server shuts down (or can no longer say).
async fn stopped(stop: &mut signal::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

fn shutting_down() -> ServiceError {
    ServiceError::unavailable("allot is shutting down; reconnect with the last received position")
}

impl Watcher {
    async fn run(mut self, live: broadcast::Receiver<StoredEvent>) {
        let mut live = Some(live);
        let mut retries = 0;
        loop {
            let mut receiver = live.take().unwrap_or_else(|| self.recorder.subscribe());
            if let Next::End = self.catch_up().await {
                return;
            }
            let mut passed_live = false;
            loop {
                let received = tokio::select! {
                    biased;
                    () = stopped(&mut self.stop) => {
                        let _ = self.tx.send(Err(shutting_down())).await;
                        return;
                    }
                    () = self.tx.closed() => return,
                    received = receiver.recv() => received,
                };
                match received {
                    Ok(event) => {
                        if event.position <= self.last {
                            continue;
                        }
                        passed_live = true;
                        if let Next::End = self.pass(event).await {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_))
                        if !passed_live && retries < CATCH_UP_RETRIES =>
                    {
                        retries += 1;
                        break;
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        metrics::counter!("allot_decisions_watchers_dropped_total").increment(1);
                        let _ = self
                            .tx
                            .send(Err(ServiceError::exhausted(format!(
                                "this watcher fell {missed} events further behind than the server's buffer \
                                 (decisions.watch_buffer); reconnect with from_position = {}",
                                self.last
                            ))))
                            .await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        let _ = self.tx.send(Err(shutting_down())).await;
                        return;
                    }
                }
            }
        }
    }

    /// Sends the stored events after `last`.
    async fn catch_up(&mut self) -> Next {
        loop {
            let recorder = self.recorder.clone();
            let after = self.last;
            let page = match tokio::task::spawn_blocking(move || recorder.events_after(after, PAGE))
                .await
            {
                Ok(Ok(page)) => page,
                Ok(Err(status)) => {
                    let _ = self.tx.send(Err(status)).await;
                    return Next::End;
                }
                Err(e) => {
                    let status = ServiceError::internal(format!("reading the decision log: {e}"));
                    let _ = self.tx.send(Err(status)).await;
                    return Next::End;
                }
            };
            if page.is_empty() {
                return Next::Go;
            }
            for event in page {
                if let Next::End = self.pass(event).await {
                    return Next::End;
                }
            }
        }
    }

    /// Moves past `event`, sending it when its kind is wanted.
    async fn pass(&mut self, event: StoredEvent) -> Next {
        self.last = event.position;
        if !self.wanted.is_empty() && !self.wanted.contains(&event.kind) {
            return Next::Go;
        }
        tokio::select! {
            biased;
            () = stopped(&mut self.stop) => {
                let _ = self.tx.try_send(Err(shutting_down()));
                Next::End
            }
            sent = self.tx.send(Ok(event)) => match sent {
                Ok(()) => Next::Go,
                Err(_) => Next::End,
            },
            () = tokio::time::sleep(self.stall) => {
                tracing::info!(
                    position = self.last,
                    stall_ms = self.stall.as_millis() as u64,
                    "a watcher's client stopped taking events: the watch ends"
                );
                Next::End
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DecisionsConfig;
    use crate::id::DecisionId;
    use crate::sink::LogSink;
    use allot_engine::decisions::NewEvent;

    fn recorder(dir: &std::path::Path, watch_buffer: usize) -> Arc<dyn DecisionSink> {
        let config = DecisionsConfig {
            dir: dir.to_path_buf(),
            max_batch: 7,
            watch_buffer,
            ..DecisionsConfig::default()
        };
        Arc::new(LogSink::open(&config).unwrap())
    }

    fn ends(stop: signal::Receiver<bool>) -> Ends {
        Ends {
            stop,
            stall: Duration::from_secs(30),
        }
    }

    fn event(i: usize) -> NewEvent {
        NewEvent {
            kind: EventKind::RiskScored.code(),
            decision_id: DecisionId::mint().into(),
            order_id: format!("o-{i}"),
            reservation_id: String::new(),
            summary: String::new(),
            caller: String::new(),
        }
    }

    async fn positions(stream: &mut EventStream, n: usize) -> Vec<u64> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            out.push(stream.recv().await.unwrap().unwrap().position);
        }
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn watchers_started_during_writes_see_every_event_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        let recorder = recorder(dir.path(), 4096);
        for i in 0..300 {
            recorder.event(event(i)).unwrap();
        }
        let producer = {
            let recorder = recorder.clone();
            std::thread::spawn(move || {
                for i in 300..3000 {
                    recorder.event(event(i)).unwrap();
                    if i % 100 == 0 {
                        std::thread::yield_now();
                    }
                }
            })
        };
        let (_stop, stop) = signal::channel(false);
        // Watchers join at different moments of the writes, each switching
        // from history to live events at a different point.
        let mut watchers = Vec::new();
        for k in 0..8u64 {
            let from = k * 100;
            let mut stream = watch(
                recorder.clone(),
                Some(from),
                HashSet::new(),
                ends(stop.clone()),
            )
            .await
            .unwrap();
            assert_eq!(
                positions(&mut stream, 100).await,
                (from + 1..=from + 100).collect::<Vec<_>>()
            );
            watchers.push((from + 100, stream));
        }
        for (after, mut stream) in watchers {
            let rest = usize::try_from(3000 - after).unwrap();
            assert_eq!(
                positions(&mut stream, rest).await,
                (after + 1..=3000).collect::<Vec<_>>(),
                "the watcher that had read up to {after}"
            );
        }
        producer.join().unwrap();
        recorder.close();
    }

    #[tokio::test]
    async fn a_watcher_that_falls_behind_its_buffer_is_told_where_to_resume() {
        let dir = tempfile::tempdir().unwrap();
        let recorder = recorder(dir.path(), 4);
        let (_stop, stop) = signal::channel(false);
        let mut stream = watch(recorder.clone(), None, HashSet::new(), ends(stop))
            .await
            .unwrap();
        recorder.event(event(0)).unwrap();
        assert_eq!(positions(&mut stream, 1).await, [1]);
        // Not read while 500 more happen: far more than the buffer of 4 plus
        // the stream's own.
        for i in 1..=500 {
            recorder.event(event(i)).unwrap();
        }
        let mut last = 1;
        let status = loop {
            match stream.recv().await {
                Some(Ok(event)) => {
                    assert_eq!(event.position, last + 1, "no gap before the error");
                    last = event.position;
                }
                Some(Err(status)) => break status,
                None => panic!("the stream ended without an error"),
            }
        };
        assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
        assert!(
            status
                .to_string()
                .contains(&format!("from_position = {last}")),
            "{status}"
        );
        recorder.close();
    }

    #[tokio::test]
    async fn a_watch_whose_client_stops_taking_events_ends() {
        let dir = tempfile::tempdir().unwrap();
        let recorder = recorder(dir.path(), 4096);
        for i in 0..200 {
            recorder.event(event(i)).unwrap();
        }
        let (_stop, stop) = signal::channel(false);
        let ends = Ends {
            stop,
            stall: Duration::from_millis(100),
        };
        let mut stream = watch(recorder.clone(), Some(0), HashSet::new(), ends)
            .await
            .unwrap();
        // Not read: the stream's buffer fills, the next event waits, and the
        // watcher gives up on it.
        let waited = std::time::Instant::now();
        while !stream.is_closed() {
            assert!(
                waited.elapsed() < Duration::from_secs(30),
                "the stalled watch did not end"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let buffered = positions(&mut stream, STREAM_BUFFER).await;
        assert_eq!(buffered, (1..=STREAM_BUFFER as u64).collect::<Vec<_>>());
        assert!(stream.recv().await.is_none(), "then the stream ends");
        recorder.close();
    }
}
