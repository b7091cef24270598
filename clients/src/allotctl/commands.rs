//! Runs one parsed `allotctl` command.

use std::process::ExitCode;
use std::time::Duration;

use allot_client::input::{parse_delta_csv, parse_stock_csv};
use allot_client::proto::{
    GetNetworkRequest, GetNodeStockRequest, GetSkuAvailabilityRequest, GetStockStatusRequest,
};
use allot_client::{AllotClient, ServingStatus};
use anyhow::bail;

use super::cli::{Cli, Command, HealthArgs, StockCommand};
use super::output::{print_line, print_one, write_line};

/// Runs `cli`; the exit code is for outcomes that are not errors (e.g.
/// `health` answered NOT_SERVING).
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Health(args) => health(&cli.endpoint, args).await,
        Command::Stock(cmd) => {
            stock(&cli.endpoint, cmd).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Network { include_skus } => {
            let client = AllotClient::connect(&cli.endpoint).await?;
            let network = client
                .admin()
                .get_network(GetNetworkRequest { include_skus })
                .await?
                .into_inner();
            print_one(&network, "NetworkDescription")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `health`: prints `{"status":"..."}`, success only when SERVING.
async fn health(endpoint: &str, args: HealthArgs) -> anyhow::Result<ExitCode> {
    let status = match args.wait {
        Some(seconds) => {
            // Lazy: the server may not be listening yet.
            let client = AllotClient::connect_lazy(endpoint)?;
            let timeout = Duration::from_secs_f64(seconds);
            client
                .wait_until_service_serving(&args.service, timeout)
                .await?;
            ServingStatus::Serving
        }
        None => {
            AllotClient::connect(endpoint)
                .await?
                .health(&args.service)
                .await?
        }
    };
    write_line(&serde_json::json!({ "status": status.as_str_name() }).to_string())?;
    Ok(if status == ServingStatus::Serving {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The `stock` subcommands. CSV files are parsed before connecting, so a
/// malformed file is reported even when the server is down.
async fn stock(endpoint: &str, cmd: StockCommand) -> anyhow::Result<()> {
    match cmd {
        StockCommand::Load {
            file,
            as_of_sequence,
        } => {
            let groups = parse_stock_csv(&file)?;
            let client = AllotClient::connect(endpoint).await?;
            for response in client.load_stock_groups(groups, as_of_sequence).await? {
                print_line(&response, "ReplaceNodeStockResponse")?;
            }
        }
        StockCommand::Deltas { file, batch_size } => {
            let batch_size = usize::try_from(batch_size)?;
            let deltas = parse_delta_csv(&file)?;
            let client = AllotClient::connect(endpoint).await?;
            let summary = client.stream_deltas(deltas, batch_size).await?;
            print_one(&summary, "StockDeltaSummary")?;
        }
        other => {
            let client = AllotClient::connect(endpoint).await?;
            stock_read(&client, other).await?;
        }
    }
    Ok(())
}

/// The read-only `stock` subcommands.
async fn stock_read(client: &AllotClient, cmd: StockCommand) -> anyhow::Result<()> {
    match cmd {
        StockCommand::Load { .. } | StockCommand::Deltas { .. } => {
            unreachable!("handled by stock()")
        }
        StockCommand::Availability {
            sku,
            nodes,
            include_zero,
        } => {
            let request = GetSkuAvailabilityRequest {
                sku,
                nodes,
                include_zero,
            };
            let availability = client.inventory().get_sku_availability(request).await?;
            print_one(&availability.into_inner(), "SkuAvailability")?;
        }
        StockCommand::Node {
            code,
            page_size,
            all,
        } => {
            node_stock(client, code, page_size.unwrap_or(0), all).await?;
        }
        StockCommand::Status => {
            let status = client
                .inventory()
                .get_stock_status(GetStockStatusRequest {})
                .await?;
            print_one(&status.into_inner(), "StockStatus")?;
        }
    }
    Ok(())
}

/// `stock node`: one page pretty-printed, or with `all` every page as JSON
/// Lines.
async fn node_stock(
    client: &AllotClient,
    node: String,
    page_size: u32,
    all: bool,
) -> anyhow::Result<()> {
    let mut inventory = client.inventory();
    let mut page_token = String::new();
    loop {
        let request = GetNodeStockRequest {
            node: node.clone(),
            page_size,
            page_token,
        };
        let page = inventory.get_node_stock(request).await?.into_inner();
        if !all {
            return print_one(&page, "NodeStock");
        }
        print_line(&page, "NodeStock")?;
        if page.next_page_token.is_empty() {
            return Ok(());
        }
        if page.rows.is_empty() {
            bail!("server returned an empty page with a next_page_token; stopping");
        }
        page_token = page.next_page_token;
    }
}
