//! Stock writes on a replica: validated and applied to this replica's
//! snapshot by the engine's rules (sequences, quarantine), then written to
//! the ledger's stock of record in one transaction (absolute levels of the
//! rows they changed, the node's feed position), acknowledged once that
//! commits; the other replicas get the rows over the bus.
//!
//! A node's feed should go to one replica at a time: two replicas taking
//! deltas for one node at once each write the levels they computed, and the
//! later wins (docs/scale-out.md).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use allot_engine::network::{NodeId, SkuId};
use allot_engine::stock::{DeltaOutcome, DeltaRow, NodeFreshness, StockLevel};
use allot_service::ServiceError;
use allot_service::state::Receipt;
use allot_service::stock::StockJournal;

use crate::error::unavailable;
use crate::ledger::{Changes, Ledger, STOCK_RETURNING, stock_changed};

/// The stock journal over a shared [`Ledger`].
pub struct SharedStock {
    ledger: Arc<Ledger>,
    /// Whether the ledger answered its last health check: writes are
    /// refused before they touch the snapshot when it did not.
    up: Arc<std::sync::atomic::AtomicBool>,
}

/// Rows to write for one node: (SKU code, on hand, feed reserved, protected).
struct NodeRows {
    node: String,
    sequence: u64,
    reset: bool,
    rows: Vec<(String, i64, Option<i64>, i64)>,
    /// Replacement: every other row of the node drops to zero.
    whole: bool,
}

impl SharedStock {
    /// Stock writes through `ledger`, refused while `up` is false.
    pub fn new(ledger: Arc<Ledger>, up: Arc<std::sync::atomic::AtomicBool>) -> SharedStock {
        SharedStock { ledger, up }
    }

    fn check_up(&self) -> Result<(), ServiceError> {
        if self.up.load(std::sync::atomic::Ordering::Acquire) {
            Ok(())
        } else {
            Err(unavailable(
                "its last health check failed; stock writes wait for it",
            ))
        }
    }

    fn receipt(&self, writes: Vec<NodeRows>) -> Receipt {
        let ledger = self.ledger.clone();
        Receipt::later(Box::pin(async move {
            let inner = ledger.clone();
            ledger
                .within(async move { write(&inner, writes).await })
                .await
        }))
    }
}

async fn write(ledger: &Ledger, mut writes: Vec<NodeRows>) -> Result<(), ServiceError> {
    // Rows in (node, SKU) code order, as commits take them: no deadlock.
    writes.sort_by(|a, b| a.node.cmp(&b.node));
    for w in &mut writes {
        w.rows.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let mut client = ledger.client().await?;
    let tx = client.transaction().await.map_err(unavailable)?;
    let mut changes = Changes::default();
    for w in &writes {
        let sequence = i64::try_from(w.sequence).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO allot_feed AS f (node, sequence, change) VALUES ($1, $2, nextval('allot_change')) \
             ON CONFLICT (node) DO UPDATE SET sequence = CASE WHEN $3 THEN EXCLUDED.sequence ELSE greatest(f.sequence, EXCLUDED.sequence) END, \
             change = EXCLUDED.change",
            &[&w.node, &sequence, &w.reset],
        )
        .await
        .map_err(unavailable)?;
        let skus: Vec<&str> = w.rows.iter().map(|r| r.0.as_str()).collect();
        let on_hand: Vec<i64> = w.rows.iter().map(|r| r.1).collect();
        let reserved: Vec<Option<i64>> = w.rows.iter().map(|r| r.2).collect();
        let protected: Vec<i64> = w.rows.iter().map(|r| r.3).collect();
        // A delta leaves the feed's reserved units as they are (NULL).
        let rows = tx
            .query(
                &format!(
                    "INSERT INTO allot_stock AS s (node, sku, on_hand, feed_reserved, held, protected, version, change) \
                     SELECT $1, u.sku, u.on_hand, coalesce(u.reserved, 0), 0, u.protected, 1, nextval('allot_change') \
                     FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) AS u(sku, on_hand, reserved, protected) \
                     ON CONFLICT (node, sku) DO UPDATE SET on_hand = EXCLUDED.on_hand, \
                     feed_reserved = CASE WHEN $6 THEN EXCLUDED.feed_reserved ELSE s.feed_reserved END, \
                     protected = EXCLUDED.protected, version = s.version + 1, change = EXCLUDED.change \
                     {STOCK_RETURNING}"
                ),
                &[&w.node, &skus, &on_hand, &reserved, &protected, &w.whole],
            )
            .await
            .map_err(unavailable)?;
        changes.stock.extend(rows.iter().map(stock_changed));
        if w.whole {
            let rows = tx
                .query(
                    &format!(
                        "UPDATE allot_stock SET on_hand = 0, feed_reserved = 0, protected = 0, version = version + 1, \
                         change = nextval('allot_change') WHERE node = $1 AND NOT (sku = ANY($2)) \
                         AND (on_hand <> 0 OR feed_reserved <> 0 OR protected <> 0) {STOCK_RETURNING}"
                    ),
                    &[&w.node, &skus],
                )
                .await
                .map_err(unavailable)?;
            changes.stock.extend(rows.iter().map(stock_changed));
        }
    }
    changes.write_outbox(&tx, ledger.outbox).await?;
    tx.commit().await.map_err(unavailable)?;
    ledger.committed(&changes);
    Ok(())
}

impl StockJournal for SharedStock {
    fn replace_node(
        &self,
        node: NodeId,
        rows: Vec<(SkuId, StockLevel)>,
        as_of_sequence: u64,
        reset_feed: bool,
        at: SystemTime,
    ) -> Result<(NodeFreshness, Receipt), ServiceError> {
        self.check_up()?;
        let network = self.ledger.network.clone();
        if node.0 as usize >= network.node_count() {
            return Err(ServiceError::invalid("node", "unknown node"));
        }
        let write = NodeRows {
            node: network.node(node).code.clone(),
            sequence: as_of_sequence,
            reset: reset_feed,
            rows: rows
                .iter()
                .filter(|(sku, _)| (sku.0 as usize) < network.sku_count())
                .map(|(sku, l)| {
                    (
                        network.sku(*sku).code.clone(),
                        l.on_hand,
                        Some(l.reserved),
                        l.protected,
                    )
                })
                .collect(),
            whole: true,
        };
        let fresh = self
            .ledger
            .book
            .stock()
            .replace_or_reset(node, rows, as_of_sequence, reset_feed, at)
            .map_err(ServiceError::domain)?;
        Ok((fresh, self.receipt(vec![write])))
    }

    fn apply_deltas(
        &self,
        first_index: u64,
        rows: &[DeltaRow],
        at: SystemTime,
    ) -> Result<(DeltaOutcome, Receipt), ServiceError> {
        self.check_up()?;
        let stock = self.ledger.book.stock().clone();
        let network = stock.network().clone();
        let outcome = stock.apply_deltas(first_index, rows, at);
        // The levels the batch left on the rows it named, per node.
        let mut by_node: BTreeMap<NodeId, BTreeMap<SkuId, ()>> = BTreeMap::new();
        for row in rows {
            if let (Some(node), Some(sku)) = (network.node_id(&row.node), network.sku_id(&row.sku))
            {
                by_node.entry(node).or_default().insert(sku, ());
            }
        }
        let writes = outcome
            .touched
            .iter()
            .filter_map(|fresh| {
                let skus = by_node.get(&fresh.node)?;
                Some(NodeRows {
                    node: network.node(fresh.node).code.clone(),
                    sequence: fresh.sequence,
                    reset: false,
                    rows: skus
                        .keys()
                        .map(|&sku| {
                            let l = stock.level(fresh.node, sku);
                            (network.sku(sku).code.clone(), l.on_hand, None, l.protected)
                        })
                        .collect(),
                    whole: false,
                })
            })
            .collect::<Vec<_>>();
        let receipt = if writes.is_empty() {
            Receipt::done()
        } else {
            self.receipt(writes)
        };
        Ok((outcome, receipt))
    }
}
