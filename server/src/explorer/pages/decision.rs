//! One decision: what was asked, what was decided and why, on a map, the
//! reservation's life, and a replay.

use allot_engine::network::{GeoPoint, Network};
use allot_proto::v1 as pb;
use maud::{Markup, html};

use super::map::{self, Mark};
use super::names;
use super::{money, page, percent, stamp, when};
use crate::explorer::index::ReservationStep;

/// What the decision page shows besides the record.
pub(crate) struct Context<'a> {
    /// The served network (node coordinates, the currency).
    pub network: &'a Network,
    /// The reservation the decision made, as it is now; `Err` says why it
    /// cannot be shown.
    pub reservation: Option<Result<pb::Reservation, String>>,
    /// The reservation's events seen by the explorer.
    pub steps: Vec<ReservationStep>,
    /// A replay just run: the answer, or why it could not run.
    pub replay: Option<Result<pb::ReplayDecisionResponse, String>>,
}

/// The page of `record`.
pub(crate) fn render(record: &pb::DecisionRecord, context: &Context<'_>) -> Markup {
    use pb::decision_record::Response;
    let currency = context.network.currency();
    let destination = destination(record, context.network);
    let body = html! {
        (facts(record))
        (replay(record, context.replay.as_ref()))
        @match &record.response {
            Some(Response::AllocateResponse(r)) => (allocation(r, context, destination, currency)),
            Some(Response::PromiseResponse(r)) => (promise(r, context, destination, currency)),
            Some(Response::RiskAssessment(r)) => (risk(r, record.shadow.as_ref())),
            Some(Response::ReturnDecision(r)) => (returned(r, context, destination, currency)),
            Some(Response::EvaluatePlanResponse(_))
            | Some(Response::ReportReturnsResponse(_)) | None => {
                p.muted { "This kind of decision has no detailed view; its reasons follow." }
            }
        }
        (reasons("All reasons", &record.reasons, currency))
        (features(record))
    };
    page(&format!("Decision {}", record.decision_id), body)
}

/// Where the order goes: the postal code's region centre, or the
/// coordinates sent.
fn destination(record: &pb::DecisionRecord, network: &Network) -> Option<GeoPoint> {
    use pb::decision_record::Request;
    let sent = match &record.request {
        Some(Request::AllocateRequest(r)) => r.destination.as_ref(),
        Some(Request::PromiseRequest(r)) => r.destination.as_ref(),
        Some(Request::ScoreOrderRequest(r)) => r.destination.as_ref(),
        Some(Request::RouteReturnRequest(r)) => r.origin.as_ref(),
        _ => None,
    }?;
    match sent.location.as_ref()? {
        pb::destination::Location::PostalCode(code) => network
            .resolve_postal_code(code)
            .map(|region| network.region(region).centroid),
        pb::destination::Location::Coordinates(p) => Some(GeoPoint {
            lat: p.lat,
            lon: p.lon,
        }),
    }
}

fn facts(record: &pb::DecisionRecord) -> Markup {
    use pb::decision_record::Request;
    let order = match &record.request {
        Some(Request::AllocateRequest(r)) => r.order_id.as_str(),
        Some(Request::ScoreOrderRequest(r)) => r.order_id.as_str(),
        Some(Request::RouteReturnRequest(r)) => r.order_id.as_str(),
        _ => "",
    };
    html! {
        dl.facts {
            dt { "Kind" } dd { span.badge { (names::decision_kind(record.kind)) } }
            @if !order.is_empty() { dt { "Order" } dd { a href={ "/?order=" (order) } { (order) } } }
            dt { "Recorded" } dd { (stamp(record.recorded_at.as_ref())) }
            dt { "Decided at (order time)" } dd { (stamp(record.decided_at.as_ref())) }
            dt { "Decision time" } dd { (record.decision_time_us) " µs" }
            @if !record.caller.is_empty() { dt { "Caller" } dd { (record.caller) } }
            dt { "Models" } dd {
                @if record.model_versions.is_empty() { "none" }
                @for m in &record.model_versions {
                    span.mono { (m.name) " " (m.version) }
                    @if !m.sha256.is_empty() { span.muted.mono { " sha256 " (m.sha256.get(..12).unwrap_or(&m.sha256)) "…" } }
                    br;
                }
            }
            dt { "Network" } dd.mono { (record.network_hash.get(..12).unwrap_or(&record.network_hash)) "…" }
            dt { "Configuration" } dd.mono { (record.config_hash.get(..12).unwrap_or(&record.config_hash)) "…" }
            dt { "Server" } dd { (record.server_version) }
        }
    }
}

fn replay(
    record: &pb::DecisionRecord,
    result: Option<&Result<pb::ReplayDecisionResponse, String>>,
) -> Markup {
    html! {
        section aria-labelledby="replay-title" {
            h2 id="replay-title" { "Replay" }
            form method="post" action={ "/decisions/" (record.decision_id) "/replay" } {
                p.muted { "Re-runs the decision against the stock, capacities, features and time it recorded, with the models loaded now. Nothing is reserved or recorded." }
                button type="submit" id="replay" { "Replay this decision" }
            }
            @match result {
                None => {}
                Some(Err(problem)) => { p.error id="replay-result" role="status" { "Cannot replay: " (problem) } }
                Some(Ok(answer)) if answer.identical => {
                    p.identical id="replay-result" role="status" { "Identical: the replayed answer equals the recorded one." }
                }
                Some(Ok(answer)) => {
                    div id="replay-result" role="status" {
                        p.different { "Different: " (answer.differences.len()) " difference(s)." }
                        ul { @for d in &answer.differences { li.mono { (d) } } }
                    }
                }
            }
        }
    }
}

fn allocation(
    r: &pb::AllocateResponse,
    context: &Context<'_>,
    destination: Option<GeoPoint>,
    currency: &str,
) -> Markup {
    let mut marks: Vec<(String, Mark)> = Vec::new();
    for a in r.lines.iter().flat_map(|l| &l.assignments) {
        if !marks.iter().any(|(n, _)| *n == a.node) {
            marks.push((a.node.clone(), Mark::Used));
        }
    }
    for c in &r.runners_up {
        if !marks.iter().any(|(n, _)| *n == c.node) {
            marks.push((c.node.clone(), Mark::RunnerUp));
        }
    }
    for x in &r.excluded {
        if !marks.iter().any(|(n, _)| *n == x.node) {
            marks.push((x.node.clone(), Mark::Excluded));
        }
    }
    html! {
        section aria-labelledby="outcome-title" {
            h2 id="outcome-title" { "Outcome" }
            dl.facts {
                dt { "Disposition" } dd { strong id="disposition" { (names::disposition(r.disposition)) } }
                @if let Some(o) = &r.objective { dt { "Total cost" } dd { (money(o.total_minor, currency)) } }
                @if let Some(s) = &r.solver {
                    dt { "Solver" } dd {
                        (names::solver_status(s.status)) " by " (s.method) ", gap " (format!("{:.3}%", s.gap * 100.0))
                        ", " (s.solve_time_us) " µs, " (s.candidates_after_reduction) " of " (s.candidates_before) " candidates after reduction"
                    }
                }
            }
        }
        section aria-labelledby="plan-title" {
            h2 id="plan-title" { "Plan" }
            div.cols {
                table id="plan" {
                    caption.muted style="text-align:left" { "Units per line and node" }
                    thead { tr { th { "Line" } th { "SKU" } th.num { "Ordered" } th { "Node" } th.num { "Units" } th { "Service" } th.num { "Protected units used" } th.num { "Backordered" } } }
                    tbody {
                        @for line in &r.lines {
                            @if line.assignments.is_empty() {
                                tr { td { (line.line_id) } td { (line.sku) } td.num { (line.quantity) } td { "-" } td.num { "0" } td { "-" } td.num { "0" } td.num { (line.backordered_quantity) } }
                            }
                            @for a in &line.assignments {
                                tr { td { (line.line_id) } td { a href={ "/stock?sku=" (line.sku) } { (line.sku) } } td.num { (line.quantity) } td { (a.node) } td.num { (a.quantity) } td { (a.service) } td.num { (a.protected_quantity) } td.num { (line.backordered_quantity) } }
                            }
                        }
                    }
                }
                (map::render(context.network, &marks, destination, "Where the order ships from"))
            }
        }
        (shipments(&r.shipments, currency))
        @if let Some(o) = &r.objective { (objective(o, currency)) }
        (alternatives(r, currency))
        @if let Some(risk_answer) = &r.risk { (risk(risk_answer, None)) }
        (reservation(context))
    }
}

fn shipments(shipments: &[pb::Shipment], currency: &str) -> Markup {
    html! {
        section aria-labelledby="shipments-title" {
            h2 id="shipments-title" { "Shipments and delivery windows" }
            table {
                thead { tr { th { "Node" } th { "Service" } th.num { "Units" } th.num { "Package" } th.num { "Transport" } th.num { "Handling" } th.num { "Lateness" } th.num { "Total" } th { "Ship by" } th { "Delivery window" } th.num { "On time" } } }
                tbody {
                    @for s in shipments {
                        tr {
                            td { (s.node) }
                            td { (s.service) " " span.muted { (names::level(s.service_level)) } }
                            td.num { (s.units) }
                            td.num { (money(s.package_cost_minor, currency)) }
                            td.num { (money(s.transport_cost_minor, currency)) }
                            td.num { (money(s.handling_cost_minor, currency)) }
                            td.num { (money(s.lateness_penalty_minor, currency)) }
                            td.num { (money(s.total_cost_minor, currency)) }
                            td { (stamp(s.ship_by.as_ref())) }
                            @if let Some(w) = &s.delivery_window {
                                td { (stamp(w.earliest.as_ref())) " – " (stamp(w.latest.as_ref())) }
                                td.num { (percent(w.on_time_probability)) }
                            } @else { td { "-" } td.num { "-" } }
                        }
                    }
                }
            }
        }
    }
}

fn objective(o: &pb::Objective, currency: &str) -> Markup {
    let terms = [
        ("Packages", o.package_minor),
        ("Transport", o.transport_minor),
        ("Handling", o.handling_minor),
        ("Split penalty", o.split_penalty_minor),
        ("Lateness penalty", o.lateness_penalty_minor),
        ("Protected stock penalty", o.protection_penalty_minor),
        ("Backorder penalty", o.backorder_penalty_minor),
    ];
    html! {
        section aria-labelledby="cost-title" {
            h2 id="cost-title" { "Cost terms" }
            table id="cost-terms" {
                tbody {
                    @for (name, minor) in terms { tr { th scope="row" { (name) } td.num { (money(minor, currency)) } } }
                    tr { th scope="row" { "Total" } td.num { strong { (money(o.total_minor, currency)) } } }
                }
            }
        }
    }
}

fn alternatives(r: &pb::AllocateResponse, currency: &str) -> Markup {
    let total = r.objective.as_ref().map_or(0, |o| o.total_minor);
    html! {
        section aria-labelledby="alternatives-title" {
            h2 id="alternatives-title" { "Alternatives" }
            @if !r.used_node_alternatives.is_empty() {
                table {
                    caption.muted style="text-align:left" { "Without each node used" }
                    thead { tr { th { "Node" } th.num { "Best cost without it" } th.num { "Difference" } } }
                    tbody {
                        @for a in &r.used_node_alternatives {
                            tr {
                                td { (a.node) }
                                @match a.cost_without_minor {
                                    Some(c) => { td.num { (money(c, currency)) } td.num { "+" (money(c - total, currency)) } }
                                    None => { td { "no feasible plan" } td.num { "-" } }
                                }
                            }
                        }
                    }
                }
            }
            @if r.runners_up.is_empty() { p.muted { "No runner-up was recorded." } } @else {
                table id="runners-up" {
                    caption.muted style="text-align:left" { "Runners-up: the next best nodes and what kept them out" }
                    thead { tr { th { "Node" } th.num { "Cost difference" } th { "Binding reason" } } }
                    tbody {
                        @for c in &r.runners_up {
                            tr {
                                td { (c.node) }
                                td.num { "+" (money(c.cost_difference_minor, currency)) }
                                td { @if let Some(reason) = &c.binding_reason { span.badge { (names::reason(reason.code)) } " " (reason.message) } }
                            }
                        }
                    }
                }
            }
            @if !r.excluded.is_empty() {
                table id="excluded" {
                    caption.muted style="text-align:left" { "Excluded nodes and why" }
                    thead { tr { th { "Node" } th { "Reasons" } } }
                    tbody {
                        @for x in &r.excluded {
                            tr { td { (x.node) } td { @for reason in &x.reasons { span.badge { (names::reason(reason.code)) } " " (reason.message) br; } } }
                        }
                    }
                }
            }
        }
    }
}

fn promise(
    r: &pb::PromiseResponse,
    context: &Context<'_>,
    destination: Option<GeoPoint>,
    currency: &str,
) -> Markup {
    let mut marks: Vec<(String, Mark)> = Vec::new();
    for s in r.options.iter().flat_map(|o| &o.ship_from) {
        if !marks.iter().any(|(n, _)| *n == s.node) {
            marks.push((s.node.clone(), Mark::Used));
        }
    }
    html! {
        section aria-labelledby="options-title" {
            h2 id="options-title" { "Delivery options" }
            div.cols {
                table id="plan" {
                    thead { tr { th { "Level" } th { "Service" } th { "Ships from" } th { "Ship by" } th { "Delivery" } th.num { "On time" } th.num { "Cost" } } }
                    tbody {
                        @for o in &r.options {
                            tr {
                                td { (names::level(o.service_level)) }
                                td { (o.service) }
                                td { @for s in &o.ship_from { (s.node) " " (s.sku) " ×" (s.quantity) br; } }
                                td { (stamp(o.ship_by.as_ref())) }
                                td { (o.earliest_delivery_date) " – " (o.latest_delivery_date) }
                                td.num { (percent(o.on_time_probability)) }
                                td.num { (money(o.cost_minor, currency)) }
                            }
                        }
                    }
                }
                (map::render(context.network, &marks, destination, "Where the quoted options ship from"))
            }
            @if !r.unavailable.is_empty() {
                table {
                    caption.muted style="text-align:left" { "Levels not offered" }
                    thead { tr { th { "Level" } th { "Why" } } }
                    tbody { @for u in &r.unavailable { tr { td { (names::level(u.service_level)) } td { @for reason in &u.reasons { span.badge { (names::reason(reason.code)) } " " (reason.message) br; } } } } }
                }
            }
        }
    }
}

/// A routed return: where it goes, each disposition's units and value,
/// the money, the runner-up, and a map from the origin.
fn returned(
    r: &pb::ReturnDecision,
    context: &Context<'_>,
    origin: Option<GeoPoint>,
    currency: &str,
) -> Markup {
    let mut marks: Vec<(String, Mark)> = Vec::new();
    if !r.node.is_empty() {
        marks.push((r.node.clone(), Mark::Used));
    }
    if let Some(next) = &r.runner_up {
        marks.push((next.node.clone(), Mark::RunnerUp));
    }
    html! {
        section aria-labelledby="return-title" {
            h2 id="return-title" { "Return " (r.return_id) }
            div.cols {
                div {
                    dl.facts {
                        dt { "Goes to" } dd {
                            @if r.node.is_empty() { strong id="return-node" { "nowhere: written off, the customer keeps it" } }
                            @else { strong id="return-node" { (r.node) } " with " (r.service) }
                        }
                        dt { "Recovery" } dd { (money(r.expected_recovery_minor, currency)) }
                        dt { "Label" } dd { (money(r.shipping_cost_minor, currency)) }
                        dt { "Receiving" } dd { (money(r.receiving_cost_minor, currency)) }
                        dt { "Net" } dd { strong { (money(r.net_recovery_minor, currency)) } }
                        dt { "Nodes that could take it" } dd { (r.candidate_nodes) }
                    }
                    @if !r.units.is_empty() {
                        table id="plan" {
                            thead { tr { th { "Disposition" } th.num { "Units" } th.num { "Recovers" } } }
                            tbody {
                                @for u in &r.units {
                                    tr { td { (names::return_disposition(u.disposition)) } td.num { (u.quantity) } td.num { (money(u.recovery_minor, currency)) } }
                                }
                            }
                        }
                    }
                    @if let Some(next) = &r.runner_up {
                        p { "Runner-up: " strong { (next.node) } " (" (names::return_disposition(next.disposition)) "), net " (money(next.net_recovery_minor, currency)) ", label " (money(next.shipping_cost_minor, currency)) }
                    }
                }
                (map::render(context.network, &marks, origin, "Where the return ships from, the node it goes to and the runner-up"))
            }
        }
    }
}

fn risk(r: &pb::RiskAssessment, shadow: Option<&pb::ShadowScore>) -> Markup {
    let widest = r
        .reasons
        .iter()
        .map(|x| x.contribution.abs())
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    html! {
        section aria-labelledby="fraud-title" {
            h2 id="fraud-title" { "Fraud score" }
            dl.facts {
                dt { "Decision" } dd { strong id="fraud-decision" { (names::risk(r.decision)) } }
                dt { "Probability" } dd { (percent(r.fraud_probability)) }
                dt { "Model" } dd { (r.model_name) " " (r.model_version) }
                @if !r.missing_signals.is_empty() { dt { "Missing signals" } dd { (r.missing_signals.join(", ")) } }
                @if let Some(s) = shadow {
                    dt { "Shadow model" } dd {
                        @if let Some(m) = &s.model { (m.name) " " (m.version) ": " }
                        (percent(s.fraud_probability)) ", " (names::risk(s.decision)) ", "
                        @if s.agrees { "agrees" } @else { "disagrees" }
                    }
                }
            }
            table id="fraud-reasons" {
                caption.muted style="text-align:left" { "What weighed, by contribution to the score (log-odds; positive toward fraud)" }
                thead { tr { th { "Reason" } th { "Feature" } th { "Value" } th.num { "Contribution" } th { "" } th { "Explanation" } } }
                tbody {
                    @for x in &r.reasons {
                        tr {
                            td { span.badge { (names::reason(x.code)) } }
                            td { (x.feature) }
                            td { (x.value) }
                            td.num { (format!("{:+.3}", x.contribution)) }
                            td { span.bar.neg[x.contribution < 0.0] style={ "width:" (format!("{:.0}", 80.0 * x.contribution.abs() / widest)) "px" } {} }
                            td { (x.message) }
                        }
                    }
                }
            }
        }
    }
}

fn reservation(context: &Context<'_>) -> Markup {
    html! {
        @if let Some(found) = &context.reservation {
            section aria-labelledby="reservation-title" {
                h2 id="reservation-title" { "Reservation" }
                @match found {
                    Err(problem) => { p.muted { (problem) } }
                    Ok(res) => {
                        dl.facts {
                            dt { "Id" } dd.mono { (res.reservation_id) }
                            dt { "State now" } dd { strong id="reservation-state" { (names::reservation_state(res.state)) } }
                            dt { "Created" } dd { (stamp(res.created_at.as_ref())) }
                            dt { "Expires" } dd { (stamp(res.expires_at.as_ref())) }
                            @if res.ended_at.is_some() { dt { "Ended" } dd { (stamp(res.ended_at.as_ref())) } }
                            dt { "Units" } dd { @for u in &res.units { (u.node) ": " (u.sku) " ×" (u.quantity) " (line " (u.line_id) ")" br; } }
                        }
                    }
                }
                @if !context.steps.is_empty() {
                    table id="reservation-history" {
                        caption.muted style="text-align:left" { "State history" }
                        thead { tr { th { "When" } th { "Event" } th { "Summary" } } }
                        tbody { @for s in &context.steps { tr { td { (when(s.at)) } td { (names::event(s.kind)) } td { (s.summary) } } } }
                    }
                }
            }
        }
    }
}

fn reasons(title: &str, reasons: &[pb::Reason], currency: &str) -> Markup {
    html! {
        section aria-labelledby="reasons-title" {
            h2 id="reasons-title" { (title) }
            @if reasons.is_empty() { p.muted { "None recorded." } } @else {
                table id="reasons" {
                    thead { tr { th { "Code" } th { "Node" } th { "Explanation" } th.num { "Cost effect" } } }
                    tbody {
                        @for r in reasons {
                            tr {
                                td { span.badge { (names::reason(r.code)) } }
                                td { (r.node) }
                                td { (r.message) }
                                td.num { @if r.cost_delta_minor != 0 { (money(r.cost_delta_minor, currency)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn features(record: &pb::DecisionRecord) -> Markup {
    let mut features: Vec<(&String, &f64)> = record.features.iter().collect();
    features.sort_by(|a, b| a.0.cmp(b.0));
    html! {
        @if !features.is_empty() {
            details {
                summary { "Model inputs (" (features.len()) ")" }
                table {
                    thead { tr { th { "Feature" } th.num { "Value" } } }
                    tbody { @for (name, value) in features { tr { td.mono { (name) } td.num { (value) } } } }
                }
            }
        }
    }
}
