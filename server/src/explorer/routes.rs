//! The explorer's HTTP routes: each reads its parameters, calls the service
//! layer (the same calls the RPC handlers make), and renders a page.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use allot_proto::v1 as pb;
use allot_service::{Code, DecisionId, ServiceError};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::Markup;
use serde::Deserialize;
use tokio::sync::Semaphore;

use super::index::{self, Entry};
use super::pages::{self, names};
use super::{Explorer, access};
use crate::replay::{Services, read_record, replay};

/// Search results shown at most.
const RESULTS: usize = 200;
/// Rows of the live feed rendered with the page.
const RECENT: usize = 20;

/// Requests the explorer serves at once; beyond, a page says it is busy
/// (503) at once: a reader cannot take the decision engine's capacity.
const CONCURRENT_REQUESTS: usize = 32;

/// Every route of the explorer.
pub(super) fn router(explorer: Explorer) -> Router {
    let permits = Arc::new(Semaphore::new(CONCURRENT_REQUESTS));
    Router::new()
        .route("/", get(search))
        .route("/feed", get(feed))
        .route("/decisions/{id}", get(decision))
        .route("/decisions/{id}/replay", post(replay_decision))
        .route("/stock", get(stock))
        .route("/models", get(models))
        .route("/traffic", get(traffic))
        .route("/signin", get(signin_form).post(signin))
        .route("/signout", post(signout))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(move |request, next| {
            limited(permits.clone(), request, next)
        }))
        .with_state(explorer)
}

/// Runs the request when a permit is free, else answers 503 at once.
async fn limited(
    permits: Arc<Semaphore>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Ok(_permit) = permits.try_acquire() else {
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "The explorer is serving as many requests as it allows at once; try again shortly.",
        );
    };
    next.run(request).await
}

/// A rendered page with `status`.
fn html(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::response::Html(markup.into_string()),
    )
        .into_response()
}

/// A page saying what went wrong.
fn problem(status: StatusCode, message: &str) -> Response {
    html(
        status,
        pages::page(
            status.canonical_reason().unwrap_or("Error"),
            maud::html! { p.error role="alert" { (message) } p { a href="/" { "Back to the decisions" } } },
        ),
    )
}

/// The HTTP status of a service error (as the gRPC codes map to HTTP).
fn status_of(error: &ServiceError) -> StatusCode {
    match error.code() {
        Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::FailedPrecondition | Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn failed(error: &ServiceError) -> Response {
    problem(status_of(error), &error.to_string())
}

impl Explorer {
    /// The services when the reader may read them; else the sign-in page
    /// (401), a refusal (403) or "still loading" (503).
    fn services(&self, headers: &HeaderMap, here: &str) -> Result<&Services, Box<Response>> {
        if let Err(refused) = access::check(&self.access, headers) {
            return Err(Box::new(if refused.lacks_role {
                problem(StatusCode::FORBIDDEN, &refused.message)
            } else {
                html(
                    StatusCode::UNAUTHORIZED,
                    pages::signin::render(Some(&refused.message), here),
                )
            }));
        }
        self.ready
            .get()
            .map(|s| s.as_ref())
            .map_err(|e| Box::new(failed(&e)))
    }
}

/// What the search form sends.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SearchParams {
    order: String,
    decision: String,
    customer: String,
    node: String,
    disposition: String,
    kind: String,
    from: String,
    to: String,
}

impl SearchParams {
    /// Whether any field was filled in.
    fn any(&self) -> bool {
        !self.decision.trim().is_empty() || self.any_besides_decision()
    }

    /// Whether a field other than the decision id was filled in.
    fn any_besides_decision(&self) -> bool {
        [
            &self.order,
            &self.customer,
            &self.node,
            &self.disposition,
            &self.kind,
            &self.from,
            &self.to,
        ]
        .iter()
        .any(|v| !v.trim().is_empty())
    }

    fn form(&self) -> pages::search::Form {
        pages::search::Form {
            order: self.order.clone(),
            decision: self.decision.clone(),
            customer: self.customer.clone(),
            node: self.node.clone(),
            disposition: self.disposition.clone(),
            kind: self.kind.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
        }
    }

    /// The index query, or what is wrong, naming the field.
    fn query(&self, services: &Services) -> Result<index::Query, String> {
        let text = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
        let kind = match text(&self.kind) {
            None => None,
            Some(k) => Some(
                names::DECISION_EVENTS
                    .into_iter()
                    .find(|e| names::event(*e) == k)
                    .ok_or_else(|| format!("kind: unknown kind {k:?}"))?,
            ),
        };
        let node = text(&self.node);
        if let Some(code) = &node
            && services.network().node_id(code).is_none()
        {
            return Err(format!("node: no node {code:?} in the network"));
        }
        // A customer id is found by the hash its records hold.
        let customer = text(&self.customer).map(|c| {
            if c.starts_with("hmac:") {
                c
            } else {
                services.engine.privacy.pseudonym(&c)
            }
        });
        Ok(index::Query {
            order_id: text(&self.order),
            decision_id: text(&self.decision),
            customer,
            node,
            disposition: text(&self.disposition).map(|d| d.to_ascii_uppercase()),
            kind,
            from: instant("from", &self.from)?,
            to: instant("to", &self.to)?,
            limit: RESULTS,
        })
    }
}

/// A form's time (UTC): `2026-12-07T20:41`, with seconds, RFC 3339, or a
/// date alone (midnight).
fn instant(field: &str, value: &str) -> Result<Option<SystemTime>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let parsed = chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&chrono::Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S")
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M"))
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
                        .map(|d| d.and_time(chrono::NaiveTime::MIN))
                })
                .map(|t| t.and_utc())
        })
        .map_err(|_| {
            format!(
                "{field}: {value:?} is not a time: use 2026-12-07T20:41 (UTC), RFC 3339, or a date"
            )
        })?;
    Ok(Some(parsed.into()))
}

async fn search(
    State(explorer): State<Explorer>,
    headers: HeaderMap,
    Query(params): Query<SearchParams>,
) -> Response {
    let services = match explorer.services(&headers, "/") {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    // A decision id alone opens that decision, also one older than the
    // index covers.
    let decision = params.decision.trim();
    if !decision.is_empty() && !params.any_besides_decision() {
        return match DecisionId::parse(decision, "decision") {
            Ok(id) => Redirect::to(&format!("/decisions/{}", id.as_str())).into_response(),
            Err(e) => failed(&e),
        };
    }
    let searched = params.any();
    let query = params.query(services);
    let found: Result<Vec<Entry>, String> = query.map(|q| explorer.index.search(&q));
    let (indexed, _) = explorer.index.size();
    let recent = explorer.index.after(0, RECENT);
    let last = recent.first().map_or(0, |e| e.position);
    let mut nodes: Vec<String> = services
        .network()
        .nodes()
        .iter()
        .map(|n| n.code.clone())
        .collect();
    nodes.sort();
    let status = if found.is_err() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    html(
        status,
        pages::search::render(
            &params.form(),
            &nodes,
            searched,
            found.as_deref().map_err(String::as_str),
            &recent,
            last,
            indexed,
        ),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FeedParams {
    after: String,
}

/// The live feed's new rows after `after`, newest first; the newest
/// position taken in `x-allot-last`.
async fn feed(
    State(explorer): State<Explorer>,
    headers: HeaderMap,
    Query(params): Query<FeedParams>,
) -> Response {
    if let Err(refused) = explorer.services(&headers, "/") {
        return *refused;
    }
    let Ok(after) = params.after.parse::<u64>() else {
        return problem(
            StatusCode::BAD_REQUEST,
            "after: required, the last feed position shown (a whole number)",
        );
    };
    let rows = explorer.index.after(after, RECENT * 5);
    // The newest row sent, not the index's latest position: an entry
    // indexed after `rows` were read is sent by the next poll.
    let last = rows.first().map_or(after, |e| e.position);
    let mut response = (
        [(header::CACHE_CONTROL, "no-store")],
        axum::response::Html(pages::search::rows(&rows).into_string()),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&last.to_string()) {
        response.headers_mut().insert("x-allot-last", value);
    }
    response
}

async fn decision(
    State(explorer): State<Explorer>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    show_decision(&explorer, &headers, &id, false).await
}

async fn replay_decision(
    State(explorer): State<Explorer>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    show_decision(&explorer, &headers, &id, true).await
}

/// The page of decision `id`, replayed first when `replaying`.
async fn show_decision(
    explorer: &Explorer,
    headers: &HeaderMap,
    id: &str,
    replaying: bool,
) -> Response {
    let here = format!("/decisions/{id}");
    let services = match explorer.services(headers, &here) {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let record = match DecisionId::parse(id, "decision_id") {
        Ok(id) => read_record(services, &id).await,
        Err(e) => Err(e),
    };
    let record = match record {
        Ok(r) => r,
        Err(e) => return failed(&e),
    };
    let reservation_id = explorer
        .index
        .entry(&record.decision_id)
        .map(|e| e.reservation_id)
        .filter(|r| !r.is_empty())
        .or_else(|| match &record.response {
            Some(pb::decision_record::Response::AllocateResponse(r)) => {
                r.reservation.as_ref().map(|r| r.reservation_id.clone())
            }
            _ => None,
        })
        .filter(|r| !r.is_empty());
    let reservation = match &reservation_id {
        None => None,
        Some(rid) => Some(
            services
                .reservations
                .get(rid)
                .await
                .map(|r| crate::convert::allocation::reservation(services.network(), &r))
                .map_err(|e| e.to_string()),
        ),
    };
    let steps = reservation_id
        .as_deref()
        .map(|r| explorer.index.reservation_steps(r))
        .unwrap_or_default();
    let replayed = if replaying {
        Some(
            replay(services, record.clone())
                .await
                .map_err(|e| e.to_string()),
        )
    } else {
        None
    };
    let context = pages::decision::Context {
        network: services.network(),
        reservation,
        steps,
        replay: replayed,
    };
    html(StatusCode::OK, pages::decision::render(&record, &context))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StockParams {
    sku: String,
}

async fn stock(
    State(explorer): State<Explorer>,
    headers: HeaderMap,
    Query(params): Query<StockParams>,
) -> Response {
    let services = match explorer.services(&headers, "/stock") {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let sku = params.sku.trim().to_string();
    if sku.is_empty() {
        return html(
            StatusCode::OK,
            pages::stock::render(services.network(), "", None),
        );
    }
    let network = services.network();
    let found =
        crate::convert::stock::availability_query(network, &sku, &[]).map(|(sku_id, filter)| {
            let found = services.stock.availability(sku_id, &filter, false);
            crate::convert::stock::availability(network, sku.clone(), &found)
        });
    let status = match &found {
        Ok(_) => StatusCode::OK,
        Err(e) => status_of(e),
    };
    html(
        status,
        pages::stock::render(network, &sku, Some(found.map_err(|e| e.to_string()))),
    )
}

async fn models(State(explorer): State<Explorer>, headers: HeaderMap) -> Response {
    let services = match explorer.services(&headers, "/models") {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let info = crate::convert::models::model_info(&services.models.loaded());
    let drift =
        crate::convert::models::drift_report(&services.models.drift(), services.models.alert_psi());
    let scores = explorer.index.fraud_scores();
    html(
        StatusCode::OK,
        pages::models::render(&info, &drift, &scores),
    )
}

async fn traffic(State(explorer): State<Explorer>, headers: HeaderMap) -> Response {
    if let Err(refused) = explorer.services(&headers, "/traffic") {
        return *refused;
    }
    let page = match crate::telemetry::prometheus() {
        None => pages::traffic::render(None, 0),
        Some(handle) => {
            let (rows, window) = explorer.traffic.now(handle);
            pages::traffic::render(Some(&rows), window)
        }
    };
    html(StatusCode::OK, page)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SigninParams {
    token: String,
    next: String,
}

async fn signin_form(Query(params): Query<HashMap<String, String>>) -> Response {
    let next = params.get("next").map_or("/", String::as_str);
    html(StatusCode::OK, pages::signin::render(None, local(next)))
}

/// `next` when it is a path of this site, else the front page (no open
/// redirect).
fn local(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") {
        next
    } else {
        "/"
    }
}

async fn signin(State(explorer): State<Explorer>, Form(params): Form<SigninParams>) -> Response {
    let token = params.token.trim();
    let next = local(&params.next);
    if let Err(refused) = access::check_token(&explorer.access, Some(token)) {
        return html(
            if refused.lacks_role {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::UNAUTHORIZED
            },
            pages::signin::render(Some(&refused.message), next),
        );
    }
    let Ok(cookie) = HeaderValue::from_str(&access::cookie(token, explorer.https)) else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::signin::render(
                Some(
                    "token: this token cannot be kept in a browser cookie; send it as an `authorization: Bearer` header instead",
                ),
                next,
            ),
        );
    };
    let mut response = Redirect::to(next).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

async fn signout() -> Response {
    let mut response = Redirect::to("/signin").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&access::forget()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

async fn not_found() -> Response {
    problem(StatusCode::NOT_FOUND, "No such page.")
}
