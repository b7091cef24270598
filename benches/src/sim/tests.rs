//! A two-day run of a small world, both arms: the run itself checks that
//! every unit shipped was available and left the stock (an invariant error
//! fails it); here, both arms saw the same orders, the KPIs are shares and
//! costs that make sense, and the arm without transfers moved nothing.

use std::time::Duration;

use allot_training::world::{World, WorldConfig};

use super::orders::window;
use super::{Arm, SimConfig, TransferSolver, run_arm};

#[test]
fn two_days_of_a_small_world_keep_the_stock_whole_in_both_arms() {
    // The small world cut to 12 days and a third of its orders: the
    // window's 2 days, the 8 warm-up days and the last day.
    let world = World::generate(WorldConfig {
        days: 12,
        customers: 3_000,
        daily_orders: 70.0,
        ..WorldConfig::small(11)
    });
    let window = window(&world, 2, Some(25)).unwrap();
    assert!(window.orders() > 20, "{} orders", window.orders());
    assert!(!window.warmup.is_empty());
    let config = SimConfig {
        models_dir: std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models"),
        transfer_skus: 20,
        horizon_days: 7,
        solver: TransferSolver::Greedy,
        allocation_budget: Duration::from_secs(2),
    };
    let off = run_arm(&world, &window, &config, &Arm::parse("off").unwrap()).unwrap();
    let on = run_arm(&world, &window, &config, &Arm::parse("on").unwrap()).unwrap();
    for r in [&off, &on] {
        let t = &r.tally;
        assert_eq!(t.orders, window.orders() as u64, "{}", r.arm);
        let k = t.kpis();
        for share in [
            k.stockout_rate,
            k.line_stockout_rate,
            k.split_rate,
            k.on_time_rate,
            k.in_window_rate,
        ] {
            assert!((0.0..=1.0).contains(&share), "{}: {k:?}", r.arm);
        }
        assert!(k.cash_per_order > 0.0 && k.cost_per_order >= k.cash_per_order - 1e-9);
        assert!(t.orders_shipped > 0 && t.packages >= t.orders_shipped);
        assert!(t.forecast_series_days > 0);
    }
    assert_eq!(
        (off.tally.lines, off.tally.units),
        (on.tally.lines, on.tally.units)
    );
    assert_eq!(
        (
            off.tally.units_transferred,
            off.tally.transfer,
            off.tally.plans
        ),
        (0, 0, 0)
    );
    assert_eq!(on.tally.plans, 2);
    // The forecast check reads the same history in both arms.
    assert_eq!(off.tally.sold_units, on.tally.sold_units);
}
