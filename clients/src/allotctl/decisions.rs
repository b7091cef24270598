//! `allotctl explain`, `watch` and `replay`: the decision log.

use allot_client::decisions::{event_line, explain_text, parse_event_kind, replay_text};
use allot_client::proto::DecisionEventKind;
use anyhow::bail;
use clap::Args;
use tokio_stream::StreamExt;

use super::output::{print_line, print_one, write_line};
use super::server::Server;

/// Arguments of `explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The decision id, as returned in a response's `decision_id`.
    #[arg(value_name = "DECISION_ID")]
    pub decision_id: String,
    /// Print the DecisionRecord as proto3 JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Resume after this position (the last one you received); 0 = from the
    /// oldest retained event. Absent: only events from now on.
    #[arg(long, value_name = "N")]
    pub from: Option<u64>,
    /// Only events of this kind (repeatable), e.g. `order-allocated`,
    /// `risk-scored`, `reservation-expired`.
    #[arg(long = "kind", value_name = "KIND", value_parser = kind)]
    pub kinds: Vec<DecisionEventKind>,
    /// Print each event as one line of proto3 JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The decision id.
    #[arg(value_name = "DECISION_ID")]
    pub decision_id: String,
    /// Print the ReplayDecisionResponse as proto3 JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn kind(text: &str) -> Result<DecisionEventKind, String> {
    parse_event_kind(text).ok_or_else(|| {
        format!(
            "unknown event kind {text:?}; one of order-allocated, order-held, promise-quoted, \
             risk-scored, reservation-confirmed, reservation-released, reservation-expired, return-routed"
        )
    })
}

/// `explain`: the recorded decision, readable or as JSON.
pub async fn explain(server: &Server, args: ExplainArgs) -> anyhow::Result<()> {
    let client = server.connect().await?;
    let record = client.explain(&args.decision_id).await?;
    if args.json {
        print_one(&record, "DecisionRecord")
    } else {
        write_line(explain_text(&record).trim_end())
    }
}

/// `watch`: events line by line until interrupted or the server ends the
/// stream (the error says from which position to resume).
pub async fn watch(server: &Server, args: WatchArgs) -> anyhow::Result<()> {
    let client = server.connect().await?;
    let mut events = client.watch(args.from, args.kinds).await?;
    let mut last = args.from;
    while let Some(event) = events.next().await {
        match event {
            Ok(event) => {
                last = Some(event.position);
                if args.json {
                    print_line(&event, "DecisionEvent")?;
                } else {
                    write_line(&event_line(&event))?;
                }
            }
            Err(status) => match last {
                Some(position) => bail!(
                    "{}: {} (resume with --from {position})",
                    allot_client::code_name(status.code()),
                    status.message()
                ),
                None => return Err(status.into()),
            },
        }
    }
    Ok(())
}

/// `replay`: identical, or the differences.
pub async fn replay(server: &Server, args: ReplayArgs) -> anyhow::Result<()> {
    let client = server.connect().await?;
    let replay = client.replay(&args.decision_id).await?;
    if args.json {
        print_one(&replay, "ReplayDecisionResponse")
    } else {
        write_line(replay_text(&replay).trim_end())
    }
}
