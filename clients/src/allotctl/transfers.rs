//! `allotctl plan transfers`: the rebalancing plan
//! (PlanningService.PlanTransfers).

use allot_client::proto::{PlanTransfersRequest, TransferPlan, TransferPlanStatus};
use clap::Args;

use super::output::{print_one, write_line};
use super::server::Server;

/// Arguments of `plan transfers`.
#[derive(Debug, Args)]
pub struct TransfersArgs {
    /// A SKU code to rebalance; repeat for several (up to 200).
    #[arg(long = "sku", value_name = "CODE", required = true)]
    pub skus: Vec<String>,
    /// A node that may send or receive; repeat for several. None: every
    /// node.
    #[arg(long = "node", value_name = "CODE")]
    pub nodes: Vec<String>,
    /// Days of demand the plan covers, 1 to 28.
    #[arg(long, value_name = "N", default_value_t = 14)]
    pub days: u32,
    /// Print the TransferPlan as JSON instead of one line per transfer.
    #[arg(long)]
    pub json: bool,
}

/// Runs `plan transfers`.
pub async fn transfers(server: &Server, args: TransfersArgs) -> anyhow::Result<()> {
    let client = server.connect().await?;
    let answer = client
        .planning()
        .plan_transfers(PlanTransfersRequest {
            skus: args.skus,
            nodes: args.nodes,
            horizon_days: args.days,
        })
        .await?
        .into_inner();
    if args.json {
        return print_one(&answer, "TransferPlan");
    }
    write_line(&transfers_text(&answer))
}

/// Dollars and cents of a minor amount.
fn money(minor: i64) -> String {
    format!(
        "{}{}.{:02}",
        if minor < 0 { "-" } else { "" },
        minor.abs() / 100,
        minor.abs() % 100
    )
}

/// The plan as lines: a summary, then per transfer a header and its SKUs
/// with their reasons.
pub fn transfers_text(plan: &TransferPlan) -> String {
    let status = match TransferPlanStatus::try_from(plan.status) {
        Ok(TransferPlanStatus::Optimal) => "optimal".to_string(),
        _ => format!("stopped at the deadline, gap {:.2}%", plan.gap * 100.0),
    };
    let mut out = vec![format!(
        "{} transfers over {} days ({status}, {:.0} ms): transfers {} + shortfalls {} -> {} (before {}), saving {}",
        plan.transfers.len(),
        plan.horizon_days,
        plan.elapsed_ms,
        money(plan.transfer_cost_minor),
        money(plan.shortfall_cost_after_minor),
        money(plan.transfer_cost_minor + plan.shortfall_cost_after_minor),
        money(plan.shortfall_cost_before_minor),
        money(plan.saving_minor),
    )];
    for t in &plan.transfers {
        out.push(format!(
            "{} -> {} by {} ({} dispatch{}, {} units, {}, arrives {})",
            t.from,
            t.to,
            t.mode,
            t.dispatches,
            if t.dispatches == 1 { "" } else { "es" },
            t.units,
            money(t.cost_minor),
            t.arrives_on
        ));
        for l in &t.lines {
            out.push(format!("  {} x{}: {}", l.sku, l.units, l.message));
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use allot_client::proto::{Transfer, TransferLine};

    #[test]
    fn text_shows_each_transfer_and_its_reason() {
        let plan = TransferPlan {
            horizon_days: 14,
            transfer_cost_minor: 2_500,
            shortfall_cost_before_minor: 10_000,
            shortfall_cost_after_minor: 4_000,
            saving_minor: 3_500,
            status: TransferPlanStatus::Optimal as i32,
            transfers: vec![Transfer {
                from: "DC-ABE".into(),
                to: "ST-NYC".into(),
                mode: "truck".into(),
                dispatches: 1,
                units: 8,
                cost_minor: 2_500,
                arrives_on: "2026-12-09".into(),
                lines: vec![TransferLine {
                    sku: "SKU-000001".into(),
                    units: 8,
                    message: "ST-NYC expects 12.0 units".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let text = transfers_text(&plan);
        assert!(text.contains("saving 35.00"), "{text}");
        assert!(
            text.contains("DC-ABE -> ST-NYC by truck (1 dispatch, 8 units, 25.00"),
            "{text}"
        );
        assert!(
            text.contains("SKU-000001 x8: ST-NYC expects 12.0 units"),
            "{text}"
        );
    }
}
