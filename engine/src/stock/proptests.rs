//! Property tests: levels never go negative, replays are idempotent, readers
//! never see a half-replaced snapshot.

use std::sync::atomic::{AtomicBool, Ordering};

use proptest::prelude::*;

use super::fixture::{network, t};
use super::*;
use crate::network::{NodeId, SkuId};

const NODES: usize = 3;
const SKUS: usize = 4;

#[derive(Debug, Clone)]
enum Op {
    Deltas(Vec<DeltaRow>),
    Reserve(u32, u32, i64),
    Release(u32, u32, i64),
    Replace(u32, Vec<(u32, StockLevel)>, u64),
}

fn code(prefix: &str, i: usize, count: usize) -> String {
    if i < count {
        format!("{prefix}{i}")
    } else {
        format!("{prefix}X")
    }
}

fn delta_row() -> impl Strategy<Value = DeltaRow> {
    (
        0..=NODES,
        0..=SKUS,
        0u64..24,
        prop_oneof![
            Just(Some(DeltaKind::Adjust)),
            Just(Some(DeltaKind::Set)),
            Just(None)
        ],
        -30i64..30,
        proptest::option::of(-2i64..6),
    )
        .prop_map(|(n, s, sequence, kind, quantity, protected)| DeltaRow {
            node: code("N", n, NODES),
            sku: code("S", s, SKUS),
            sequence,
            kind,
            quantity,
            protected,
        })
}

fn level() -> impl Strategy<Value = StockLevel> {
    (-1i64..20, -1i64..20, -1i64..5).prop_map(|(on_hand, reserved, protected)| StockLevel {
        on_hand,
        reserved,
        protected,
    })
}

fn op() -> impl Strategy<Value = Op> {
    let node = 0..NODES as u32;
    let sku = 0..SKUS as u32;
    prop_oneof![
        4 => proptest::collection::vec(delta_row(), 0..12).prop_map(Op::Deltas),
        2 => (node.clone(), sku.clone(), -2i64..12).prop_map(|(n, s, q)| Op::Reserve(n, s, q)),
        2 => (node.clone(), sku.clone(), -2i64..12).prop_map(|(n, s, q)| Op::Release(n, s, q)),
        1 => (node, proptest::collection::vec((sku, level()), 0..5), 0u64..16)
            .prop_map(|(n, rows, seq)| Op::Replace(n, rows, seq)),
    ]
}

fn run(store: &StockStore, op: &Op, i: u64) {
    match op {
        Op::Deltas(rows) => {
            store.apply_deltas(i * 100, rows, t(i));
        }
        Op::Reserve(n, s, q) => {
            let _ = store.reserve(NodeId(*n), SkuId(*s), *q);
        }
        Op::Release(n, s, q) => {
            store.release(NodeId(*n), SkuId(*s), *q);
        }
        Op::Replace(n, rows, seq) => {
            let rows = rows.iter().map(|(s, l)| (SkuId(*s), *l)).collect();
            let _ = store.replace_node(NodeId(*n), rows, *seq, t(i));
        }
    }
}

type State = Vec<(NodeFreshness, Vec<(SkuId, StockLevel)>)>;

fn state(store: &StockStore) -> State {
    store
        .network()
        .node_ids()
        .map(|n| store.node_levels(n))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn levels_never_go_negative(ops in proptest::collection::vec(op(), 0..40)) {
        let store = StockStore::new(network(NODES, SKUS));
        for (i, op) in ops.iter().enumerate() {
            run(&store, op, i as u64);
            for (_, rows) in state(&store) {
                for (sku, l) in rows {
                    prop_assert!(l.on_hand >= 0 && l.reserved >= 0 && l.protected >= 0, "{sku:?} {l:?} after {op:?}");
                    prop_assert!(l.available() >= 0);
                }
            }
        }
    }

    #[test]
    fn replaying_a_batch_is_idempotent(
        before in proptest::collection::vec(op(), 0..10),
        batch in proptest::collection::vec(delta_row(), 0..20),
    ) {
        let store = StockStore::new(network(NODES, SKUS));
        for (i, op) in before.iter().enumerate() {
            run(&store, op, i as u64);
        }
        let first = store.apply_deltas(0, &batch, t(1000));
        let once = state(&store);
        let second = store.apply_deltas(0, &batch, t(2000));
        prop_assert_eq!(state(&store), once);
        prop_assert_eq!(second.applied, 0);
        prop_assert!(second.touched.is_empty());
        prop_assert_eq!(
            second.duplicates + second.quarantined.len() as u64,
            first.received,
        );
    }
}

#[test]
fn readers_see_whole_snapshots_only() {
    let store = StockStore::new(network(2, 300));
    let a: Vec<(SkuId, StockLevel)> = (0..300)
        .step_by(2)
        .map(|s| {
            (
                SkuId(s),
                StockLevel {
                    on_hand: 1,
                    reserved: 0,
                    protected: 0,
                },
            )
        })
        .collect();
    let b: Vec<(SkuId, StockLevel)> = (0..300)
        .step_by(3)
        .map(|s| {
            (
                SkuId(s),
                StockLevel {
                    on_hand: 2,
                    reserved: 1,
                    protected: 0,
                },
            )
        })
        .collect();
    store.replace_node(NodeId(1), a.clone(), 0, t(0)).unwrap();
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut seen = [0u32; 2];
            while !done.load(Ordering::Acquire) {
                let (fresh, rows) = store.node_levels(NodeId(1));
                let which = if rows == a {
                    0
                } else if rows == b {
                    1
                } else {
                    panic!("torn snapshot at version {}", fresh.version)
                };
                // Version parity tells which snapshot must be there.
                assert_eq!(fresh.version % 2, if which == 0 { 1 } else { 0 });
                assert_eq!(fresh.rows, rows.len());
                seen[which] += 1;
            }
            seen
        });
        for i in 0..2_000u64 {
            let next = if i % 2 == 0 { b.clone() } else { a.clone() };
            store.replace_node(NodeId(1), next, i, t(i)).unwrap();
        }
        done.store(true, Ordering::Release);
        let seen = reader.join().unwrap();
        assert!(seen[0] + seen[1] > 0);
    });
}
