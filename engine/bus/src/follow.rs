//! A follower: an ordered view of the stream under a filter that survives
//! reconnects.
//!
//! The JetStream consumer behind it is ephemeral, in memory on the server
//! and unacknowledged, so a server restart loses it and a lost pull batch is
//! never redelivered. The follower therefore keeps its own place: the stream
//! sequence of the last message it yielded, and the consumer sequence of the
//! last message it received. A message whose consumer sequence is not the
//! next one shows a gap; a reconnect, a failed pull, a silent server (no
//! idle heartbeat) or a stream of messages that ended show a consumer that
//! may be gone. In each case the consumer is deleted (when it can be) and
//! created again to start right after the last message yielded. The client
//! library has an ordered consumer of its own, but it restarts from the
//! beginning of the stream when it is recreated before its first message,
//! and notices a restarted server only after two missed heartbeats.

use std::time::Duration;

use async_nats::header::NATS_MESSAGE_ID;
use async_nats::jetstream::consumer::{self, AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::{self, Context};
use futures::{Stream, StreamExt};
use tokio::sync::watch;

use crate::{BusError, BusMessage};

/// How many messages one pull asks for.
const BATCH: usize = 256;
/// How long one pull waits on the server before a new one is sent.
const PULL_EXPIRES: Duration = Duration::from_secs(30);
/// How often the server says it is there while a pull waits with no
/// messages; two missed in a row make the follower recreate its consumer.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// How long the server keeps a consumer nobody pulls from (a follower that
/// was dropped without a runtime to delete it, or whose process died).
const INACTIVE_THRESHOLD: Duration = Duration::from_secs(60);
/// The first and the longest pause between attempts after a failure.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(2);

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The state of one follower; see the module's documentation.
pub(crate) struct Follower {
    jetstream: Context,
    stream: String,
    /// The full filter subject (with the prefix).
    filter: String,
    /// `{prefix}.`, cut from the subjects yielded.
    prefix_dot: String,
    /// Changes on every (re)connection; `None` once the client is gone.
    connections: Option<watch::Receiver<u64>>,
    /// The stream sequence of the last message yielded, or of the last
    /// message stored before the follower started.
    last_sequence: u64,
    /// The consumer sequence of the last message the current consumer
    /// delivered.
    consumer_sequence: u64,
    /// The current consumer's name, to delete it when it is replaced.
    consumer_name: Option<String>,
    messages: Option<pull::Stream>,
    /// Failures since the last message; the pause before the next attempt
    /// doubles with each.
    failures: u32,
}

/// What woke a follower up.
#[allow(clippy::large_enum_variant)] // one at a time, on the stack, moved once
enum Wake {
    /// The connection was made again (`false`: the client is gone).
    Reconnected(bool),
    /// The consumer delivered something, failed, or ended.
    Delivered(Option<Result<jetstream::Message, pull::MessagesError>>),
}

impl Follower {
    /// Creates the first consumer, delivering what is stored from now on.
    pub(crate) async fn start(
        jetstream: Context,
        stream: String,
        prefix: &str,
        filter: &str,
        mut connections: watch::Receiver<u64>,
    ) -> Result<Follower, BusError> {
        connections.borrow_and_update();
        let mut follower = Follower {
            jetstream,
            stream,
            filter: format!("{prefix}.{filter}"),
            prefix_dot: format!("{prefix}."),
            connections: Some(connections),
            last_sequence: 0,
            consumer_sequence: 0,
            consumer_name: None,
            messages: None,
            failures: 0,
        };
        if let Err(source) = follower.open(DeliverPolicy::New).await {
            return Err(BusError::Follow {
                filter: follower.filter.clone(),
                stream: follower.stream.clone(),
                source,
            });
        }
        Ok(follower)
    }

    /// The messages, as a stream that never ends.
    pub(crate) fn into_stream(self) -> impl Stream<Item = BusMessage> + Send + Unpin + 'static {
        futures::stream::unfold(self, |mut follower| async move {
            let message = follower.next_message().await;
            Some((message, follower))
        })
        .boxed()
    }

    /// Replaces the consumer with one delivering from `deliver_policy`.
    async fn open(&mut self, deliver_policy: DeliverPolicy) -> Result<(), Source> {
        self.messages = None;
        if let Some(old) = self.consumer_name.take() {
            // After a server restart it is gone already; otherwise the
            // server would drop it once inactive anyway.
            if let Err(err) = self
                .jetstream
                .delete_consumer_from_stream(&old, &self.stream)
                .await
            {
                tracing::debug!(consumer = old, error = %err, "bus follower: old consumer not deleted");
            }
        }
        let first = matches!(deliver_policy, DeliverPolicy::New);
        let consumer: consumer::PullConsumer = self
            .jetstream
            .create_consumer_on_stream(
                pull::Config {
                    deliver_policy,
                    ack_policy: AckPolicy::None,
                    filter_subject: self.filter.clone(),
                    inactive_threshold: INACTIVE_THRESHOLD,
                    memory_storage: true,
                    num_replicas: 1,
                    ..pull::Config::default()
                },
                &self.stream,
            )
            .await?;
        let info = consumer.cached_info();
        self.consumer_name = Some(info.name.clone());
        if first {
            // A new consumer delivering only new messages reports the last
            // stored message as delivered: where a recreated consumer must
            // start after, should it be recreated before its first message.
            self.last_sequence = info.delivered.stream_sequence;
        }
        self.consumer_sequence = 0;
        let messages = consumer
            .stream()
            .max_messages_per_batch(BATCH)
            .expires(PULL_EXPIRES)
            .heartbeat(HEARTBEAT)
            .messages()
            .await?;
        self.messages = Some(messages);
        Ok(())
    }

    /// Waits for the next message to yield, recreating the consumer as
    /// often as needed.
    async fn next_message(&mut self) -> BusMessage {
        loop {
            let Some(messages) = self.messages.as_mut() else {
                self.reopen().await;
                continue;
            };
            let connections = &mut self.connections;
            let wake = tokio::select! {
                changed = async {
                    match connections {
                        Some(connections) => connections.changed().await.is_ok(),
                        None => std::future::pending().await,
                    }
                } => Wake::Reconnected(changed),
                item = messages.next() => Wake::Delivered(item),
            };
            match wake {
                Wake::Reconnected(true) => {
                    tracing::debug!(
                        filter = self.filter,
                        "bus follower: reconnected, recreating its consumer"
                    );
                    self.messages = None;
                }
                Wake::Reconnected(false) => self.connections = None,
                Wake::Delivered(Some(Ok(message))) => {
                    if let Some(message) = self.accept(message) {
                        return message;
                    }
                }
                Wake::Delivered(Some(Err(err))) => {
                    tracing::warn!(filter = self.filter, error = %err, "bus follower: pull failed, recreating its consumer");
                    self.failures += 1;
                    self.messages = None;
                }
                Wake::Delivered(None) => {
                    tracing::warn!(
                        filter = self.filter,
                        "bus follower: the consumer's messages ended, recreating it"
                    );
                    self.failures += 1;
                    self.messages = None;
                }
            }
        }
    }

    /// Recreates the consumer after the last message yielded, after a pause
    /// when the last attempts failed.
    async fn reopen(&mut self) {
        if self.failures > 0 {
            tokio::time::sleep(retry_pause(self.failures)).await;
        }
        if let Some(connections) = self.connections.as_mut() {
            connections.borrow_and_update();
        }
        let start_sequence = self.last_sequence + 1;
        match self
            .open(DeliverPolicy::ByStartSequence { start_sequence })
            .await
        {
            Ok(()) => {
                tracing::debug!(
                    filter = self.filter,
                    start_sequence,
                    "bus follower: consumer recreated"
                );
            }
            Err(err) => {
                self.failures += 1;
                tracing::warn!(filter = self.filter, error = %err, "bus follower: cannot recreate its consumer; retrying");
            }
        }
    }

    /// The message to yield, or `None` when it is not the next one (a gap:
    /// the consumer is to be recreated) or was yielded already.
    fn accept(&mut self, message: jetstream::Message) -> Option<BusMessage> {
        let (stream_sequence, consumer_sequence) = match message.info() {
            Ok(info) => (info.stream_sequence, info.consumer_sequence),
            Err(err) => {
                tracing::warn!(filter = self.filter, error = %err, "bus follower: a message without JetStream metadata, recreating its consumer");
                self.failures += 1;
                self.messages = None;
                return None;
            }
        };
        if consumer_sequence != self.consumer_sequence + 1 {
            tracing::debug!(
                filter = self.filter,
                expected = self.consumer_sequence + 1,
                got = consumer_sequence,
                "bus follower: gap in the consumer's sequence, recreating it"
            );
            self.messages = None;
            return None;
        }
        self.consumer_sequence = consumer_sequence;
        if stream_sequence <= self.last_sequence {
            return None;
        }
        self.last_sequence = stream_sequence;
        self.failures = 0;
        let message = message.message;
        let subject = message.subject.as_str();
        Some(BusMessage {
            subject: subject
                .strip_prefix(&self.prefix_dot)
                .unwrap_or(subject)
                .to_owned(),
            msg_id: message
                .headers
                .as_ref()
                .and_then(|headers| headers.get(NATS_MESSAGE_ID))
                .map(|id| id.as_str().to_owned())
                .unwrap_or_default(),
            payload: message.payload,
            stream_sequence,
        })
    }
}

impl Drop for Follower {
    /// Deletes the consumer on the server when a runtime is there to do it;
    /// otherwise the server drops it after [`INACTIVE_THRESHOLD`].
    fn drop(&mut self) {
        let (Some(name), Ok(runtime)) = (
            self.consumer_name.take(),
            tokio::runtime::Handle::try_current(),
        ) else {
            return;
        };
        let jetstream = self.jetstream.clone();
        let stream = std::mem::take(&mut self.stream);
        runtime.spawn(async move {
            let _ = jetstream.delete_consumer_from_stream(&name, &stream).await;
        });
    }
}

/// The pause before the next attempt after `failures` failures in a row:
/// 100 ms, doubling, at most 2 s.
fn retry_pause(failures: u32) -> Duration {
    RETRY_FIRST
        .saturating_mul(1 << failures.saturating_sub(1).min(8))
        .min(RETRY_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_doubles_up_to_its_cap() {
        assert_eq!(retry_pause(1), Duration::from_millis(100));
        assert_eq!(retry_pause(2), Duration::from_millis(200));
        assert_eq!(retry_pause(5), Duration::from_millis(1600));
        assert_eq!(retry_pause(6), RETRY_MAX);
        assert_eq!(retry_pause(u32::MAX), RETRY_MAX);
    }
}
