//! Recovery gives back exactly the acknowledged state: any sequence of
//! changes, cut anywhere (a torn write at a crash), recovers to the state
//! after the last whole record; a checkpoint at any point changes nothing.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use allot_engine::network::{DEMO_SEED, Network, NodeId, SkuId};
use allot_engine::reservation::{BookImage, Reservation, ReservationBook, ReservedUnits};
use allot_engine::stock::{DeltaKind, DeltaRow, NodeImage, StockLevel, StockStore};
use proptest::prelude::*;

use super::change::{Change, KeyRecord};
use super::compact::fold;
use super::{Durable, open};
use crate::config::{DecisionsConfig, StateConfig};
use crate::id::DecisionId;
use crate::idempotency::KeyStore;
use crate::reservations::ReservationLedger;
use crate::sink::{DecisionSink, Entry, LogSink};
use crate::stock::StockJournal;
use futures::executor::block_on;

const NODES: u32 = 3;
const SKUS: u32 = 3;

/// One change, as a user of the state would make it.
#[derive(Debug, Clone)]
enum Op {
    /// Allocate with commit: a hold of `quantity` of `sku` at `node`.
    Commit {
        node: u32,
        sku: u32,
        quantity: u32,
        ttl_s: u64,
    },
    Confirm(usize),
    Release(usize),
    /// Time passes; due holds expire.
    Sweep {
        advance_s: u64,
    },
    Replace {
        node: u32,
        on_hand: i64,
        as_of: u64,
    },
    Delta {
        node: u32,
        sku: u32,
        adjust: i64,
        sequence: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..NODES, 0..SKUS, 1u32..4, 1u64..200)
            .prop_map(|(node, sku, quantity, ttl_s)| Op::Commit { node, sku, quantity, ttl_s }),
        2 => (0usize..64).prop_map(Op::Confirm),
        2 => (0usize..64).prop_map(Op::Release),
        1 => (1u64..120).prop_map(|advance_s| Op::Sweep { advance_s }),
        1 => (0..NODES, 0i64..30, 0u64..20)
            .prop_map(|(node, on_hand, as_of)| Op::Replace { node, on_hand, as_of }),
        2 => (0..NODES, 0..SKUS, -5i64..8, 1u64..25)
            .prop_map(|(node, sku, adjust, sequence)| Op::Delta { node, sku, adjust, sequence }),
    ]
}

/// Everything the state holds, comparably.
#[derive(Debug, PartialEq)]
struct Snapshot {
    nodes: Vec<NodeImage>,
    book: BookImage,
    keys: Vec<(String, Vec<u8>)>,
}

struct Live {
    network: Arc<Network>,
    stock: Arc<StockStore>,
    book: Arc<ReservationBook>,
    durable: Durable,
    log: Arc<LogSink>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.durable.close();
        self.log.close();
    }
}

/// The decision log of a data directory (the state is in `state/`).
fn log(data: &std::path::Path) -> Arc<LogSink> {
    let config = DecisionsConfig {
        dir: data.to_path_buf(),
        ..DecisionsConfig::default()
    };
    Arc::new(LogSink::open(&config).unwrap())
}

fn network() -> Arc<Network> {
    Arc::new(Network::demo(DEMO_SEED))
}

fn config() -> StateConfig {
    StateConfig::default()
}

fn start(network: &Arc<Network>, data: &std::path::Path, fresh: bool) -> Live {
    let dir = data.join("state");
    let stock = Arc::new(StockStore::new(network.clone()));
    if fresh {
        for n in 0..NODES {
            let rows = (0..SKUS)
                .map(|s| {
                    let level = StockLevel {
                        on_hand: 10,
                        reserved: 0,
                        protected: 1,
                    };
                    (SkuId(s), level)
                })
                .collect();
            stock
                .replace_node(NodeId(n), rows, 0, SystemTime::UNIX_EPOCH)
                .unwrap();
        }
    }
    let book = Arc::new(ReservationBook::new(stock.clone()));
    let log = log(data);
    let (durable, recovery) =
        open(&config(), &dir, stock.clone(), book.clone(), log.clone()).unwrap();
    assert_eq!(recovery.fresh, fresh);
    Live {
        network: network.clone(),
        stock,
        book,
        durable,
        log,
    }
}

impl Live {
    /// What a committing Allocate does after its hold: the decision record
    /// with the commit record, durably, then the key in memory.
    fn commit(
        &self,
        key: &str,
        fingerprint: [u8; 32],
        response: Vec<u8>,
        hold: &Reservation,
        at: SystemTime,
    ) {
        let record = self
            .durable
            .commit_record(key, fingerprint, response.clone(), Some(hold), at);
        let entry = Entry::new(&DecisionId::mint(), b"record".to_vec(), None);
        let written = self.log.record_durably(entry, record).unwrap();
        futures::executor::block_on(written).unwrap();
        self.durable.remember(key, fingerprint, response, at);
    }

    fn snapshot(&self) -> Snapshot {
        let mut keys: Vec<_> = (0..256)
            .filter_map(|i| {
                let key = format!("key-{i}");
                let (_, response) = KeyStore::get(&self.durable, &key)?;
                Some((key, response.to_vec()))
            })
            .collect();
        keys.sort();
        Snapshot {
            nodes: self
                .network
                .node_ids()
                .take(NODES as usize)
                .map(|n| self.stock.node_image(n))
                .collect(),
            book: self.book.image(),
            keys,
        }
    }

    /// Makes the change and waits until it is durable (acknowledged).
    fn apply(&self, op: &Op, step: usize, now: &mut SystemTime, made: &mut Vec<String>) {
        match *op {
            Op::Commit {
                node,
                sku,
                quantity,
                ttl_s,
            } => {
                let units = vec![ReservedUnits {
                    line_id: "1".into(),
                    node: NodeId(node),
                    sku: SkuId(sku),
                    quantity,
                }];
                let Ok(reservation) = self.book.hold(
                    &format!("order-{step}"),
                    &format!("dec-{step}"),
                    units,
                    Duration::from_secs(ttl_s),
                    *now,
                ) else {
                    return; // short: a refused commit changes nothing
                };
                made.push(reservation.id.clone());
                let key = format!("key-{step}");
                self.commit(
                    &key,
                    [step as u8; 32],
                    vec![step as u8; 5],
                    &reservation,
                    *now,
                );
            }
            Op::Confirm(i) | Op::Release(i) => {
                let Some(id) = made.get(i % made.len().max(1)) else {
                    return;
                };
                let done = match op {
                    Op::Confirm(_) => block_on(self.durable.confirm(id, &at(*now))),
                    _ => block_on(self.durable.release(id, &at(*now))),
                };
                if let Ok((_, receipt)) = done {
                    receipt.wait().unwrap();
                }
            }
            Op::Sweep { advance_s } => {
                *now += Duration::from_secs(advance_s);
                let (_, receipt) = block_on(self.durable.expire_due(*now)).unwrap();
                receipt.wait().unwrap();
            }
            Op::Replace {
                node,
                on_hand,
                as_of,
            } => {
                let rows = vec![(
                    SkuId(0),
                    StockLevel {
                        on_hand,
                        reserved: 0,
                        protected: 0,
                    },
                )];
                if let Ok((_, receipt)) =
                    self.durable
                        .replace_node(NodeId(node), rows, as_of, false, *now)
                {
                    receipt.wait().unwrap();
                }
            }
            Op::Delta {
                node,
                sku,
                adjust,
                sequence,
            } => {
                let row = DeltaRow {
                    node: self.network.node(NodeId(node)).code.clone(),
                    sku: self.network.sku(SkuId(sku)).code.clone(),
                    sequence,
                    kind: Some(DeltaKind::Adjust),
                    quantity: adjust,
                    protected: None,
                };
                let (_, receipt) = self.durable.apply_deltas(0, &[row], *now).unwrap();
                receipt.wait().unwrap();
            }
        }
    }
}

/// Copies the files of `from` (and its subdirectories) into `to`, as a
/// crash would leave them.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn segment(dir: &std::path::Path) -> std::path::PathBuf {
    let mut segments: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "journal"))
        .collect();
    segments.sort();
    segments.pop().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn a_crash_anywhere_recovers_the_acknowledged_state(
        ops in proptest::collection::vec(op(), 1..40),
        cut in 0.0f64..1.0,
        torn in 0.0f64..1.0,
    ) {
        let network = network();
        let data = tempfile::tempdir().unwrap();
        let crashed = tempfile::tempdir().unwrap();
        let live = start(&network, data.path(), true);
        let mut now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut made = Vec::new();
        let file = segment(&data.path().join("state"));
        // The machine stops after change k (every change up to it was
        // acknowledged), part way through writing change k + 1.
        let k = (ops.len() as f64 * cut) as usize;
        let mut expected = None;
        let mut before = 0;
        for (step, op) in ops.iter().enumerate() {
            if step == k {
                expected = Some(live.snapshot());
                copy_dir(data.path(), crashed.path());
                before = std::fs::metadata(&file).unwrap().len();
            }
            live.apply(op, step, &mut now, &mut made);
            if step == k {
                let bytes = std::fs::read(&file).unwrap();
                let next = &bytes[before as usize..];
                // Part of its first record only: a change of several records
                // (a sweep expiring several holds) cut between two of them
                // is a state no caller was told of, not the one before it.
                let first = next.get(..4).map_or(0, |len| {
                    16 + u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize
                });
                let part = &next[..(first.min(next.len()).saturating_sub(1) as f64 * torn) as usize];
                let copy = crashed.path().join("state").join(file.file_name().unwrap());
                let mut torn_file = std::fs::OpenOptions::new().append(true).open(copy).unwrap();
                std::io::Write::write_all(&mut torn_file, part).unwrap();
            }
        }
        let expected = expected.unwrap_or_else(|| live.snapshot());
        if k >= ops.len() {
            copy_dir(data.path(), crashed.path());
        }
        drop(live);
        let recovered = start(&network, crashed.path(), false);
        prop_assert_eq!(&recovered.snapshot(), &expected);
    }

    #[test]
    fn a_checkpoint_anywhere_changes_nothing(
        ops in proptest::collection::vec(op(), 1..40),
        at in 0.0f64..1.0,
    ) {
        let network = network();
        let dir = tempfile::tempdir().unwrap();
        let live = start(&network, dir.path(), true);
        let mut now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut made = Vec::new();
        let fold_at = (ops.len() as f64 * at) as usize;
        for (step, op) in ops.iter().enumerate() {
            if step == fold_at {
                // Everything written so far, as if every segment had closed.
                let through = Some(live.durable_seq());
                fold(&network, &dir.path().join("state"), through, live.log.as_ref()).unwrap();
            }
            live.apply(op, step, &mut now, &mut made);
        }
        let expected = live.snapshot();
        drop(live);
        let recovered = start(&network, dir.path(), false);
        prop_assert_eq!(recovered.snapshot(), expected);
    }
}

impl Live {
    fn durable_seq(&self) -> u64 {
        self.durable.durable_seq()
    }
}

#[test]
fn an_expiry_recorded_before_its_commit_still_ends_the_hold() {
    let network = network();
    let dir = tempfile::tempdir().unwrap();
    let live = start(&network, dir.path(), true);
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let units = vec![ReservedUnits {
        line_id: "1".into(),
        node: NodeId(0),
        sku: SkuId(0),
        quantity: 2,
    }];
    let hold = live
        .book
        .hold("o", "d", units, Duration::from_secs(1), now)
        .unwrap();
    // The sweep runs between the hold and its commit's record.
    let (expired, receipt) =
        block_on(live.durable.expire_due(now + Duration::from_secs(5))).unwrap();
    receipt.wait().unwrap();
    assert_eq!(expired.len(), 1);
    live.commit("k", [0; 32], vec![1], &hold, now);
    let expected = live.snapshot();
    drop(live);
    let recovered = start(&network, dir.path(), false);
    assert_eq!(recovered.snapshot(), expected);
    assert_eq!(recovered.stock.held(NodeId(0), SkuId(0)), 0);
}

#[test]
fn a_record_decodes_to_what_was_encoded() {
    let change = Change::Commit {
        key: KeyRecord {
            key: "k".into(),
            fingerprint: [7; 32],
            response: vec![1, 2],
            at: SystemTime::UNIX_EPOCH,
        },
        reservation: None,
    };
    assert_eq!(Change::decode(&change.encode()).unwrap(), change);
}

fn at(now: SystemTime) -> crate::reservations::ReservationChange {
    crate::reservations::ReservationChange {
        now,
        caller: String::new(),
        detail: String::new(),
    }
}
