//! The event bus between allot replicas: one NATS JetStream stream.
//!
//! [`Bus::connect`] connects to NATS and creates (or updates) a stream,
//! `ALLOT` by default, that captures every subject under a prefix, `allot.>`
//! by default, on disk. [`Bus::publish`] sends a message under the prefix
//! with a message id and returns once JetStream has stored it: JetStream
//! keeps the ids it saw within the stream's duplicate window and acknowledges
//! a second message with a known id as a duplicate without storing it, so a
//! publish that failed or timed out can be retried with the same id safely.
//! [`Bus::follow`] yields, in order, every message stored under a filter
//! from the moment it is called; after a reconnect (or a gap, or a silent
//! server) it resumes after the last message it yielded, so a follower sees
//! each message once and in order across a server restart.
//!
//! Subjects given to this crate and taken from it are relative to the
//! prefix: publishing to `orders.created` stores `allot.orders.created`,
//! and a follower of `orders.>` yields it as `orders.created`.
//!
//! The connection reconnects in the background for as long as the [`Bus`]
//! lives; [`Bus::is_connected`] tells whether it is up now. While it is
//! down, publishes fail after the acknowledgement timeout and followers wait.

mod error;
mod follow;
mod subject;

pub use error::BusError;

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use async_nats::{ConnectOptions, Event};
use bytes::Bytes;
use futures::Stream;
use tokio::sync::watch;

/// How long a connection attempt (TCP and the NATS handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and how the bus connects, and the stream it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusConfig {
    /// The NATS server, `nats://host:port` (several may be given separated
    /// by commas).
    pub url: String,
    /// The JetStream stream's name. Default `ALLOT`.
    pub stream: String,
    /// The subject prefix: the stream captures `{prefix}.>` and every
    /// subject of this API is relative to it. Default `allot`.
    pub subjects_prefix: String,
    /// How long JetStream remembers a message id to recognise a duplicate.
    /// Default 2 minutes; at most `max_age`.
    pub duplicate_window: Duration,
    /// How long the stream keeps a message. Default 7 days.
    pub max_age: Duration,
    /// How long [`Bus::publish`] waits for JetStream's acknowledgement; it
    /// also bounds each JetStream API request (stream setup, follower
    /// creation). Default 2 seconds.
    pub ack_timeout: Duration,
}

impl BusConfig {
    /// The defaults with the given server URL.
    pub fn new(url: impl Into<String>) -> BusConfig {
        BusConfig {
            url: url.into(),
            ..BusConfig::default()
        }
    }

    /// Checks the names and durations JetStream would refuse or this crate
    /// could not honour.
    fn validate(&self) -> Result<(), BusError> {
        let invalid = |reason: String| Err(BusError::Config(reason));
        if self.url.trim().is_empty() {
            return invalid("the NATS url is empty".into());
        }
        if self.stream.is_empty()
            || self
                .stream
                .chars()
                .any(|c| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\'))
        {
            return invalid(format!(
                "stream name {:?}: must be non-empty, without whitespace, '.', '*', '>', '/' or '\\'",
                self.stream
            ));
        }
        subject::check(&self.subjects_prefix, false).or_else(|reason| {
            invalid(format!(
                "subjects prefix {:?}: {reason}",
                self.subjects_prefix
            ))
        })?;
        if self.max_age.is_zero() {
            return invalid("max_age must be positive".into());
        }
        if self.duplicate_window.is_zero() || self.duplicate_window > self.max_age {
            return invalid(format!(
                "duplicate_window {:?} must be positive and at most max_age {:?}",
                self.duplicate_window, self.max_age
            ));
        }
        if self.ack_timeout.is_zero() {
            return invalid("ack_timeout must be positive".into());
        }
        Ok(())
    }
}

impl Default for BusConfig {
    /// A local server (`nats://127.0.0.1:4222`), stream `ALLOT`, prefix
    /// `allot`, duplicate window 2 minutes, max age 7 days, ack timeout 2 s.
    fn default() -> BusConfig {
        BusConfig {
            url: "nats://127.0.0.1:4222".to_owned(),
            stream: "ALLOT".to_owned(),
            subjects_prefix: "allot".to_owned(),
            duplicate_window: Duration::from_secs(2 * 60),
            max_age: Duration::from_secs(7 * 24 * 60 * 60),
            ack_timeout: Duration::from_secs(2),
        }
    }
}

/// What JetStream said about a published message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// The message's sequence number in the stream (for a duplicate, the
    /// sequence of the message stored first with that id).
    pub sequence: u64,
    /// Whether a message with the same id was stored within the duplicate
    /// window, so this one was not stored again.
    pub duplicate: bool,
}

/// A message a follower yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusMessage {
    /// The subject without the prefix (`orders.created`).
    pub subject: String,
    /// The message id it was published with (empty when a publisher outside
    /// this crate set none).
    pub msg_id: String,
    /// The payload.
    pub payload: Bytes,
    /// Its sequence number in the stream: increasing along a follower, with
    /// gaps where other subjects' messages are.
    pub stream_sequence: u64,
}

/// A connection to the bus. Cloning is cheap and shares the connection.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

struct Inner {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    config: BusConfig,
    /// Counts the connections made (the first and each reconnect), so that
    /// followers know when to recreate their consumer.
    connections: watch::Receiver<u64>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("config", &self.inner.config)
            .field("connected", &self.is_connected())
            .finish()
    }
}

impl Bus {
    /// Connects (retrying in the background when the server is down later)
    /// and creates or updates the stream capturing "{prefix}.>" (file
    /// storage, duplicate window, max age).
    ///
    /// Fails when the configuration is invalid, when the server cannot be
    /// reached now ([`BusError::Connect`]), or when the stream cannot be set
    /// up, for example because JetStream is off or another stream already
    /// captures those subjects ([`BusError::StreamSetup`]).
    pub async fn connect(config: BusConfig) -> Result<Bus, BusError> {
        config.validate()?;
        let (connections_tx, connections) = watch::channel(0_u64);
        let connections_tx = Arc::new(connections_tx);
        let url = config.url.clone();
        let client = ConnectOptions::new()
            .name("allot")
            .connection_timeout(CONNECT_TIMEOUT)
            // Reconnect for as long as the bus lives (the default is to try
            // forever; said here because the followers rely on it).
            .max_reconnects(None)
            .event_callback(move |event| {
                let connections_tx = Arc::clone(&connections_tx);
                let url = url.clone();
                async move {
                    match event {
                        Event::Connected => {
                            connections_tx.send_modify(|n| *n += 1);
                            tracing::info!(url, "bus connected");
                        }
                        Event::Disconnected => {
                            tracing::warn!(url, "bus disconnected; reconnecting");
                        }
                        other => tracing::debug!(url, event = %other, "bus connection event"),
                    }
                }
            })
            .connect(config.url.as_str())
            .await
            .map_err(|source| BusError::Connect {
                url: config.url.clone(),
                source: Box::new(source),
            })?;
        let jetstream = jetstream::ContextBuilder::new()
            .timeout(config.ack_timeout)
            .build(client.clone());
        jetstream
            .create_or_update_stream(stream::Config {
                name: config.stream.clone(),
                subjects: vec![format!("{}.>", config.subjects_prefix)],
                storage: stream::StorageType::File,
                duplicate_window: config.duplicate_window,
                max_age: config.max_age,
                ..stream::Config::default()
            })
            .await
            .map_err(|source| BusError::StreamSetup {
                stream: config.stream.clone(),
                source: Box::new(source),
            })?;
        Ok(Bus {
            inner: Arc::new(Inner {
                client,
                jetstream,
                config,
                connections,
            }),
        })
    }

    /// Publishes to "{prefix}.{subject}" with the Nats-Msg-Id header
    /// `msg_id` and waits for JetStream's ack; a duplicate within the window
    /// is acked as a duplicate and is not stored twice (return
    /// Ok(Published{ sequence, duplicate })).
    ///
    /// Waits at most the configured ack timeout and then fails with
    /// [`BusError::PublishTimeout`]. A publish that failed may still have
    /// been stored (the acknowledgement may be what was lost): retry it with
    /// the same `msg_id` within the duplicate window.
    pub async fn publish(
        &self,
        subject: &str,
        msg_id: &str,
        payload: Bytes,
    ) -> Result<Published, BusError> {
        subject::check(subject, false).map_err(|reason| BusError::InvalidSubject {
            subject: subject.to_owned(),
            reason,
        })?;
        subject::check_msg_id(msg_id)?;
        let config = &self.inner.config;
        let full = format!("{}.{subject}", config.subjects_prefix);
        let message = jetstream::message::PublishMessage::build()
            .message_id(msg_id)
            .payload(payload);
        let publish = async {
            let ack = self
                .inner
                .jetstream
                .send_publish(full.clone(), message)
                .await?;
            ack.await
        };
        let timed_out = || BusError::PublishTimeout {
            subject: full.clone(),
            timeout: config.ack_timeout,
        };
        match tokio::time::timeout(config.ack_timeout, publish).await {
            Err(_) => Err(timed_out()),
            Ok(Err(err)) if err.kind() == jetstream::context::PublishErrorKind::TimedOut => {
                Err(timed_out())
            }
            Ok(Err(err)) => Err(BusError::Publish {
                subject: full.clone(),
                source: Box::new(err),
            }),
            Ok(Ok(ack)) => Ok(Published {
                sequence: ack.sequence,
                duplicate: ack.duplicate,
            }),
        }
    }

    /// Follows the messages on "{prefix}.{filter}" published from now on
    /// (an ordered consumer, DeliverPolicy::New, recreated after a
    /// reconnect), as a Stream of BusMessage { subject (without the prefix),
    /// msg_id, payload, stream_sequence }.
    ///
    /// The filter may end in `>` (any further tokens) and have `*` tokens
    /// (one token each). Every message stored under the filter after this
    /// call returns is yielded once, in stream order: the consumer is an
    /// ephemeral, unacknowledged, in-memory JetStream consumer; after a
    /// reconnect, a gap in its sequence, a failed pull or a silent server
    /// it is recreated to start after the last message yielded. The stream
    /// never ends; problems while following are logged and retried. Fails
    /// only when the first consumer cannot be created.
    pub async fn follow(
        &self,
        filter: &str,
    ) -> Result<impl Stream<Item = BusMessage> + Send + Unpin + 'static, BusError> {
        subject::check(filter, true).map_err(|reason| BusError::InvalidSubject {
            subject: filter.to_owned(),
            reason,
        })?;
        let follower = follow::Follower::start(
            self.inner.jetstream.clone(),
            self.inner.config.stream.clone(),
            &self.inner.config.subjects_prefix,
            filter,
            self.inner.connections.clone(),
        )
        .await?;
        Ok(follower.into_stream())
    }

    /// Whether the connection is up now (for health and metrics).
    pub fn is_connected(&self) -> bool {
        self.inner.client.connection_state() == async_nats::connection::State::Connected
    }

    /// The configuration the bus was connected with.
    pub fn config(&self) -> &BusConfig {
        &self.inner.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        let config = BusConfig::new("nats://127.0.0.1:4222");
        assert_eq!(config, BusConfig::default());
        config.validate().unwrap();
    }

    #[test]
    fn invalid_configurations_are_refused() {
        let bad = [
            BusConfig {
                stream: "A.B".into(),
                ..BusConfig::default()
            },
            BusConfig {
                stream: String::new(),
                ..BusConfig::default()
            },
            BusConfig {
                subjects_prefix: "allot.>".into(),
                ..BusConfig::default()
            },
            BusConfig {
                subjects_prefix: "a..b".into(),
                ..BusConfig::default()
            },
            BusConfig {
                duplicate_window: Duration::from_secs(3600),
                max_age: Duration::from_secs(60),
                ..BusConfig::default()
            },
            BusConfig {
                duplicate_window: Duration::ZERO,
                ..BusConfig::default()
            },
            BusConfig {
                ack_timeout: Duration::ZERO,
                ..BusConfig::default()
            },
            BusConfig::new(" "),
        ];
        for config in bad {
            assert!(
                matches!(config.validate(), Err(BusError::Config(_))),
                "{config:?}"
            );
        }
        BusConfig {
            subjects_prefix: "allot.eu-west".into(),
            ..BusConfig::default()
        }
        .validate()
        .unwrap();
    }
}
