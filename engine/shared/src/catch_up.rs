//! A replica's start: the schema migrated, the ledger seeded from the first
//! replica's startup stock, and this replica's snapshot set to the ledger's
//! stock, capacity and feed positions.

use std::sync::Arc;

use allot_engine::stock::StockStore;
use deadpool_postgres::Object;

use crate::error::SharedError;
use crate::ledger::{Ledger, capacity_changed, stock_changed};
use crate::schema::{LOCK, migrate};

/// Migrates and seeds the ledger (once, by whichever replica gets there
/// first); returns whether this replica seeded it.
pub(crate) async fn prepare(
    client: &mut Object,
    stock: &StockStore,
    network_hash: &str,
) -> Result<bool, SharedError> {
    migrate(client).await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .await?;
    let seeded: Option<String> = tx
        .query_opt("SELECT value FROM allot_meta WHERE key = 'network'", &[])
        .await?
        .map(|r| r.get(0));
    if let Some(found) = seeded {
        if found != network_hash {
            return Err(SharedError::OtherNetwork {
                found,
                served: network_hash.to_string(),
            });
        }
        return Ok(false);
    }
    let network = stock.network();
    let (mut nodes, mut skus, mut on_hand, mut reserved, mut protected) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut feed_nodes, mut feed_sequences) = (Vec::new(), Vec::new());
    for node in network.node_ids() {
        let (fresh, rows) = stock.node_levels(node);
        let code = network.node(node).code.as_str();
        feed_nodes.push(code);
        feed_sequences.push(i64::try_from(fresh.sequence).unwrap_or(i64::MAX));
        for (sku, level) in rows {
            nodes.push(code);
            skus.push(network.sku(sku).code.as_str());
            on_hand.push(level.on_hand);
            reserved.push(level.reserved);
            protected.push(level.protected);
        }
    }
    tx.execute(
        "INSERT INTO allot_stock (node, sku, on_hand, feed_reserved, held, protected, version, change) \
         SELECT u.node, u.sku, u.on_hand, u.reserved, 0, u.protected, 1, nextval('allot_change') \
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) AS u(node, sku, on_hand, reserved, protected)",
        &[&nodes, &skus, &on_hand, &reserved, &protected],
    )
    .await?;
    tx.execute(
        "INSERT INTO allot_feed (node, sequence, change) \
         SELECT u.node, u.sequence, nextval('allot_change') FROM unnest($1::text[], $2::bigint[]) AS u(node, sequence)",
        &[&feed_nodes, &feed_sequences],
    )
    .await?;
    tx.execute(
        "INSERT INTO allot_meta (key, value) VALUES ('network', $1)",
        &[&network_hash],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        rows = nodes.len(),
        "shared ledger seeded with this replica's startup stock"
    );
    Ok(true)
}

/// What catching up read.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaughtUp {
    /// Stock rows read.
    pub rows: usize,
    /// Node-days of capacity read.
    pub days: usize,
    /// The ledger's change position reached.
    pub position: i64,
}

/// Sets this replica's snapshot to the ledger's stock, capacity (from two
/// days back) and feed positions.
pub(crate) async fn load(ledger: &Arc<Ledger>) -> Result<CaughtUp, SharedError> {
    let client = ledger.pool.get().await?;
    let stock = ledger.book.stock().clone();
    let rows = client
        .query(
            "SELECT node, sku, on_hand, feed_reserved + held, protected, version, change FROM allot_stock",
            &[],
        )
        .await?;
    let mut known = std::collections::HashSet::new();
    for row in &rows {
        let change = stock_changed(row);
        ledger.mirror.stock(&change);
        known.insert((change.node, change.sku));
    }
    // Rows this replica's startup stock has and the ledger does not: the
    // ledger is the stock of record, so they are empty.
    let network = stock.network().clone();
    let now = std::time::SystemTime::now();
    for node in network.node_ids() {
        let code = &network.node(node).code;
        for (sku, _) in stock.node_levels(node).1 {
            if !known.contains(&(code.clone(), network.sku(sku).code.clone())) {
                stock.mirror_level(node, sku, allot_engine::stock::StockLevel::default(), now);
            }
        }
    }
    let today = chrono::Utc::now().date_naive();
    let from = today
        .checked_sub_days(chrono::Days::new(2))
        .map_or(0, crate::body::day_number);
    let days = client
        .query(
            "SELECT node, day, used, change FROM allot_capacity WHERE day >= $1",
            &[&from],
        )
        .await?;
    for row in &days {
        if let Some(change) = capacity_changed(row) {
            ledger.mirror.capacity(&change);
        }
    }
    for row in client
        .query("SELECT node, sequence FROM allot_feed", &[])
        .await?
    {
        let node: String = row.get(0);
        let sequence: i64 = row.get(1);
        if let Some(id) = stock.network().node_id(&node) {
            stock.mirror_sequence(id, u64::try_from(sequence).unwrap_or(0));
        }
    }
    Ok(CaughtUp {
        rows: rows.len(),
        days: days.len(),
        position: ledger.mirror.position(),
    })
}
