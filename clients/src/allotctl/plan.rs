//! `allotctl plan`: plans for the network's operations
//! (PlanningService): `plan workload`, the units and staff hours per node
//! and day, and `plan transfers` (in [`super::transfers`]).

use allot_client::proto::{ForecastWorkloadRequest, WorkloadForecast};
use clap::{Args, Subcommand};

use super::output::{print_one, write_line};
use super::server::Server;

/// The `plan` subcommands.
#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Units to pick and ship and staff hours per node and local day:
    /// forecast demand routed as allocation routes it, plus held
    /// reservations (PlanningService.ForecastWorkload).
    Workload(WorkloadArgs),
    /// Propose transfers between nodes that cut the shortfalls the demand
    /// forecast expects, at least cost (PlanningService.PlanTransfers).
    Transfers(super::transfers::TransfersArgs),
}

/// Arguments of `plan workload`.
#[derive(Debug, Args)]
pub struct WorkloadArgs {
    /// A node code; repeat for several (none: every node).
    #[arg(long = "node", value_name = "CODE")]
    pub nodes: Vec<String>,
    /// Days from each node's today, 1 to 14.
    #[arg(long, value_name = "N", default_value_t = 7)]
    pub days: u32,
    /// Only this SKU's demand and holds (in every region); repeat for
    /// several, at most 20.
    #[arg(long = "sku", value_name = "CODE")]
    pub skus: Vec<String>,
    /// Print the WorkloadForecast as JSON instead of one line per day.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `plan` subcommand.
pub async fn plan(server: &Server, command: PlanCommand) -> anyhow::Result<()> {
    match command {
        PlanCommand::Workload(args) => workload(server, args).await,
        PlanCommand::Transfers(args) => super::transfers::transfers(server, args).await,
    }
}

async fn workload(server: &Server, args: WorkloadArgs) -> anyhow::Result<()> {
    let client = server.connect().await?;
    let answer = client
        .planning()
        .forecast_workload(ForecastWorkloadRequest {
            nodes: args.nodes,
            horizon_days: args.days,
            skus: args.skus,
        })
        .await?
        .into_inner();
    if args.json {
        return print_one(&answer, "WorkloadForecast");
    }
    write_line(&workload_text(&answer))
}

/// The workload as lines: a header, then per node its productivity and
/// capacity and one line per day.
pub fn workload_text(answer: &WorkloadForecast) -> String {
    let mut header = format!(
        "model {}: {} series routed, {} unrouted ({:.1} units)",
        answer.model_version, answer.series_routed, answer.series_unrouted, answer.unrouted_units
    );
    if answer.series_left_out > 0 {
        header.push_str(&format!(", {} left out", answer.series_left_out));
    }
    let mut out = vec![header];
    for n in &answer.nodes {
        out.push(format!(
            "{}: {} units per staff hour, capacity {} units a day",
            n.node, n.units_per_staff_hour, n.daily_capacity_units
        ));
        for d in &n.days {
            let flag = if d.closed {
                "  closed"
            } else if d.over_capacity {
                "  OVER CAPACITY"
            } else {
                ""
            };
            out.push(format!(
                "  {}  forecast {:>8.1}  reserved {:>6}  total {:>8.1}  staff hours {:>6.1}  utilisation {:>5.1}%{flag}",
                d.date,
                d.forecast_units,
                d.reserved_units,
                d.total_units,
                d.staff_hours,
                d.utilisation * 100.0
            ));
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use allot_client::proto::{DayWorkload, NodeWorkload};

    #[test]
    fn workload_takes_nodes_days_skus_and_json() {
        use super::super::cli::{Cli, Command};
        use clap::Parser;
        let cli = Cli::try_parse_from([
            "allotctl",
            "plan",
            "workload",
            "--node",
            "DC-ATL",
            "--node",
            "DC-RNO",
            "--days",
            "3",
            "--sku",
            "SKU-000001",
            "--json",
        ])
        .unwrap();
        let Command::Plan(PlanCommand::Workload(args)) = cli.command else {
            panic!("not plan workload: {:?}", cli.command);
        };
        assert_eq!(args.nodes, vec!["DC-ATL", "DC-RNO"]);
        assert_eq!((args.days, args.json), (3, true));
        assert_eq!(args.skus, vec!["SKU-000001"]);
        let defaults = Cli::try_parse_from(["allotctl", "plan", "workload"]).unwrap();
        let Command::Plan(PlanCommand::Workload(args)) = defaults.command else {
            panic!("not plan workload");
        };
        assert!(args.nodes.is_empty() && args.skus.is_empty() && !args.json);
        assert_eq!(args.days, 7);
    }

    #[test]
    fn text_shows_each_day_with_its_flags() {
        let day = |date: &str, total: f64, closed: bool, over: bool| DayWorkload {
            date: date.into(),
            forecast_units: total - 2.0,
            reserved_units: 2,
            total_units: total,
            staff_hours: total / 120.0,
            utilisation: total / 100.0,
            closed,
            over_capacity: over,
        };
        let answer = WorkloadForecast {
            model_version: "demand-1".into(),
            series_routed: 3,
            series_unrouted: 1,
            unrouted_units: 4.5,
            series_left_out: 0,
            nodes: vec![NodeWorkload {
                node: "DC-1".into(),
                units_per_staff_hour: 120,
                daily_capacity_units: 100,
                days: vec![
                    day("2026-12-07", 60.0, false, false),
                    day("2026-12-08", 130.0, false, true),
                    day("2026-12-12", 2.0, true, false),
                ],
            }],
        };
        let text = workload_text(&answer);
        assert!(
            text.starts_with("model demand-1: 3 series routed, 1 unrouted (4.5 units)"),
            "{text}"
        );
        assert!(text.contains("DC-1: 120 units per staff hour, capacity 100 units a day"));
        assert!(
            text.contains(
                "2026-12-07  forecast     58.0  reserved      2  total     60.0  staff hours    0.5  utilisation  60.0%\n"
            ),
            "{text}"
        );
        assert!(text.contains("utilisation 130.0%  OVER CAPACITY"), "{text}");
        assert!(text.contains("  closed"), "{text}");
    }
}
