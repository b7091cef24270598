//! Runs one parsed `allotctl` command.

use std::process::ExitCode;
use std::time::Duration;

use allot_client::input::{parse_delta_csv, parse_stock_csv};
use allot_client::json::from_json;
use allot_client::proto::{
    GetNetworkRequest, GetNodeStockRequest, GetSkuAvailabilityRequest, GetStockStatusRequest,
};
use allot_client::{AllotClient, ServingStatus};
use anyhow::bail;

use super::cli::{
    AllocateArgs, Cli, Command, HealthArgs, PromiseArgs, ReservationCommand, ReturnsArgs,
    ScoreArgs, StockCommand,
};
use super::output::{print_line, print_one, write_line};
use super::server::Server;

/// Runs `cli`; the exit code is for outcomes that are not errors (e.g.
/// `health` answered NOT_SERVING).
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let server = Server::new(&cli.endpoints, &cli.connection);
    match cli.command {
        Command::Health(args) => health(&server, args).await,
        Command::Stock(cmd) => {
            stock(&server, cmd).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Allocate(args) => {
            allocate(&server, args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Score(args) => {
            score(&server, args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Returns(args) => {
            returns(&server, args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Promise(args) => {
            promise(&server, args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Reservation(cmd) => {
            reservation(&server, cmd).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Evaluate { request } => {
            let message: allot_client::proto::EvaluatePlanRequest =
                read_json(&request, "EvaluatePlanRequest")?;
            let client = server.connect().await?;
            let answer = client
                .allocation()
                .evaluate_plan(message)
                .await?
                .into_inner();
            print_one(&answer, "EvaluatePlanResponse")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain(args) => {
            super::decisions::explain(&server, args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Watch(args) => {
            super::decisions::watch(&server, args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Reoptimize(args) => {
            super::reoptimize::reoptimize(&server, args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay(args) => {
            super::decisions::replay(&server, args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Load(args) => {
            super::load::load(&server, *args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Models(cmd) => {
            super::models::models(&server, cmd).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Return(args) => {
            super::returns::route_return(&server, args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Forecast(args) => {
            super::forecast::forecast(&server, args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan(cmd) => {
            super::plan::plan(&server, cmd).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Network { include_skus } => {
            let client = server.connect().await?;
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
async fn health(server: &Server, args: HealthArgs) -> anyhow::Result<ExitCode> {
    let status = match args.wait {
        Some(seconds) => {
            // Lazy: the server may not be listening yet.
            let client = server.connect_lazy()?;
            let timeout = Duration::from_secs_f64(seconds);
            client
                .wait_until_service_serving(&args.service, timeout)
                .await?;
            ServingStatus::Serving
        }
        None => server.connect().await?.health(&args.service).await?,
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
async fn stock(server: &Server, cmd: StockCommand) -> anyhow::Result<()> {
    match cmd {
        StockCommand::Load {
            file,
            as_of_sequence,
            reset_feed,
        } => {
            let groups = parse_stock_csv(&file)?;
            let client = server.connect().await?;
            let position = allot_client::FeedPosition {
                as_of_sequence,
                reset_feed,
            };
            for response in client.load_stock_groups(groups, position).await? {
                print_line(&response, "ReplaceNodeStockResponse")?;
            }
        }
        StockCommand::Deltas { file, batch_size } => {
            let batch_size = usize::try_from(batch_size)?;
            let deltas = parse_delta_csv(&file)?;
            let client = server.connect().await?;
            let summary = client.stream_deltas(deltas, batch_size).await?;
            print_one(&summary, "StockDeltaSummary")?;
        }
        other => {
            let client = server.connect().await?;
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

/// `allocate`: from a JSON file or a random order of the served network.
async fn allocate(server: &Server, args: AllocateArgs) -> anyhow::Result<()> {
    let client = server.connect().await?;
    let mut request: allot_client::proto::AllocateRequest =
        match (&args.source.order, args.source.random_order) {
            (Some(path), _) => read_json(path, "AllocateRequest")?,
            (None, Some(seed)) => allot_client::random::random_order(
                &served_network(&client).await?,
                seed,
                args.lines,
            ),
            (None, None) => bail!("give --order FILE.json or --random-order SEED"),
        };
    if args.context {
        let buyer = args.source.random_order.unwrap_or(0) as usize;
        allot_client::random::attach_buyer(buyer, &mut request);
    }
    if let Some(days) = args.promise_days {
        request.promised_by = Some(allot_client::random::promised_after(
            std::time::SystemTime::now(),
            days,
        ));
    }
    if let Some(key) = args.commit {
        let options = request.options.get_or_insert_with(Default::default);
        options.commit = true;
        options.idempotency_key = key;
    }
    if args.show_request {
        eprintln!(
            "{}",
            allot_client::json::to_json(&request, "AllocateRequest")?
        );
    }
    let mut call = tonic::Request::new(request);
    if let Some(ms) = args.timeout_ms {
        call.set_timeout(Duration::from_millis(ms));
    }
    let answer = client.allocation().allocate(call).await?.into_inner();
    print_one(&answer, "AllocateResponse")
}

/// `reservation get|confirm|release`.
async fn reservation(server: &Server, cmd: ReservationCommand) -> anyhow::Result<()> {
    let client = server.connect().await?;
    let mut allocation = client.allocation();
    let answer = match cmd {
        ReservationCommand::Confirm { id } => {
            allocation
                .confirm_reservation(allot_client::proto::ConfirmReservationRequest {
                    reservation_id: id,
                })
                .await?
        }
        ReservationCommand::Get { id } => {
            allocation
                .get_reservation(allot_client::proto::GetReservationRequest { reservation_id: id })
                .await?
        }
        ReservationCommand::Release { id, note } => {
            allocation
                .release_reservation(allot_client::proto::ReleaseReservationRequest {
                    reservation_id: id,
                    reason: allot_client::proto::ReleaseReason::Other as i32,
                    note,
                })
                .await?
        }
    };
    print_one(&answer.into_inner(), "Reservation")
}

/// `score`: from a JSON file or a random order of the served network.
async fn score(server: &Server, args: ScoreArgs) -> anyhow::Result<()> {
    let client = server.connect().await?;
    let request: allot_client::proto::ScoreOrderRequest =
        match (&args.source.order, args.source.random_order) {
            (Some(path), _) => read_json(path, "ScoreOrderRequest")?,
            (None, Some(seed)) => allot_client::random::random_score_request(
                &served_network(&client).await?,
                seed,
                args.lines,
            ),
            (None, None) => bail!("give --order FILE.json or --random-order SEED"),
        };
    let answer = client.risk().score_order(request).await?.into_inner();
    print_one(&answer, "RiskAssessment")
}

/// The ReportReturnsRequest of `returns`: from a JSON file, or one returned
/// order from the flags.
pub(crate) fn returns_request(
    args: ReturnsArgs,
) -> anyhow::Result<allot_client::proto::ReportReturnsRequest> {
    match (args.source.request, args.source.order) {
        (Some(path), _) => read_json(&path, "ReportReturnsRequest"),
        (None, Some(order_id)) => Ok(allot_client::proto::ReportReturnsRequest {
            returns: vec![allot_client::proto::ReturnedOrder {
                order_id,
                customer_id: args.customer.unwrap_or_default(),
                email: args.email.unwrap_or_default(),
                returned_at: args.returned_at,
            }],
        }),
        (None, None) => bail!("give --request FILE.json or --order ORDER_ID"),
    }
}

/// `returns`: report returned orders.
async fn returns(server: &Server, args: ReturnsArgs) -> anyhow::Result<()> {
    let request = returns_request(args)?;
    let client = server.connect().await?;
    let answer = client.risk().report_returns(request).await?.into_inner();
    print_one(&answer, "ReportReturnsResponse")
}

/// `promise`: from a JSON file or a random cart of the served network.
async fn promise(server: &Server, args: PromiseArgs) -> anyhow::Result<()> {
    let client = server.connect().await?;
    let request: allot_client::proto::PromiseRequest =
        match (&args.source.cart, args.source.random_cart) {
            (Some(path), _) => read_json(path, "PromiseRequest")?,
            (None, Some(seed)) => {
                allot_client::random::random_cart(&served_network(&client).await?, seed, args.lines)
            }
            (None, None) => bail!("give --cart FILE.json or --random-cart SEED"),
        };
    if args.show_request {
        eprintln!(
            "{}",
            allot_client::json::to_json(&request, "PromiseRequest")?
        );
    }
    let answer = client
        .promise()
        .get_delivery_promise(request)
        .await?
        .into_inner();
    print_one(&answer, "PromiseResponse")
}

/// A protobuf message read from a proto3 JSON file.
fn read_json<M: prost::Message + Default>(path: &std::path::Path, name: &str) -> anyhow::Result<M> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    Ok(from_json(&text, name)?)
}

/// The served network with its SKUs (what random orders are drawn from).
async fn served_network(
    client: &AllotClient,
) -> anyhow::Result<allot_client::proto::NetworkDescription> {
    Ok(client
        .admin()
        .get_network(GetNetworkRequest { include_skus: true })
        .await?
        .into_inner())
}
