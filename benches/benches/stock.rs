//! Criterion benchmarks of the stock store: `level`, `sku_levels` and a
//! 100-row `apply_deltas` batch on 200 nodes x 5,000 SKUs.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::SystemTime;

use allot_benches::stock::{level, network};
use allot_engine::network::{NodeId, SkuId};
use allot_engine::stock::{DeltaKind, DeltaRow, StockStore};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const NODES: usize = 200;
const SKUS: usize = 5_000;

fn loaded_store() -> StockStore {
    let network = network(NODES, SKUS);
    let store = StockStore::new(network.clone());
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    for node in network.node_ids() {
        let rows = (0..SKUS as u32)
            .map(|s| (SkuId(s), level(&mut rng)))
            .collect();
        store
            .replace_node(node, rows, 0, SystemTime::now())
            .expect("valid rows");
    }
    store
}

fn bench(c: &mut Criterion) {
    let store = loaded_store();
    let network = store.network().clone();
    let mut rng = ChaCha8Rng::seed_from_u64(7);

    c.bench_function("stock/level", |b| {
        b.iter(|| {
            let node = NodeId(rng.random_range(0..NODES as u32));
            let sku = SkuId(rng.random_range(0..SKUS as u32));
            black_box(store.level(node, sku))
        })
    });

    c.bench_function("stock/sku_levels_200_nodes", |b| {
        b.iter(|| black_box(store.sku_levels(SkuId(rng.random_range(0..SKUS as u32)))))
    });

    // 100 rows over 10 nodes, 10 consecutive sequence numbers per node.
    let mut sequence = 0u64;
    c.bench_function("stock/apply_deltas_100_rows", |b| {
        b.iter_batched_ref(
            || {
                let base = sequence;
                sequence += 10;
                (0..100)
                    .map(|i| DeltaRow {
                        node: network.node(NodeId(i % 10)).code.clone(),
                        sku: network
                            .sku(SkuId(rng.random_range(0..SKUS as u32)))
                            .code
                            .clone(),
                        sequence: base + 1 + u64::from(i / 10),
                        kind: Some(DeltaKind::Adjust),
                        quantity: 1,
                        protected: None,
                    })
                    .collect::<Vec<_>>()
            },
            |rows| black_box(store.apply_deltas(0, rows, SystemTime::now())),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
