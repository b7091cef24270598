//! allot benchmarks
