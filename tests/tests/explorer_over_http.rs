//! The decision explorer over HTTP against a real server: a decision is
//! found by order, customer, node and disposition, its page shows the plan,
//! costs, reasons, fraud score, reservation and map, replay says identical,
//! the reservation's history follows a confirmation, stock and models agree
//! with the gRPC answers, bad input is refused naming the field, and with
//! `[auth]` tokens only a token with the read role gets in. A routed return
//! is found by its node and disposition and shows where it goes and why.
#![allow(clippy::unwrap_used)] // a test may unwrap: a panic is its failure

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use allot_proto::v1 as pb;
use allot_proto::v1::admin_service_client::AdminServiceClient;
use allot_proto::v1::allocation_service_client::AllocationServiceClient;
use allot_proto::v1::inventory_service_client::InventoryServiceClient;
use allot_server::auth::{AuthConfig, Role, TokenConfig};
use allot_service::hash::sha256_hex;
use common::http::{Reply, get, post_form};
use common::orders::{buyer_order, line, order, return_request};
use common::{TestServer, test_config};

/// Reads `path` until its body contains `wanted` (the index follows the
/// feed a moment behind the answer).
async fn until_shown(web: SocketAddr, path: &str, wanted: &str) -> Reply {
    for _ in 0..200 {
        let reply = get(web, path, &[]).await;
        if reply.body.contains(wanted) {
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} never showed {wanted:?}");
}

/// The search results of a page (not its live feed).
fn results(reply: &Reply) -> &str {
    let start = reply
        .body
        .find("id=\"results\"")
        .unwrap_or(reply.body.len());
    let rest = &reply.body[start..];
    &rest[..rest.find("</table>").unwrap_or(rest.len())]
}

fn link(id: &str) -> String {
    format!("href=\"/decisions/{id}\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routed_return_is_found_and_shows_where_it_goes() {
    use allot_proto::v1::returns_service_client::ReturnsServiceClient;
    let (server, web) = TestServer::start_with_explorer(test_config()).await;
    server.wait_serving().await;
    let routed = ReturnsServiceClient::new(server.channel().await)
        .route_return(pb::RouteReturnRequest {
            order_id: "web-9".into(),
            ..return_request("rma-web", "SKU-000001", 2)
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!routed.node.is_empty(), "{routed:?}");
    let disposition = pb::ReturnDisposition::try_from(routed.disposition)
        .unwrap()
        .as_str_name()
        .trim_start_matches("RETURN_DISPOSITION_")
        .to_string();
    let found = until_shown(
        web,
        &format!("/?node={}&disposition={disposition}", routed.node),
        &link(&routed.decision_id),
    )
    .await;
    assert!(results(&found).contains(&link(&routed.decision_id)));
    let page = get(web, &format!("/decisions/{}", routed.decision_id), &[]).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Return rma-web"), "{}", page.body);
    assert!(page.body.contains("id=\"return-node\""));
    assert!(page.body.contains(&routed.node));
    let runner_up = routed.runner_up.as_ref().unwrap();
    assert!(
        page.body
            .contains(&format!("Runner-up: <strong>{}</strong>", runner_up.node))
    );
    // The order it came from is linked; the map marks the node.
    assert!(page.body.contains("href=\"/?order=web-9\""));
    assert!(
        page.body
            .contains(&format!("data-node=\"{}\"", routed.node)),
        "the map marks the node"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_is_found_explained_replayed_and_followed() {
    let (server, web) = TestServer::start_with_explorer(test_config()).await;
    server.wait_serving().await;
    let mut allocation = AllocationServiceClient::new(server.channel().await);
    let answer = allocation
        .allocate(buyer_order("web-1", "cust-42"))
        .await
        .unwrap()
        .into_inner();
    let other = allocation
        .allocate(buyer_order("web-2", "cust-7"))
        .await
        .unwrap()
        .into_inner();
    let node = answer.lines[0].assignments[0].node.clone();
    let disposition = pb::OrderDisposition::try_from(answer.disposition)
        .unwrap()
        .as_str_name()
        .trim_start_matches("ORDER_DISPOSITION_")
        .to_string();

    // Found by order, customer (the raw id, matched through its recorded
    // hash), node and disposition; the other order only where it matches.
    until_shown(web, "/feed?after=0", &link(&other.decision_id)).await;
    let by_order = get(web, "/?order=web-1", &[]).await;
    assert!(results(&by_order).contains(&link(&answer.decision_id)));
    assert!(!results(&by_order).contains(&link(&other.decision_id)));
    let by_customer = get(web, "/?customer=cust-42", &[]).await;
    assert!(results(&by_customer).contains(&link(&answer.decision_id)));
    assert!(!results(&by_customer).contains(&link(&other.decision_id)));
    let by_node = get(
        web,
        &format!("/?node={node}&disposition={disposition}"),
        &[],
    )
    .await;
    assert!(results(&by_node).contains(&link(&answer.decision_id)));
    let wrong_disposition = if disposition == "ALLOCATED" {
        "UNFULFILLABLE"
    } else {
        "ALLOCATED"
    };
    let none = get(
        web,
        &format!("/?order=web-1&disposition={wrong_disposition}"),
        &[],
    )
    .await;
    assert!(none.body.contains("id=\"results-title\""));
    assert!(!results(&none).contains(&link(&answer.decision_id)));

    // The page: plan, costs, reasons, fraud score, reservation, map.
    let page = get(web, &format!("/decisions/{}", answer.decision_id), &[]).await;
    assert_eq!(page.status, 200);
    for wanted in [
        "id=\"plan\"",
        "id=\"cost-terms\"",
        "id=\"reasons\"",
        "id=\"fraud-decision\"",
        "id=\"reservation-state\">HELD<",
        "class=\"used\" cx=",
        &format!("data-node=\"{node}\""),
        "class=\"destination\"",
    ] {
        assert!(page.body.contains(wanted), "the page lacks {wanted}");
    }
    let code = pb::ReasonCode::try_from(answer.lines[0].reasons[0].code)
        .unwrap()
        .as_str_name()
        .trim_start_matches("REASON_CODE_")
        .to_string();
    assert!(page.body.contains(&code), "the page lacks reason {code}");

    let replayed = post_form(
        web,
        &format!("/decisions/{}/replay", answer.decision_id),
        "",
        &[],
    )
    .await;
    assert_eq!(replayed.status, 200);
    assert!(replayed.body.contains("Identical"), "{}", replayed.body);

    // The reservation's life: confirmed through gRPC, shown with its event.
    let reservation = answer.reservation.clone().unwrap().reservation_id;
    allocation
        .confirm_reservation(pb::ConfirmReservationRequest {
            reservation_id: reservation,
        })
        .await
        .unwrap();
    let followed = until_shown(
        web,
        &format!("/decisions/{}", answer.decision_id),
        "RESERVATION_CONFIRMED",
    )
    .await;
    assert!(
        followed
            .body
            .contains("id=\"reservation-state\">CONFIRMED<")
    );

    // Stock and models as the gRPC API answers them.
    let availability = InventoryServiceClient::new(server.channel().await)
        .get_sku_availability(pb::GetSkuAvailabilityRequest {
            sku: "SKU-000001".into(),
            nodes: Vec::new(),
            include_zero: false,
        })
        .await
        .unwrap()
        .into_inner();
    let stock = get(web, "/stock?sku=SKU-000001", &[]).await;
    assert!(stock.body.contains(&format!(
        "available <strong>{}</strong>",
        availability.total_available
    )));
    for n in &availability.nodes {
        assert!(stock.body.contains(&format!("<td>{}</td>", n.node)));
    }
    let info = AdminServiceClient::new(server.channel().await)
        .get_model_info(pb::GetModelInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    let models = get(web, "/models", &[]).await;
    for card in &info.models {
        assert!(models.body.contains(&card.sha256), "{} missing", card.name);
    }
    // Both orders were scored: the distribution counts two.
    assert!(models.body.contains("over the 2 most recent scored orders"));

    // Bad input: the field is named, and nothing breaks.
    for (path, status, field) in [
        ("/?from=yesterday", 400, "from:"),
        ("/?kind=SHIPPED", 400, "kind:"),
        ("/?node=NOWHERE", 400, "node:"),
        ("/decisions/not-a-decision", 400, "decision_id"),
        ("/stock?sku=NO-SUCH-SKU", 404, "sku:"),
        ("/feed?after=last", 400, "after:"),
    ] {
        let reply = get(web, path, &[]).await;
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
        assert!(reply.body.contains(field), "{path}: {}", reply.body);
    }
    let unknown = get(web, "/decisions/dec_01M994CPGP09ZTG6X71G70YY8G", &[]).await;
    assert_eq!(unknown.status, 404);
    // A decision id alone opens the decision.
    let opened = get(web, &format!("/?decision={}", answer.decision_id), &[]).await;
    assert_eq!(opened.status, 303);
    assert_eq!(
        opened.header("location"),
        Some(format!("/decisions/{}", answer.decision_id).as_str())
    );

    // The live feed answers the rows after a position.
    let feed = get(web, "/feed?after=0", &[]).await;
    assert!(feed.body.contains(&link(&other.decision_id)));
    let last: u64 = feed.header("x-allot-last").unwrap().parse().unwrap();
    let nothing_new = get(web, &format!("/feed?after={last}"), &[]).await;
    assert!(!nothing_new.body.contains("<tr>"));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_token_with_the_read_role_gets_in() {
    let mut config = test_config();
    let token = |name: &str, role| TokenConfig {
        name: name.into(),
        sha256: sha256_hex(format!("secret-{name}").as_bytes()),
        roles: vec![role],
    };
    config.auth = AuthConfig {
        tokens: vec![token("reader", Role::Read), token("oms", Role::Decide)],
    };
    let (server, web) = TestServer::start_with_explorer(config).await;
    server.wait_serving().await;

    let anonymous = get(web, "/models", &[]).await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.body.contains("name=\"token\""));
    let decide = get(web, "/", &[("authorization", "Bearer secret-oms")]).await;
    assert_eq!(decide.status, 403);
    assert!(decide.body.contains("read"), "{}", decide.body);
    let read = get(web, "/", &[("authorization", "Bearer secret-reader")]).await;
    assert_eq!(read.status, 200);

    let wrong = post_form(web, "/signin", "token=guess&next=%2Fmodels", &[]).await;
    assert_eq!(wrong.status, 401);
    let signed = post_form(web, "/signin", "token=secret-reader&next=%2Fmodels", &[]).await;
    assert_eq!(signed.status, 303);
    assert_eq!(signed.header("location"), Some("/models"));
    let cookie = signed.header("set-cookie").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().unwrap().to_string();
    let with_cookie = get(web, "/models", &[("cookie", &pair)]).await;
    assert_eq!(with_cookie.status, 200);
    // No open redirect.
    let elsewhere = post_form(
        web,
        "/signin",
        "token=secret-reader&next=%2F%2Fevil.example",
        &[],
    )
    .await;
    assert_eq!(elsewhere.header("location"), Some("/"));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_keeps_the_most_recent_decisions_across_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config();
    let _ = std::fs::remove_dir_all(&config.decisions.dir);
    config.decisions.dir = data.path().join("decisions");
    config.explorer.index_limit = 2;
    let (server, web) = TestServer::start_with_explorer(config.clone()).await;
    server.wait_serving().await;
    let mut allocation = AllocationServiceClient::new(server.channel().await);
    let mut ids = Vec::new();
    for i in 0..10 {
        let request = order(
            &format!("kept-{i}"),
            vec![line("1", "SKU-000001", 1)],
            "10001",
        );
        ids.push(
            allocation
                .allocate(request)
                .await
                .unwrap()
                .into_inner()
                .decision_id,
        );
    }
    let check = |web: SocketAddr, ids: Vec<String>| async move {
        until_shown(web, "/feed?after=0", &link(&ids[9])).await;
        let front = get(web, "/", &[]).await;
        assert!(
            front.body.contains("Searches cover the 2 most recent"),
            "{}",
            front.body
        );
        let newest = get(web, "/?order=kept-9", &[]).await;
        assert!(results(&newest).contains(&link(&ids[9])));
        let oldest = get(web, "/?order=kept-0", &[]).await;
        assert!(!results(&oldest).contains(&link(&ids[0])));
        // Out of the index, still in the log.
        let page = get(web, &format!("/decisions/{}", ids[0]), &[]).await;
        assert_eq!(page.status, 200);
    };
    check(web, ids.clone()).await;
    server.stop().await.unwrap();

    let (again, web) = TestServer::start_with_explorer(config).await;
    again.wait_serving().await;
    check(web, ids).await;
    again.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_no_request_is_closed() {
    use tokio::io::AsyncReadExt;
    let (server, web) = TestServer::start_with_explorer(test_config()).await;
    server.wait_serving().await;
    let mut silent = tokio::net::TcpStream::connect(web).await.unwrap();
    // The server closes it (its header timeout); the guard only keeps a
    // broken server from hanging the test.
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(60), silent.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "a silent connection stayed open");
    // Pages are still served.
    assert_eq!(get(web, "/", &[]).await.status, 200);
    server.stop().await.unwrap();
}
