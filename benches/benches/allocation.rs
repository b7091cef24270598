//! Criterion benches of the allocation pieces: greedy, the exact solve at
//! 5 x 50 on both families, and the exact solve at 10 x 100.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use allot_benches::alloc::{DemoWorld, random_problem};
use allot_engine::allocation::exact::{assign_candidates, root_bound, solve_exact};
use allot_engine::allocation::greedy::greedy;
use criterion::{Criterion, criterion_group, criterion_main};

fn allocation(c: &mut Criterion) {
    let random: Vec<_> = (1..=20).map(|s| random_problem(s, 5, 50)).collect();
    let world = DemoWorld::new();
    let demo: Vec<_> = (1..=20).map(|s| world.problem(s, 5, 50)).collect();
    let big: Vec<_> = (1..=20).map(|s| random_problem(s, 10, 100)).collect();
    c.bench_function("greedy 5x50 random", |b| {
        b.iter(|| {
            for p in &random {
                black_box(greedy(p));
            }
        })
    });
    c.bench_function("root bound 5x50 random (20 instances)", |b| {
        b.iter(|| {
            for p in &random {
                black_box(root_bound(p));
            }
        })
    });
    c.bench_function("assignment of 3 nodes 5x50 random (20 instances)", |b| {
        b.iter(|| {
            for p in &random {
                black_box(assign_candidates(p, &[0, 1, 2]));
            }
        })
    });
    for (name, set) in [
        ("exact 5x50 random (20 instances)", &random),
        ("exact 5x50 demo (20 instances)", &demo),
        ("exact 10x100 random (20 instances)", &big),
    ] {
        let starts: Vec<_> = set.iter().map(greedy).collect();
        c.bench_function(name, |b| {
            b.iter(|| {
                for (p, s) in set.iter().zip(&starts) {
                    black_box(solve_exact(
                        p,
                        Instant::now() + Duration::from_secs(1),
                        s.as_ref(),
                    ));
                }
            })
        });
    }
}

criterion_group!(benches, allocation);
criterion_main!(benches);
