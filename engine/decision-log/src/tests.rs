//! The decision log's guarantees: positions, shedding, retention, flush.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::*;

fn config(dir: &std::path::Path) -> LogConfig {
    LogConfig {
        dir: dir.to_path_buf(),
        queue_capacity: 1024,
        max_batch: 4,
        durability: Durability::Immediate,
        commit_interval: Duration::from_millis(2),
        retention: Duration::from_secs(30 * 86_400),
        prune_every: Duration::from_secs(3600),
    }
}

fn event(kind: i32, order: &str) -> NewEvent {
    NewEvent {
        kind,
        decision_id: format!("dec_{}", ulid::Ulid::new()),
        order_id: order.into(),
        reservation_id: String::new(),
        summary: format!("order {order}"),
        caller: String::new(),
    }
}

/// A log whose published events are collected.
fn collecting(config: &LogConfig) -> (DecisionLog, Arc<Mutex<Vec<StoredEvent>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let log = DecisionLog::open(
        config,
        Box::new(move |events| sink.lock().unwrap().extend_from_slice(events)),
    )
    .unwrap();
    (log, seen)
}

#[test]
fn positions_increase_strictly_across_batches_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let mut orders = Vec::new();
    for round in 0..3 {
        let (log, published) = collecting(&config);
        for i in 0..10 {
            let order = format!("o-{round}-{i}");
            // Every other entry carries a record too; some carry no event.
            let record = (i % 2 == 0).then(|| NewRecord {
                key: u128::from(ulid::Ulid::new()),
                bytes: order.as_bytes().to_vec(),
            });
            log.submit(record, Some(event(1, &order))).unwrap();
            orders.push(order);
            if i == 5 {
                log.submit(
                    Some(NewRecord {
                        key: u128::from(ulid::Ulid::new()),
                        bytes: vec![1],
                    }),
                    None,
                )
                .unwrap();
            }
        }
        log.close();
        let published = published.lock().unwrap().clone();
        assert_eq!(published.len(), 10, "every event published once");
        let first = round * 10 + 1;
        let positions: Vec<u64> = published.iter().map(|e| e.position).collect();
        assert_eq!(positions, (first..first + 10).collect::<Vec<_>>());
    }
    let store = DecisionStore::open(dir.path()).unwrap();
    let stored = store.events_after(0, 1000).unwrap();
    assert_eq!(
        stored.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=30).collect::<Vec<_>>()
    );
    assert_eq!(
        stored
            .iter()
            .map(|e| e.order_id.clone())
            .collect::<Vec<_>>(),
        orders
    );
    assert_eq!(
        store.bounds().unwrap(),
        Bounds {
            oldest: Some(1),
            latest: 30
        }
    );
    assert_eq!(store.events_after(28, 10).unwrap().len(), 2);
    assert_eq!(store.events_after(0, 5).unwrap().len(), 5);
}

#[test]
fn a_full_queue_is_a_typed_error_and_nothing_queued_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.queue_capacity = 2;
    config.max_batch = 1;
    // The writer blocks in `publish` after its first batch until released.
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let entered_tx = Mutex::new(entered_tx);
    let log = DecisionLog::open(
        &config,
        Box::new(move |_| {
            let _ = entered_tx.lock().unwrap().send(());
            let _ = release_rx.lock().unwrap().recv();
        }),
    )
    .unwrap();
    log.submit(None, Some(event(1, "first"))).unwrap();
    entered_rx.recv().unwrap();
    log.submit(None, Some(event(1, "a"))).unwrap();
    log.submit(None, Some(event(1, "b"))).unwrap();
    let full = log.submit(None, Some(event(1, "c"))).unwrap_err();
    assert!(
        matches!(full, DecisionLogError::QueueFull { capacity: 2 }),
        "{full:?}"
    );
    assert_eq!(
        allot_error::Classify::code(&full),
        allot_error::ErrorCode::ResourceExhausted
    );
    assert_eq!(log.queue_depth(), 2);
    for _ in 0..3 {
        release_tx.send(()).unwrap();
    }
    log.close();
    assert!(matches!(
        log.submit(None, Some(event(1, "late"))),
        Err(DecisionLogError::Closed)
    ));
    let store = DecisionStore::open(dir.path()).unwrap();
    let orders: Vec<String> = store
        .events_after(0, 10)
        .unwrap()
        .into_iter()
        .map(|e| e.order_id)
        .collect();
    assert_eq!(orders, ["first", "a", "b"]);
}

#[test]
fn retention_prunes_old_records_and_events_but_keeps_positions() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let (log, _) = collecting(&config);
    let old = ulid::Ulid::from_parts(
        u64::try_from(
            (SystemTime::now() - Duration::from_secs(40 * 86_400))
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap(),
        7,
    );
    let new = ulid::Ulid::new();
    for key in [old, new] {
        log.submit(
            Some(NewRecord {
                key: u128::from(key),
                bytes: key.to_string().into_bytes(),
            }),
            Some(event(1, &key.to_string())),
        )
        .unwrap();
    }
    log.close();
    let store = DecisionStore::open(dir.path()).unwrap();
    // Records go by their decision time: the 40-day-old one is pruned at a
    // 30-day retention, the new one stays; events were committed now.
    let (records, events) = store
        .prune(SystemTime::now() - Duration::from_secs(30 * 86_400))
        .unwrap();
    assert_eq!((records, events), (1, 0));
    assert!(store.record(u128::from(old)).unwrap().is_none());
    assert!(store.record(u128::from(new)).unwrap().is_some());
    // Everything before a cutoff in the future is pruned, positions stay.
    let (records, events) = store
        .prune(SystemTime::now() + Duration::from_secs(60))
        .unwrap();
    assert_eq!((records, events), (1, 2));
    assert_eq!(
        store.bounds().unwrap(),
        Bounds {
            oldest: None,
            latest: 2
        }
    );
    drop(store);
    let (log, published) = collecting(&config);
    log.submit(None, Some(event(1, "after"))).unwrap();
    log.close();
    assert_eq!(published.lock().unwrap()[0].position, 3);
}

#[test]
fn decision_keys_accept_the_prefixed_and_bare_ulid_only() {
    let id = ulid::Ulid::new();
    assert_eq!(decision_key(&format!("dec_{id}")), Some(u128::from(id)));
    assert_eq!(decision_key(&id.to_string()), Some(u128::from(id)));
    assert_eq!(decision_key(""), None);
    assert_eq!(decision_key("dec_"), None);
    assert_eq!(decision_key("dec_not-a-ulid"), None);
}

#[test]
fn a_reader_waits_for_what_was_queued_before_it_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = collecting(&config(dir.path()));
    let keys: Vec<u128> = (0..50).map(|_| u128::from(ulid::Ulid::new())).collect();
    for key in &keys {
        log.submit(
            Some(NewRecord {
                key: *key,
                bytes: vec![7],
            }),
            None,
        )
        .unwrap();
    }
    assert!(log.wait_committed(Duration::from_secs(30)));
    for key in keys {
        assert_eq!(log.record(key).unwrap(), Some(vec![7]));
    }
    assert_eq!(log.queue_depth(), 0);
}

#[test]
fn group_commit_gathers_what_arrives_within_the_interval_into_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.max_batch = 1024;
    // Far longer than the submits below take, so the second burst always
    // falls inside the window opened by the first commit.
    config.commit_interval = Duration::from_secs(2);
    let batches = Arc::new(Mutex::new(Vec::new()));
    let sink = batches.clone();
    let log = DecisionLog::open(
        &config,
        Box::new(move |events| sink.lock().unwrap().push(events.len())),
    )
    .unwrap();
    log.submit(None, Some(event(1, "first"))).unwrap();
    assert!(log.wait_committed(Duration::from_secs(30)));
    for i in 0..10 {
        log.submit(None, Some(event(1, &format!("burst-{i}"))))
            .unwrap();
    }
    assert!(log.wait_committed(Duration::from_secs(30)));
    log.close();
    assert_eq!(*batches.lock().unwrap(), vec![1, 10]);
}

#[test]
fn an_awaited_entry_is_told_once_committed_without_waiting_out_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    // A window no test would wait out: the awaited entry must cut it short.
    config.commit_interval = Duration::from_secs(3600);
    let (log, seen) = collecting(&config);
    log.submit(None, Some(event(1, "opens-the-window")))
        .unwrap();
    assert!(log.wait_committed(Duration::from_secs(30)));
    let (told, committed) = mpsc::channel();
    let now_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let key = key_at(now_ms, 1);
    log.submit_then(
        Some(NewRecord {
            key,
            bytes: b"awaited".to_vec(),
        }),
        Some(event(1, "awaited")),
        Some(b"hold".to_vec()),
        Box::new(move |result| told.send(result).unwrap()),
    )
    .unwrap();
    assert_eq!(committed.recv().unwrap(), Ok(()));
    assert_eq!(log.record(key).unwrap().unwrap(), b"awaited");
    assert_eq!(log.commits_after(0).unwrap(), vec![(1, b"hold".to_vec())]);
    assert_eq!(log.commits_through(), 1);
    log.close();
    assert_eq!(seen.lock().unwrap().len(), 2);
    // Commit records keep their positions across a reopen, and go once
    // removed.
    let (log, _) = collecting(&config);
    log.submit_then(None, None, Some(b"next".to_vec()), Box::new(|_| {}))
        .unwrap();
    assert!(log.wait_committed(Duration::from_secs(30)));
    assert_eq!(log.commits_after(1).unwrap(), vec![(2, b"next".to_vec())]);
    assert_eq!(log.commits_through(), 2);
    log.remove_commits_through(1).unwrap();
    assert_eq!(log.commits_after(0).unwrap().len(), 1);
    log.close();
}

/// A record keyed at millisecond `ms` with a random part `n`.
fn key_at(ms: u64, n: u128) -> u128 {
    u128::from(ulid::Ulid::from_parts(ms, n))
}

#[test]
fn a_commit_stores_its_records_together_and_a_partly_old_batch_keeps_the_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = DecisionStore::open(dir.path()).unwrap();
    let now_ms = u64::try_from(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let old_ms = now_ms - 40 * 86_400_000;
    // One commit: three records of an old millisecond, two of a new one,
    // and the same key twice (the later write wins, as an overwrite would).
    let keys = [key_at(old_ms, 1), key_at(old_ms, 2), key_at(old_ms, 3)];
    let new_keys = [key_at(now_ms, 1), key_at(now_ms, 2)];
    let mut entries: Vec<store::Entry> = keys
        .iter()
        .chain(&new_keys)
        .map(|&key| store::Entry {
            record: Some(NewRecord {
                key,
                bytes: key.to_le_bytes().to_vec(),
            }),
            event: None,
            done: None,
            commit: None,
        })
        .collect();
    entries.push(store::Entry {
        record: Some(NewRecord {
            key: new_keys[1],
            bytes: b"rewritten".to_vec(),
        }),
        event: Some(event(1, "o")),
        done: None,
        commit: None,
    });
    let events = store
        .write_batch(entries, Durability::Immediate, SystemTime::now())
        .unwrap();
    assert_eq!(events.len(), 1);
    // One batch, indexed once per millisecond, not once per record.
    assert_eq!(store.record_rows().unwrap(), (2, 1));
    assert_eq!(
        store.record(keys[1]).unwrap(),
        Some(keys[1].to_le_bytes().to_vec())
    );
    assert_eq!(
        store.record(new_keys[1]).unwrap(),
        Some(b"rewritten".to_vec())
    );
    assert_eq!(store.record(key_at(old_ms, 4)).unwrap(), None);
    assert_eq!(store.record(key_at(old_ms + 1, 1)).unwrap(), None);

    let (records, events) = store
        .prune(SystemTime::now() - Duration::from_secs(30 * 86_400))
        .unwrap();
    assert_eq!((records, events), (3, 0));
    assert_eq!(store.record_rows().unwrap(), (1, 1));
    for key in keys {
        assert_eq!(store.record(key).unwrap(), None);
    }
    assert_eq!(
        store.record(new_keys[0]).unwrap(),
        Some(new_keys[0].to_le_bytes().to_vec())
    );
    assert_eq!(
        store.record(new_keys[1]).unwrap(),
        Some(b"rewritten".to_vec())
    );
}

#[test]
fn a_file_of_the_row_per_record_layout_is_converted_keeping_everything() {
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<u128> = (0..600)
        .map(|n| key_at(1_700_000_000_000 + n / 7, n.into()))
        .collect();
    {
        let db = redb::Database::create(dir.path().join("decisions.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut records = txn.open_table(legacy::RECORDS).unwrap();
            for key in &keys {
                let stored = lz4_flex::compress_prepend_size(&key.to_be_bytes());
                records.insert(*key, stored.as_slice()).unwrap();
            }
            let mut events = txn.open_table(legacy::EVENTS).unwrap();
            // Positions 1 and 2 were pruned; 3..=700 are retained.
            for position in 3..=700u64 {
                let event = StoredEvent {
                    position,
                    at_us: position,
                    kind: 1,
                    decision_id: format!("d{position}"),
                    order_id: String::new(),
                    reservation_id: String::new(),
                    summary: String::new(),
                    caller: String::new(),
                };
                let bytes = serde_json::to_vec(&event).unwrap();
                events.insert(position, bytes.as_slice()).unwrap();
            }
            txn.open_table(store::META)
                .unwrap()
                .insert("last_position", 700)
                .unwrap();
        }
        txn.commit().unwrap();
    }
    let store = DecisionStore::open(dir.path()).unwrap();
    for key in &keys {
        assert_eq!(
            store.record(*key).unwrap(),
            Some(key.to_be_bytes().to_vec())
        );
    }
    let events = store.events_after(0, 10_000).unwrap();
    assert_eq!(
        events.iter().map(|e| e.position).collect::<Vec<_>>(),
        (3..=700).collect::<Vec<_>>()
    );
    assert_eq!(store.events_after(511, 2).unwrap()[0].position, 512);
    assert_eq!(
        store.bounds().unwrap(),
        Bounds {
            oldest: Some(3),
            latest: 700
        }
    );
    drop(store);
    let (log, published) = collecting(&config(dir.path()));
    log.submit(None, Some(event(1, "after"))).unwrap();
    log.close();
    assert_eq!(published.lock().unwrap()[0].position, 701);
}

mod model {
    //! The store against a model of its writes: every record readable by key
    //! (the last write of a key wins), every event page and bound as the
    //! positions say, and pruning by decision time exact to the record.

    use std::collections::BTreeMap;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::super::store::Entry;
    use super::super::*;
    use super::key_at;

    /// One entry: (millisecond offset, random part, has a record, has an
    /// event). Few milliseconds, so batches share them.
    type Spec = (u64, u16, bool, bool);

    fn entries(batch: usize, specs: &[Spec], base_ms: u64) -> Vec<Entry> {
        specs
            .iter()
            .enumerate()
            .map(|(i, &(ms, n, record, event))| Entry {
                record: record.then(|| NewRecord {
                    key: key_at(base_ms + ms, n.into()),
                    bytes: format!("{batch}-{i}").into_bytes(),
                }),
                event: event.then(|| NewEvent {
                    kind: 1,
                    decision_id: format!("d-{batch}-{i}"),
                    ..NewEvent::default()
                }),
                done: None,
                commit: None,
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn the_store_answers_as_a_model_of_its_writes(
            batches in vec(vec((0u64..6, 0u16..8, any::<bool>(), any::<bool>()), 0..10), 1..7),
            after in 0u64..70,
            limit in 1usize..30,
            cutoff_offset in 0u64..7,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let store = DecisionStore::open(dir.path()).unwrap();
            let base_ms = 1_700_000_000_000;
            let mut records: BTreeMap<u128, Vec<u8>> = BTreeMap::new();
            let mut positions = Vec::new();
            for (b, specs) in batches.iter().enumerate() {
                let batch = entries(b, specs, base_ms);
                for entry in &batch {
                    if let Some(r) = &entry.record {
                        records.insert(r.key, r.bytes.clone());
                    }
                }
                let events = store
                    .write_batch(batch, Durability::Eventual, SystemTime::now())
                    .unwrap();
                positions.extend(events.iter().map(|e| e.position));
            }
            prop_assert_eq!(&positions, &(1..=positions.len() as u64).collect::<Vec<_>>());
            for (key, bytes) in &records {
                let stored = store.record(*key).unwrap();
                prop_assert_eq!(stored.as_ref(), Some(bytes));
            }
            prop_assert_eq!(store.record(key_at(base_ms + 2, 99)).unwrap(), None);
            let page: Vec<u64> = store
                .events_after(after, limit)
                .unwrap()
                .iter()
                .map(|e| e.position)
                .collect();
            let expected: Vec<u64> =
                positions.iter().copied().filter(|&p| p > after).take(limit).collect();
            prop_assert_eq!(page, expected);
            prop_assert_eq!(
                store.bounds().unwrap(),
                Bounds { oldest: positions.first().copied(), latest: positions.len() as u64 }
            );

            // Decisions before the cutoff go, to the record; events were
            // committed now and stay.
            let cutoff_ms = base_ms + cutoff_offset;
            let cutoff = UNIX_EPOCH + Duration::from_millis(cutoff_ms);
            // Counted as stored: a key written twice counts twice.
            let old = batches
                .iter()
                .flatten()
                .filter(|&&(ms, _, record, _)| record && base_ms + ms < cutoff_ms)
                .count();
            prop_assert_eq!(store.prune(cutoff).unwrap(), (old as u64, 0));
            for (key, bytes) in &records {
                let kept = ((key >> 80) as u64) >= cutoff_ms;
                let stored = store.record(*key).unwrap();
                prop_assert_eq!(stored.as_ref(), kept.then_some(bytes));
            }
        }
    }
}

#[test]
fn a_store_opens_once_the_previous_owner_in_this_process_lets_go() {
    let dir = tempfile::tempdir().unwrap();
    let first = DecisionStore::open(dir.path()).unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        drop(first);
    });
    // Opened while `first` still holds the file: it waits for it.
    DecisionStore::open(dir.path()).unwrap();
    release.join().unwrap();
}
