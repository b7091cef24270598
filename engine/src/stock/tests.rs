//! Unit tests of the store rules: duplicates, gaps, quarantine, replace,
//! CSV errors, reservations.

use super::fixture::{delta, network, t};
use super::*;
use crate::error::{Classify, ErrorCode};
use crate::network::{NodeId, SkuId};

const ADJ: Option<DeltaKind> = Some(DeltaKind::Adjust);
const SET: Option<DeltaKind> = Some(DeltaKind::Set);

fn lvl(on_hand: i64, reserved: i64, protected: i64) -> StockLevel {
    StockLevel {
        on_hand,
        reserved,
        protected,
    }
}

fn store() -> StockStore {
    StockStore::new(network(3, 4))
}

#[test]
fn new_store_is_empty_at_version_zero() {
    let s = store();
    let f = s.freshness(NodeId(1));
    assert_eq!((f.version, f.sequence, f.rows), (0, 0, 0));
    assert_eq!(s.level(NodeId(1), SkuId(0)), StockLevel::default());
    assert_eq!(s.level(NodeId(99), SkuId(0)), StockLevel::default());
    assert!(s.sku_levels(SkuId(0)).is_empty());
}

#[test]
fn deltas_apply_in_order_and_bump_version() {
    let s = store();
    let rows = [
        delta("N0", "S1", 1, SET, 10),
        delta("N0", "S1", 2, ADJ, -3),
        delta("N1", "S1", 1, ADJ, 4),
    ];
    let out = s.apply_deltas(0, &rows, t(5));
    assert_eq!((out.received, out.applied, out.duplicates), (3, 3, 0));
    assert!(out.quarantined.is_empty() && out.gaps.is_empty());
    assert_eq!(s.level(NodeId(0), SkuId(1)).on_hand, 7);
    assert_eq!(
        out.touched
            .iter()
            .map(|f| (f.node.0, f.version, f.sequence))
            .collect::<Vec<_>>(),
        vec![(0, 2, 2), (1, 1, 1)]
    );
    assert_eq!(out.touched[0].updated_at, t(5));
    let levels = s.sku_levels(SkuId(1));
    assert_eq!(
        levels
            .iter()
            .map(|(f, l)| (f.node.0, l.on_hand))
            .collect::<Vec<_>>(),
        vec![(0, 7), (1, 4)]
    );
}

#[test]
fn duplicates_are_skipped_and_counted() {
    let s = store();
    s.apply_deltas(
        0,
        &[delta("N0", "S0", 1, SET, 5), delta("N0", "S0", 2, ADJ, 1)],
        t(1),
    );
    let out = s.apply_deltas(
        2,
        &[delta("N0", "S0", 2, ADJ, 100), delta("N0", "S0", 1, SET, 0)],
        t(2),
    );
    assert_eq!((out.applied, out.duplicates), (0, 2));
    assert!(out.quarantined.is_empty() && out.touched.is_empty());
    assert_eq!(s.level(NodeId(0), SkuId(0)).on_hand, 6);
    assert_eq!(s.freshness(NodeId(0)).updated_at, t(1));
}

#[test]
fn gaps_are_applied_and_reported() {
    let s = store();
    let out = s.apply_deltas(
        0,
        &[delta("N2", "S0", 1, SET, 5), delta("N2", "S0", 4, ADJ, 2)],
        t(1),
    );
    assert_eq!(out.applied, 2);
    assert_eq!(
        out.gaps,
        vec![SequenceGap {
            node: NodeId(2),
            expected: 2,
            received: 4
        }]
    );
    assert_eq!(s.freshness(NodeId(2)).sequence, 4);
    assert_eq!(s.level(NodeId(2), SkuId(0)).on_hand, 7);
}

fn quarantined_one(row: DeltaRow, setup: &[DeltaRow]) -> (StockStore, QuarantinedRow) {
    let s = store();
    s.apply_deltas(0, setup, t(1));
    let out = s.apply_deltas(10, &[row], t(2));
    assert_eq!(out.applied, 0);
    assert_eq!(out.quarantined.len(), 1, "{out:?}");
    (s, out.quarantined[0].clone())
}

#[test]
fn unknown_node_is_quarantined() {
    let (s, q) = quarantined_one(delta("NX", "S0", 1, SET, 1), &[]);
    assert_eq!(
        (q.reason, q.index, q.reason.as_str()),
        (QuarantineReason::UnknownNode, 10, "unknown_node")
    );
    assert!(s.all_freshness().iter().all(|f| f.sequence == 0));
}

#[test]
fn unknown_sku_is_quarantined_and_advances_sequence() {
    let (s, q) = quarantined_one(delta("N0", "SX", 1, SET, 1), &[]);
    assert_eq!(q.reason, QuarantineReason::UnknownSku);
    let f = s.freshness(NodeId(0));
    assert_eq!((f.sequence, f.version), (1, 0));
    // A replay of the quarantined row is a duplicate, not quarantined again.
    let out = s.apply_deltas(11, &[delta("N0", "SX", 1, SET, 1)], t(3));
    assert_eq!((out.duplicates, out.quarantined.len()), (1, 0));
}

#[test]
fn invalid_kind_is_quarantined() {
    let (_, q) = quarantined_one(delta("N0", "S0", 1, None, 1), &[]);
    assert_eq!(q.reason, QuarantineReason::InvalidKind);
}

#[test]
fn negative_set_is_quarantined() {
    let (_, q) = quarantined_one(delta("N0", "S0", 1, SET, -1), &[]);
    assert_eq!(q.reason, QuarantineReason::NegativeQuantity);
}

#[test]
fn adjust_below_zero_is_quarantined_with_current_on_hand() {
    let (s, q) = quarantined_one(
        delta("N0", "S0", 2, ADJ, -5),
        &[delta("N0", "S0", 1, SET, 3)],
    );
    assert_eq!(q.reason, QuarantineReason::NegativeQuantity);
    assert!(
        q.message.contains("on_hand 3") && q.message.contains("-5"),
        "{}",
        q.message
    );
    assert_eq!(s.level(NodeId(0), SkuId(0)).on_hand, 3);
    let (_, q) = quarantined_one(
        delta("N0", "S0", 2, ADJ, i64::MAX),
        &[delta("N0", "S0", 1, SET, 3)],
    );
    assert_eq!(q.reason, QuarantineReason::NegativeQuantity);
}

#[test]
fn negative_protected_is_quarantined() {
    let mut row = delta("N0", "S0", 1, SET, 3);
    row.protected = Some(-1);
    let (s, q) = quarantined_one(row, &[]);
    assert_eq!(q.reason, QuarantineReason::NegativeProtected);
    assert_eq!(s.node_levels(NodeId(0)).1, vec![]);
}

#[test]
fn protected_is_set_when_given() {
    let s = store();
    let mut row = delta("N0", "S0", 1, SET, 3);
    row.protected = Some(2);
    s.apply_deltas(0, &[row, delta("N0", "S0", 2, ADJ, 1)], t(1));
    assert_eq!(s.level(NodeId(0), SkuId(0)), lvl(4, 0, 2));
}

#[test]
fn quarantine_log_counts_and_keeps_recent() {
    let s = store();
    s.apply_deltas(
        0,
        &[
            delta("NX", "S0", 1, SET, 1),
            delta("N0", "S0", 1, None, 1),
            delta("NY", "S0", 1, SET, 1),
        ],
        t(1),
    );
    let counts = s.quarantine_counts();
    assert!(counts.contains(&(QuarantineReason::UnknownNode, 2)));
    assert!(counts.contains(&(QuarantineReason::InvalidKind, 1)));
    let recent = s.recent_quarantined(2);
    assert_eq!(
        recent.iter().map(|q| q.index).collect::<Vec<_>>(),
        vec![1, 2]
    );
}

#[test]
fn on_hand_may_drop_below_reserved() {
    let s = store();
    s.apply_deltas(0, &[delta("N0", "S0", 1, SET, 5)], t(1));
    s.reserve(NodeId(0), SkuId(0), 4).unwrap();
    s.apply_deltas(1, &[delta("N0", "S0", 2, SET, 2)], t(2));
    let l = s.level(NodeId(0), SkuId(0));
    assert_eq!((l.on_hand, l.reserved, l.available()), (2, 4, 0));
}

#[test]
fn replace_swaps_snapshot_and_sets_sequence() {
    let s = store();
    s.apply_deltas(0, &[delta("N1", "S3", 1, SET, 9)], t(1));
    let f = s
        .replace_node(
            NodeId(1),
            vec![(SkuId(2), lvl(5, 1, 0)), (SkuId(0), lvl(1, 0, 0))],
            40,
            t(2),
        )
        .unwrap();
    assert_eq!(
        (f.version, f.sequence, f.rows, f.updated_at),
        (2, 40, 2, t(2))
    );
    let (_, rows) = s.node_levels(NodeId(1));
    assert_eq!(
        rows,
        vec![(SkuId(0), lvl(1, 0, 0)), (SkuId(2), lvl(5, 1, 0))]
    );
    assert_eq!(s.level(NodeId(1), SkuId(3)), StockLevel::default());
}

#[test]
fn failed_replace_keeps_the_old_snapshot() {
    let s = store();
    s.replace_node(NodeId(0), vec![(SkuId(1), lvl(3, 0, 0))], 7, t(1))
        .unwrap();
    let before = s.node_levels(NodeId(0));
    let e = s
        .replace_node(
            NodeId(0),
            vec![(SkuId(1), lvl(3, 0, 0)), (SkuId(2), lvl(3, -1, 0))],
            9,
            t(2),
        )
        .unwrap_err();
    assert!(
        matches!(e, StockError::InvalidRow { ref at, field: "reserved", .. } if at == "rows[1]"),
        "{e}"
    );
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    let e = s
        .replace_node(
            NodeId(0),
            vec![
                (SkuId(2), lvl(1, 0, 0)),
                (SkuId(1), lvl(1, 0, 0)),
                (SkuId(2), lvl(2, 0, 0)),
            ],
            9,
            t(2),
        )
        .unwrap_err();
    assert!(
        matches!(e, StockError::DuplicateSku { ref at, ref sku } if at == "rows[2]" && sku == "S2"),
        "{e}"
    );
    let e = s
        .replace_node(NodeId(0), vec![(SkuId(99), lvl(1, 0, 0))], 9, t(2))
        .unwrap_err();
    assert!(matches!(e, StockError::UnknownSku { .. }), "{e}");
    let e = s.replace_node(NodeId(9), vec![], 9, t(2)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    assert_eq!(s.node_levels(NodeId(0)), before);
}

#[test]
fn reserve_and_release() {
    let s = store();
    s.replace_node(NodeId(0), vec![(SkuId(0), lvl(10, 2, 0))], 0, t(1))
        .unwrap();
    assert_eq!(s.reserve(NodeId(0), SkuId(0), 8).unwrap(), lvl(10, 10, 0));
    let e = s.reserve(NodeId(0), SkuId(0), 1).unwrap_err();
    assert!(
        matches!(
            e,
            StockError::Insufficient {
                requested: 1,
                available: 0,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.code(), ErrorCode::FailedPrecondition);
    assert!(matches!(
        s.reserve(NodeId(0), SkuId(1), 1),
        Err(StockError::Insufficient { .. })
    ));
    assert!(matches!(
        s.reserve(NodeId(0), SkuId(0), -1),
        Err(StockError::InvalidQuantity(-1))
    ));
    assert_eq!(s.release(NodeId(0), SkuId(0), 3), lvl(10, 7, 0));
    // Only allot's own holds are released; the feed's 2 reserved units stay.
    assert_eq!(s.release(NodeId(0), SkuId(0), 100), lvl(10, 2, 0));
    assert_eq!(s.release(NodeId(0), SkuId(0), -5), lvl(10, 2, 0));
    assert_eq!(s.release(NodeId(0), SkuId(3), 1), StockLevel::default());
    assert_eq!(s.freshness(NodeId(0)).version, 1);
}

#[test]
fn csv_load_replaces_only_nodes_in_the_file() {
    let s = store();
    s.replace_node(NodeId(2), vec![(SkuId(0), lvl(1, 0, 0))], 5, t(0))
        .unwrap();
    let text = "sku, node ,on_hand,protected\n\nS1,N0,5,1\nS0,N0,3,\n  \nS2,N1,0,0\n";
    let sum = s.load_csv(text.as_bytes(), "stock.csv", t(1)).unwrap();
    assert_eq!(sum.rows, 3);
    assert_eq!(
        sum.nodes
            .iter()
            .map(|f| (f.node.0, f.rows, f.version))
            .collect::<Vec<_>>(),
        vec![(0, 2, 1), (1, 1, 1)]
    );
    assert_eq!(s.level(NodeId(0), SkuId(1)), lvl(5, 0, 1));
    assert_eq!(s.level(NodeId(0), SkuId(0)), lvl(3, 0, 0));
    assert_eq!(s.level(NodeId(2), SkuId(0)), lvl(1, 0, 0));
    assert_eq!(s.freshness(NodeId(2)).sequence, 5);
}

fn csv_err(text: &str) -> StockError {
    let s = store();
    s.load_csv("node,sku,on_hand\nN0,S0,1\n".as_bytes(), "seed.csv", t(0))
        .unwrap();
    let before = s.all_freshness();
    let e = s.load_csv(text.as_bytes(), "stock.csv", t(1)).unwrap_err();
    assert_eq!(s.all_freshness(), before, "a failed load changed something");
    assert_eq!(s.level(NodeId(0), SkuId(0)).on_hand, 1);
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    e
}

#[test]
fn csv_errors_name_line_and_field() {
    let e = csv_err("node,sku,on_hand,reserved\nN1,S0,1,0\n\nN0,S1,x,0\n");
    assert_eq!(
        e.to_string(),
        "stock.csv:4: on_hand: expected a whole number, got \"x\""
    );
    let e = csv_err("node,sku,on_hand,reserved\nN1,S0,1,-2\n");
    assert!(
        matches!(e, StockError::InvalidRow { ref at, field: "reserved", .. } if at == "stock.csv:2"),
        "{e}"
    );
    let e = csv_err("node,sku,on_hand\nN1,S0,\n");
    assert!(
        matches!(
            e,
            StockError::InvalidRow {
                field: "on_hand",
                ..
            }
        ),
        "{e}"
    );
    let e = csv_err("node,sku,on_hand\nNX,S0,1\n");
    assert!(
        matches!(e, StockError::InvalidRow { ref at, field: "node", .. } if at == "stock.csv:2"),
        "{e}"
    );
    let e = csv_err("node,sku,on_hand\nN1,SX,1\n");
    assert!(
        matches!(e, StockError::UnknownSku { ref at, .. } if at == "stock.csv:2"),
        "{e}"
    );
    let e = csv_err("node,sku,on_hand\nN1,S0,1\nN0,S0,1\nN1,S0,2\n");
    assert!(
        matches!(e, StockError::DuplicateSku { ref at, ref sku } if at == "stock.csv:4" && sku == "S0"),
        "{e}"
    );
    let e = csv_err("node,sku,on_hand\nN1,S0,1,4\n");
    assert!(
        matches!(e, StockError::Csv { ref at, .. } if at == "stock.csv:2"),
        "{e}"
    );
}

#[test]
fn csv_header_is_required_and_checked() {
    for (text, needle) in [
        ("", "missing header"),
        ("N0,S0,1\n", "unknown column \"N0\""),
        ("node,sku,on_hand,colour\n", "unknown column \"colour\""),
        ("node,sku,reserved\n", "missing required column \"on_hand\""),
        ("node,sku,on_hand,node\n", "appears twice"),
    ] {
        let e = csv_err(text);
        assert!(
            matches!(e, StockError::Csv { ref at, .. } if at == "stock.csv:1"),
            "{e}"
        );
        assert!(e.to_string().contains(needle), "{e}");
    }
}

#[test]
fn delta_csv_reads_rows_and_leaves_bad_kinds_to_quarantine() {
    let text = "node,sku,sequence,kind,quantity,protected\nN0,S0,1,set,5,\nN0,S0,2,ADJUST,-2,1\n\nN0,S0,3,move,1,\n";
    let rows = read_delta_csv(text.as_bytes(), "d.csv").unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!((rows[0].kind, rows[0].protected), (SET, None));
    assert_eq!(
        (rows[1].kind, rows[1].quantity, rows[1].protected),
        (ADJ, -2, Some(1))
    );
    assert_eq!(rows[2].kind, None);
    let e = read_delta_csv(
        "node,sku,sequence,kind,quantity\nN0,S0,-1,set,5\n".as_bytes(),
        "d.csv",
    )
    .unwrap_err();
    assert!(
        matches!(e, StockError::InvalidRow { ref at, field: "sequence", .. } if at == "d.csv:2"),
        "{e}"
    );
}

#[test]
fn every_change_of_a_sku_moves_its_generation_and_only_its() {
    let s = store();
    let (a, b) = (SkuId(1), SkuId(2));
    let gens = |s: &StockStore| (s.sku_generation(a), s.sku_generation(b));
    let mut last = gens(&s);
    let mut step = |s: &StockStore, what: &str, a_moves: bool, b_moves: bool| {
        let now = gens(s);
        assert_eq!(now.0 != last.0, a_moves, "{what}: SKU a");
        assert_eq!(now.1 != last.1, b_moves, "{what}: SKU b");
        last = now;
    };
    s.apply_deltas(0, &[delta("N0", "S1", 1, SET, 10)], t(1));
    step(&s, "delta", true, false);
    s.reserve(NodeId(0), a, 2).unwrap();
    step(&s, "hold", true, false);
    assert!(s.reserve(NodeId(0), a, 100).is_err());
    step(&s, "refused hold", false, false);
    s.release(NodeId(0), a, 1);
    step(&s, "release", true, false);
    s.ship_many(&[(NodeId(0), a, 1)], t(2));
    step(&s, "shipment", true, false);
    let _ = (s.level(NodeId(0), a), s.order_view(&[a, b]));
    step(&s, "reads", false, false);
    // A replacement moves every SKU the node had and has.
    s.replace_node(NodeId(0), vec![(b, lvl(5, 0, 0))], 2, t(3))
        .unwrap();
    step(&s, "replacement", true, true);
    s.apply_deltas(0, &[delta("N1", "S2", 1, ADJ, 1)], t(4));
    step(&s, "delta at another node", false, true);
    // Duplicates and quarantined rows change nothing.
    s.apply_deltas(0, &[delta("N1", "S2", 1, ADJ, 1)], t(5));
    s.apply_deltas(0, &[delta("N1", "S1", 2, ADJ, -50)], t(5));
    step(&s, "duplicate and quarantined rows", false, false);
    assert_eq!(s.sku_generation(SkuId(9_999)), 0);
}

#[test]
fn a_snapshot_older_than_applied_deltas_is_refused_unless_the_feed_resets() {
    let s = store();
    s.replace_node(NodeId(0), vec![(SkuId(1), lvl(10, 0, 0))], 3, t(1))
        .unwrap();
    let out = s.apply_deltas(0, &[delta("N0", "S1", 4, ADJ, -2)], t(2));
    assert_eq!(out.applied, 1);
    // As of delta 3: taking it would roll delta 4 back.
    let e = s
        .replace_node(NodeId(0), vec![(SkuId(1), lvl(10, 0, 0))], 3, t(3))
        .unwrap_err();
    assert!(
        matches!(
            e,
            StockError::StaleSnapshot {
                as_of: 3,
                applied: 4,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.code(), ErrorCode::FailedPrecondition);
    assert!(e.to_string().starts_with("as_of_sequence: "), "{e}");
    assert_eq!(s.level(NodeId(0), SkuId(1)).on_hand, 8, "nothing changed");
    assert_eq!(s.freshness(NodeId(0)).sequence, 4);
    // As of the last applied delta (or later) it is taken.
    let fresh = s
        .replace_node(NodeId(0), vec![(SkuId(1), lvl(20, 0, 0))], 4, t(4))
        .unwrap();
    assert_eq!(fresh.sequence, 4);
    assert_eq!(s.level(NodeId(0), SkuId(1)).on_hand, 20);
    // A feed that restarts its numbering says so.
    let fresh = s
        .reset_node(NodeId(0), vec![(SkuId(1), lvl(5, 0, 0))], 0, t(5))
        .unwrap();
    assert_eq!(fresh.sequence, 0);
    let out = s.apply_deltas(0, &[delta("N0", "S1", 1, ADJ, 1)], t(6));
    assert_eq!(out.applied, 1, "the restarted feed's first delta applies");
    assert_eq!(s.level(NodeId(0), SkuId(1)).on_hand, 6);
}
