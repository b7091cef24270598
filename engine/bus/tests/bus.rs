//! The bus against a real nats-server (allot-throwaway): the stream's
//! settings, a round trip, de-duplication by message id, order, and a
//! server stopped, killed and started again under a publisher and a
//! follower. Waits are bounded and fail with what was awaited; nothing
//! asserts how long anything took.

use std::future::Future;
use std::time::Duration;

use allot_bus::{Bus, BusConfig, BusError, BusMessage, Published};
use allot_throwaway::Nats;
use bytes::Bytes;
use futures::{Stream, StreamExt};

/// The longest any awaited event may take before the test fails.
const WAIT: Duration = Duration::from_secs(60);

async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(WAIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: still waiting after {WAIT:?}"),
    }
}

async fn next(follower: &mut (impl Stream<Item = BusMessage> + Unpin), what: &str) -> BusMessage {
    within(what, follower.next())
        .await
        .expect("a follower never ends")
}

/// Publishes until it succeeds (the client may still be reconnecting).
async fn publish_until_stored(bus: &Bus, subject: &str, msg_id: &str) -> Published {
    within(&format!("publishing {msg_id}"), async {
        loop {
            match bus.publish(subject, msg_id, payload(msg_id)).await {
                Ok(published) => return published,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    })
    .await
}

fn payload(text: &str) -> Bytes {
    Bytes::from(text.to_owned())
}

async fn connect(nats: &Nats) -> Bus {
    Bus::connect(BusConfig::new(nats.url()))
        .await
        .expect("connecting to the throwaway nats-server")
}

#[tokio::test]
async fn the_stream_is_created_then_updated_with_the_settings() {
    let nats = Nats::start().unwrap();
    let bus = connect(&nats).await;
    assert!(bus.is_connected());

    let client = async_nats::connect(nats.url()).await.unwrap();
    let jetstream = async_nats::jetstream::new(client);
    let mut stream = jetstream.get_stream("ALLOT").await.unwrap();
    let config = stream.info().await.unwrap().config.clone();
    assert_eq!(config.subjects, ["allot.>"]);
    assert_eq!(
        config.storage,
        async_nats::jetstream::stream::StorageType::File
    );
    assert_eq!(config.duplicate_window, Duration::from_secs(120));
    assert_eq!(config.max_age, Duration::from_secs(7 * 24 * 3600));

    // A second replica with other settings updates the same stream.
    let _other = Bus::connect(BusConfig {
        max_age: Duration::from_secs(24 * 3600),
        duplicate_window: Duration::from_secs(30),
        ..BusConfig::new(nats.url())
    })
    .await
    .unwrap();
    let config = stream.info().await.unwrap().config.clone();
    assert_eq!(config.max_age, Duration::from_secs(24 * 3600));
    assert_eq!(config.duplicate_window, Duration::from_secs(30));
}

#[tokio::test]
async fn a_published_message_reaches_a_follower() {
    let nats = Nats::start().unwrap();
    let bus = connect(&nats).await;
    let mut follower = bus.follow("orders.>").await.unwrap();
    let published = bus
        .publish("orders.created", "order-1", payload("hello"))
        .await
        .unwrap();
    assert!(!published.duplicate);
    assert_eq!(
        next(&mut follower, "the message").await,
        BusMessage {
            subject: "orders.created".into(),
            msg_id: "order-1".into(),
            payload: payload("hello"),
            stream_sequence: published.sequence,
        }
    );
}

#[tokio::test]
async fn the_same_message_id_twice_is_stored_once() {
    let nats = Nats::start().unwrap();
    let bus = connect(&nats).await;
    let mut follower = bus.follow(">").await.unwrap();

    let first = bus
        .publish("holds", "hold-7", payload("first"))
        .await
        .unwrap();
    let again = bus
        .publish("holds", "hold-7", payload("again"))
        .await
        .unwrap();
    assert_eq!(
        again,
        Published {
            sequence: first.sequence,
            duplicate: true
        }
    );
    // Another replica (its own connection) publishing the same id.
    let replica = connect(&nats).await;
    let elsewhere = replica
        .publish("holds", "hold-7", payload("elsewhere"))
        .await
        .unwrap();
    assert_eq!(elsewhere, again);
    let other = bus
        .publish("holds", "hold-8", payload("other"))
        .await
        .unwrap();
    assert!(!other.duplicate);
    assert!(other.sequence > first.sequence);

    let got = next(&mut follower, "the first message").await;
    assert_eq!(
        (got.msg_id.as_str(), got.payload),
        ("hold-7", payload("first"))
    );
    let got = next(&mut follower, "the second message").await;
    assert_eq!(got.msg_id, "hold-8", "the duplicates were not stored");
}

#[tokio::test]
async fn a_follower_gets_every_message_of_its_filter_in_order() {
    let nats = Nats::start().unwrap();
    let bus = connect(&nats).await;
    bus.publish("orders.old", "before", payload("before"))
        .await
        .unwrap();
    let mut orders = bus.follow("orders.>").await.unwrap();
    let mut everything = bus.follow(">").await.unwrap();
    let mut created = bus.follow("*.created").await.unwrap();

    let count = 300;
    for i in 0..count {
        let subject = if i % 2 == 0 {
            "orders.created"
        } else {
            "stock.changed"
        };
        bus.publish(subject, &format!("m{i}"), payload(&i.to_string()))
            .await
            .unwrap();
    }

    let mut last = 0;
    for i in 0..count {
        let message = next(&mut everything, &format!("message {i} of >")).await;
        assert_eq!(message.msg_id, format!("m{i}"));
        assert!(message.stream_sequence > last);
        last = message.stream_sequence;
    }
    for i in (0..count).step_by(2) {
        let message = next(&mut orders, &format!("message {i} of orders.>")).await;
        assert_eq!(
            (message.subject.as_str(), message.msg_id),
            ("orders.created", format!("m{i}")),
            "nothing from before the follower started, nothing of another subject"
        );
        let message = next(&mut created, &format!("message {i} of *.created")).await;
        assert_eq!(message.msg_id, format!("m{i}"));
    }
}

#[tokio::test]
async fn invalid_subjects_and_ids_are_refused() {
    let nats = Nats::start().unwrap();
    let bus = connect(&nats).await;
    for subject in ["", "a.*", "a.>", "a..b", "a b"] {
        let err = bus.publish(subject, "id", payload("x")).await.unwrap_err();
        assert!(matches!(err, BusError::InvalidSubject { .. }), "{err}");
    }
    let err = bus.publish("a", "", payload("x")).await.unwrap_err();
    assert!(matches!(err, BusError::InvalidMsgId { .. }), "{err}");
    assert!(matches!(
        bus.follow("a.>.b").await.err(),
        Some(BusError::InvalidSubject { .. })
    ));
}

#[tokio::test]
async fn connecting_to_no_server_fails() {
    let port = allot_throwaway::free_port().unwrap();
    let err = Bus::connect(BusConfig::new(format!("nats://127.0.0.1:{port}")))
        .await
        .unwrap_err();
    assert!(matches!(err, BusError::Connect { .. }), "{err}");
    assert!(err.to_string().contains(&port.to_string()), "{err}");
}

/// Receives until the message with id `until`, and returns the ids seen.
async fn receive_until(
    follower: &mut (impl Stream<Item = BusMessage> + Unpin),
    until: &str,
) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let message = next(follower, &format!("message {until}")).await;
        seen.push(message.msg_id);
        if seen.last().is_some_and(|id| id == until) {
            return seen;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_and_following_go_on_after_the_server_restarts() {
    let mut nats = Nats::start().unwrap();
    let bus = Bus::connect(BusConfig {
        ack_timeout: Duration::from_millis(500),
        ..BusConfig::new(nats.url())
    })
    .await
    .unwrap();
    let mut follower = bus.follow("events.>").await.unwrap();
    bus.publish("events.a", "a", payload("a")).await.unwrap();
    assert_eq!(next(&mut follower, "a").await.msg_id, "a");

    tokio::task::block_in_place(|| nats.stop()).unwrap();
    within("the bus noticing the server is gone", async {
        while bus.is_connected() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    // While it is down a publish fails (after the ack timeout) rather than
    // hang. The client keeps the message and sends it once reconnected, so
    // it may be stored after all: the follower may yield it below.
    let err = within(
        "a publish while the server is down",
        bus.publish("events.b", "b", payload("b")),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            BusError::PublishTimeout { .. } | BusError::Publish { .. }
        ),
        "{err}"
    );

    tokio::task::block_in_place(|| nats.start_again()).unwrap();
    publish_until_stored(&bus, "events.c", "c").await;
    assert!(bus.is_connected());
    let seen = receive_until(&mut follower, "c").await;
    assert!(seen == ["c"] || seen == ["b", "c"], "{seen:?}");

    // A crash (SIGKILL) of the server, the same way.
    tokio::task::block_in_place(|| nats.kill()).unwrap();
    tokio::task::block_in_place(|| nats.start_again()).unwrap();
    publish_until_stored(&bus, "events.d", "d").await;
    assert_eq!(receive_until(&mut follower, "d").await, ["d"]);
    bus.publish("events.e", "e", payload("e")).await.unwrap();
    assert_eq!(next(&mut follower, "e").await.msg_id, "e");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_that_saw_nothing_yet_resumes_where_it_started() {
    let mut nats = Nats::start().unwrap();
    let bus = connect(&nats).await;
    bus.publish("events.old", "old-1", payload("1"))
        .await
        .unwrap();
    bus.publish("events.old", "old-2", payload("2"))
        .await
        .unwrap();
    let mut follower = bus.follow("events.>").await.unwrap();

    tokio::task::block_in_place(|| nats.stop()).unwrap();
    tokio::task::block_in_place(|| nats.start_again()).unwrap();
    publish_until_stored(&bus, "events.new", "new").await;
    assert_eq!(
        next(&mut follower, "new").await.msg_id,
        "new",
        "the messages stored before the follower started are not yielded"
    );
}
