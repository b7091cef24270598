//! In-memory stock snapshots per (SKU, node).
