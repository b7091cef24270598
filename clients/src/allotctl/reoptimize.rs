//! `allotctl reoptimize`: re-plan held orders together
//! (AllocationService.ReoptimizeBacklog).

use allot_client::proto::{self, reoptimize_backlog_request::Selection};
use clap::Args;

use super::output::{print_one, write_line};
use super::server::Server;

/// Arguments of `reoptimize`.
#[derive(Debug, Args)]
pub struct ReoptimizeArgs {
    /// Re-plan this held reservation (repeat for several).
    #[arg(long = "reservation", value_name = "ID", conflicts_with = "decisions")]
    pub reservations: Vec<String>,
    /// Re-plan the held reservations this allocation decision made (repeat
    /// for several).
    #[arg(long = "decision", value_name = "ID")]
    pub decisions: Vec<String>,
    /// Without ids: only held reservations with units at this node.
    #[arg(long, value_name = "CODE", default_value = "")]
    pub node: String,
    /// Without ids: only held reservations with units of this SKU.
    #[arg(long, value_name = "CODE", default_value = "")]
    pub sku: String,
    /// Cost of changing one order's plan, minor units (server default 100).
    #[arg(long, value_name = "MINOR")]
    pub move_penalty: Option<i64>,
    /// At most this many orders move.
    #[arg(long, value_name = "N")]
    pub max_moves: Option<u32>,
    /// Time the solve may take, ms (0: the server's 2000).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub budget_ms: u32,
    /// Apply the moves to the reservations (all or nothing); without it
    /// the answer is a proposal.
    #[arg(long)]
    pub commit: bool,
    /// Print a summary for a person (one line per move) instead of the
    /// JSON answer.
    #[arg(long)]
    pub summary: bool,
}

/// Runs `reoptimize`.
pub async fn reoptimize(server: &Server, args: ReoptimizeArgs) -> anyhow::Result<()> {
    let selection = if !args.reservations.is_empty() {
        Selection::Reservations(proto::ReservationIds {
            ids: args.reservations,
        })
    } else if !args.decisions.is_empty() {
        Selection::Decisions(proto::DecisionIds {
            ids: args.decisions,
        })
    } else {
        Selection::Held(proto::HeldFilter {
            node: args.node,
            sku: args.sku,
        })
    };
    let client = server.connect().await?;
    let answer = client
        .allocation()
        .reoptimize_backlog(proto::ReoptimizeBacklogRequest {
            selection: Some(selection),
            move_penalty_minor: args.move_penalty,
            max_moves: args.max_moves,
            commit: args.commit,
            budget_ms: args.budget_ms,
        })
        .await?
        .into_inner();
    if args.summary {
        return write_line(&summary(&answer));
    }
    print_one(&answer, "ReoptimizeBacklogResponse")
}

/// The answer for a person: totals, then one line per move.
fn summary(a: &proto::ReoptimizeBacklogResponse) -> String {
    let mut out = format!(
        "re-plan {}: {} orders, {} moves, saving {} ({} -> {}), packages {} -> {}, {}, {:.1} ms{}\n",
        a.replan_id,
        a.orders,
        a.moves.len(),
        a.saving_minor,
        a.objective_before_minor,
        a.objective_after_minor,
        a.packages_before,
        a.packages_after,
        if a.proven_optimal {
            "proven optimal".to_string()
        } else {
            format!("gap {:.3}%", a.gap * 100.0)
        },
        a.solve_time_us as f64 / 1000.0,
        if a.committed {
            ", committed"
        } else {
            " (a proposal: --commit applies it)"
        },
    );
    let units = |units: &[proto::ReservedUnits]| {
        units
            .iter()
            .map(|u| format!("{}x{}@{}", u.quantity, u.sku, u.node))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for m in &a.moves {
        let reasons: Vec<&str> = m.reasons.iter().map(|r| r.message.as_str()).collect();
        out.push_str(&format!(
            "  {} (order {}): saves {}: {} => {}; {}\n",
            m.reservation_id,
            m.order_id,
            m.saving_minor,
            units(&m.before),
            units(&m.after),
            reasons.join("; ")
        ));
    }
    for s in &a.skipped {
        out.push_str(&format!("  skipped {}: {}\n", s.reservation_id, s.reason));
    }
    out.trim_end().to_string()
}
