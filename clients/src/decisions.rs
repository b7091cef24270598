//! The decision log from the client side: explain, watch and replay, and
//! their plain-text renderings for people (support agents, operators).

use std::fmt::Write as _;

use crate::client::{AllotChannel, AllotClient, MAX_DECODING_MESSAGE_SIZE};
use crate::error::ClientError;
use allot_proto::v1 as pb;
use allot_proto::v1::decision_service_client::DecisionServiceClient;

impl AllotClient {
    /// A client of `allot.v1.DecisionService`.
    pub fn decisions(&self) -> DecisionServiceClient<AllotChannel> {
        DecisionServiceClient::new(self.authorized())
            .max_decoding_message_size(MAX_DECODING_MESSAGE_SIZE)
    }

    /// The recorded decision `decision_id` (ExplainDecision).
    pub async fn explain(&self, decision_id: &str) -> Result<pb::DecisionRecord, ClientError> {
        Ok(self
            .decisions()
            .explain_decision(pb::ExplainDecisionRequest {
                decision_id: decision_id.to_string(),
            })
            .await?
            .into_inner())
    }

    /// The decision event feed (WatchDecisions): events after
    /// `from_position` (0: from the oldest retained; `None`: only new ones),
    /// of `kinds` (empty: all).
    pub async fn watch(
        &self,
        from_position: Option<u64>,
        kinds: Vec<pb::DecisionEventKind>,
    ) -> Result<tonic::Streaming<pb::DecisionEvent>, ClientError> {
        Ok(self
            .decisions()
            .watch_decisions(pb::WatchDecisionsRequest {
                from_position,
                kinds: kinds.into_iter().map(|k| k as i32).collect(),
            })
            .await?
            .into_inner())
    }

    /// Re-runs a recorded decision and compares (ReplayDecision).
    pub async fn replay(
        &self,
        decision_id: &str,
    ) -> Result<pb::ReplayDecisionResponse, ClientError> {
        Ok(self
            .decisions()
            .replay_decision(pb::ReplayDecisionRequest {
                decision_id: decision_id.to_string(),
            })
            .await?
            .into_inner())
    }
}

/// An enum value's name without its type prefix, e.g. `ALLOCATED`.
fn name(full: &str, prefix: &str) -> String {
    full.strip_prefix(prefix).unwrap_or(full).to_string()
}

fn kind_name(kind: i32) -> String {
    pb::DecisionKind::try_from(kind).map_or_else(
        |_| format!("kind {kind}"),
        |k| name(k.as_str_name(), "DECISION_KIND_"),
    )
}

/// The name of an event kind, e.g. `RISK_SCORED`.
pub fn event_kind_name(kind: i32) -> String {
    pb::DecisionEventKind::try_from(kind).map_or_else(
        |_| format!("kind {kind}"),
        |k| name(k.as_str_name(), "DECISION_EVENT_KIND_"),
    )
}

/// Parses an event kind given on a command line: `RISK_SCORED`,
/// `risk-scored` or the full `DECISION_EVENT_KIND_RISK_SCORED`.
pub fn parse_event_kind(text: &str) -> Option<pb::DecisionEventKind> {
    let upper = text.trim().to_ascii_uppercase().replace('-', "_");
    let full = if upper.starts_with("DECISION_EVENT_KIND_") {
        upper
    } else {
        format!("DECISION_EVENT_KIND_{upper}")
    };
    pb::DecisionEventKind::from_str_name(&full).filter(|k| *k != pb::DecisionEventKind::Unspecified)
}

fn time(t: Option<&prost_types::Timestamp>) -> String {
    t.map_or_else(|| "-".to_string(), |t| t.to_string())
}

fn level_name(level: i32) -> String {
    pb::ServiceLevel::try_from(level).map_or_else(
        |_| format!("level {level}"),
        |l| name(l.as_str_name(), "SERVICE_LEVEL_").to_ascii_lowercase(),
    )
}

/// Items listed before "and N more".
const LISTED: usize = 8;

/// The first `max` of `items` and how many more there are.
fn listed(items: &[&str], max: usize) -> String {
    let mut text = items
        .iter()
        .take(max)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > max {
        let _ = write!(text, " and {} more (--json lists all)", items.len() - max);
    }
    text
}

fn code_name(code: i32) -> String {
    pb::ReasonCode::try_from(code).map_or_else(
        |_| format!("code {code}"),
        |c| name(c.as_str_name(), "REASON_CODE_"),
    )
}

/// Whether a reason explains why a candidate node was not used at all.
fn is_exclusion(r: &pb::Reason) -> bool {
    code_name(r.code).starts_with("EXCLUDED_")
}

fn reason_line(r: &pb::Reason) -> String {
    let code = code_name(r.code);
    let mut line = format!("{code}: {}", r.message);
    let mut extra = Vec::new();
    if !r.node.is_empty() {
        extra.push(format!("node {}", r.node));
    }
    if !r.feature.is_empty() {
        extra.push(if r.value.is_empty() {
            format!("feature {}", r.feature)
        } else {
            format!("{} = {}", r.feature, r.value)
        });
    }
    if r.contribution != 0.0 {
        extra.push(format!("contribution {:+.3}", r.contribution));
    }
    if r.cost_delta_minor != 0 {
        extra.push(format!("cost {:+} minor", r.cost_delta_minor));
    }
    if !extra.is_empty() {
        let _ = write!(line, " ({})", extra.join(", "));
    }
    line
}

fn risk_decision_name(decision: i32) -> String {
    pb::RiskDecision::try_from(decision).map_or_else(
        |_| format!("decision {decision}"),
        |d| name(d.as_str_name(), "RISK_DECISION_"),
    )
}

fn risk_lines(out: &mut String, risk: &pb::RiskAssessment, top: usize) {
    let decision = risk_decision_name(risk.decision);
    let _ = writeln!(
        out,
        "  Fraud risk: {decision} (probability {:.3}, model {} {})",
        risk.fraud_probability, risk.model_name, risk.model_version
    );
    for reason in risk.reasons.iter().take(top) {
        let _ = writeln!(out, "    - {}", reason_line(reason));
    }
}

fn shipment_lines(out: &mut String, shipments: &[pb::Shipment]) {
    for (i, s) in shipments.iter().enumerate() {
        let _ = writeln!(
            out,
            "  Shipment {}: {} via {} ({}), {} units, {} minor (package {}, transport {}, handling {}, lateness {})",
            i + 1,
            s.node,
            s.service,
            level_name(s.service_level),
            s.units,
            s.total_cost_minor,
            s.package_cost_minor,
            s.transport_cost_minor,
            s.handling_cost_minor,
            s.lateness_penalty_minor,
        );
        if let Some(w) = &s.delivery_window {
            let _ = writeln!(
                out,
                "    delivery window {} .. {} (on time {:.0}%)",
                time(w.earliest.as_ref()),
                time(w.latest.as_ref()),
                w.on_time_probability * 100.0
            );
        }
    }
}

fn line_lines(out: &mut String, lines: &[pb::LineAllocation]) {
    for line in lines {
        let placed: Vec<String> = line
            .assignments
            .iter()
            .map(|a| format!("{} x{} ({})", a.node, a.quantity, a.service))
            .collect();
        let _ = write!(
            out,
            "  Line {} {} x{}: {}",
            line.line_id,
            line.sku,
            line.quantity,
            if placed.is_empty() {
                "not placed".to_string()
            } else {
                placed.join(", ")
            }
        );
        if line.backordered_quantity > 0 {
            let _ = write!(out, "; {} backordered", line.backordered_quantity);
        }
        out.push('\n');
    }
}

fn allocation_decided(out: &mut String, r: &pb::AllocateResponse) {
    let disposition = pb::OrderDisposition::try_from(r.disposition).map_or_else(
        |_| format!("disposition {}", r.disposition),
        |d| name(d.as_str_name(), "ORDER_DISPOSITION_"),
    );
    let _ = writeln!(out, "  Order {}: {disposition}", r.order_id);
    shipment_lines(out, &r.shipments);
    line_lines(out, &r.lines);
    if let Some(o) = &r.objective {
        let _ = writeln!(
            out,
            "  Total cost {} minor (package {}, transport {}, handling {}, split {}, lateness {}, protection {}, backorder {})",
            o.total_minor,
            o.package_minor,
            o.transport_minor,
            o.handling_minor,
            o.split_penalty_minor,
            o.lateness_penalty_minor,
            o.protection_penalty_minor,
            o.backorder_penalty_minor
        );
    }
    if let Some(risk) = &r.risk {
        risk_lines(out, risk, 3);
    }
    if let Some(rsv) = &r.reservation {
        let _ = writeln!(
            out,
            "  Reservation {} until {}",
            rsv.reservation_id,
            time(rsv.expires_at.as_ref())
        );
    }
}

fn promise_decided(out: &mut String, r: &pb::PromiseResponse) {
    if r.options.is_empty() {
        let _ = writeln!(out, "  No delivery option could be promised");
    }
    for o in &r.options {
        let from: Vec<String> = o
            .ship_from
            .iter()
            .map(|s| format!("{} {} x{}", s.node, s.sku, s.quantity))
            .collect();
        let _ = writeln!(
            out,
            "  {}: {} .. {} via {} (on time {:.0}%), {} minor; ships {} from {}",
            level_name(o.service_level),
            o.earliest_delivery_date,
            o.latest_delivery_date,
            o.service,
            o.on_time_probability * 100.0,
            o.cost_minor,
            o.ship_date_local,
            from.join(", ")
        );
    }
    for u in &r.unavailable {
        let why: Vec<String> = u.reasons.iter().map(reason_line).collect();
        let _ = writeln!(
            out,
            "  {}: not offered: {}",
            level_name(u.service_level),
            why.join("; ")
        );
    }
}

fn alternatives(out: &mut String, r: &pb::AllocateResponse) {
    if r.used_node_alternatives.is_empty() && r.runners_up.is_empty() && r.excluded.is_empty() {
        return;
    }
    let total = r.objective.as_ref().map_or(0, |o| o.total_minor);
    let _ = writeln!(out, "What the alternatives would have cost");
    for a in &r.used_node_alternatives {
        match a.cost_without_minor {
            Some(cost) => {
                let _ = writeln!(
                    out,
                    "  Without {}: {cost} minor ({:+} minor)",
                    a.node,
                    cost - total
                );
            }
            None => {
                let _ = writeln!(out, "  Without {}: no feasible plan", a.node);
            }
        }
    }
    for c in &r.runners_up {
        let why = c
            .binding_reason
            .as_ref()
            .map_or_else(String::new, |r| format!("; {}", reason_line(r)));
        let _ = writeln!(
            out,
            "  Instead of {}: {:+} minor{why}",
            c.node, c.cost_difference_minor
        );
    }
    let mut by_code: Vec<(String, Vec<&str>)> = Vec::new();
    for e in &r.excluded {
        let codes: Vec<String> = e.reasons.iter().map(|r| code_name(r.code)).collect();
        let key = codes.join(", ");
        match by_code.iter_mut().find(|(k, _)| *k == key) {
            Some((_, nodes)) => nodes.push(&e.node),
            None => by_code.push((key, vec![&e.node])),
        }
    }
    for (codes, nodes) in by_code {
        let _ = writeln!(out, "  Excluded ({codes}): {}", listed(&nodes, LISTED));
    }
}

/// A decision record as plain text for a support agent: what was decided,
/// why, what the alternatives would have cost, and what it was decided
/// from.
pub fn explain_text(record: &pb::DecisionRecord) -> String {
    use pb::decision_record::Response;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Decision {} ({}), decided at {}, recorded {}, took {} us",
        record.decision_id,
        kind_name(record.kind),
        time(record.decided_at.as_ref()),
        time(record.recorded_at.as_ref()),
        record.decision_time_us
    );
    let _ = writeln!(out, "What was decided");
    match &record.response {
        Some(Response::AllocateResponse(r)) => allocation_decided(&mut out, r),
        Some(Response::PromiseResponse(r)) => promise_decided(&mut out, r),
        Some(Response::RiskAssessment(r)) => {
            if let Some(pb::decision_record::Request::ScoreOrderRequest(q)) = &record.request {
                let _ = writeln!(out, "  Order {}", q.order_id);
            }
            risk_lines(&mut out, r, 5);
        }
        Some(Response::EvaluatePlanResponse(r)) => {
            let _ = writeln!(
                out,
                "  The caller's plan is {}: it costs {} minor, the optimal plan {} minor",
                if r.feasible { "feasible" } else { "infeasible" },
                r.plan_objective.as_ref().map_or(0, |o| o.total_minor),
                r.optimal_objective.as_ref().map_or(0, |o| o.total_minor)
            );
        }
        Some(Response::ReturnDecision(_)) => {
            let _ = writeln!(out, "  A return was routed (see --json)");
        }
        Some(Response::ReportReturnsResponse(r)) => {
            let _ = writeln!(
                out,
                "  Returned orders reported: {} counted, {} already counted",
                r.counted, r.already_counted
            );
            if let Some(pb::decision_record::Request::ReportReturnsRequest(q)) = &record.request {
                for returned in &q.returns {
                    let _ = writeln!(out, "    - order {}", returned.order_id);
                }
            }
        }
        None => {
            let _ = writeln!(out, "  (no response recorded)");
        }
    }
    let (excluded, why): (Vec<&pb::Reason>, Vec<&pb::Reason>) =
        record.reasons.iter().partition(|r| is_exclusion(r));
    if !why.is_empty() || !excluded.is_empty() {
        let _ = writeln!(out, "Why");
        for reason in why {
            let _ = writeln!(out, "  {}", reason_line(reason));
        }
        if !excluded.is_empty() {
            let _ = writeln!(
                out,
                "  {} candidate nodes were excluded (below)",
                excluded.len()
            );
        }
    }
    if let Some(Response::AllocateResponse(r)) = &record.response {
        alternatives(&mut out, r);
    }
    let _ = writeln!(out, "Decided from");
    if let Some(s) = &record.solver {
        let _ = writeln!(
            out,
            "  solver: {} {}, gap {}, {} us, {} of {} candidates",
            s.method,
            pb::SolverStatus::try_from(s.status).map_or_else(
                |_| s.status.to_string(),
                |st| name(st.as_str_name(), "SOLVER_STATUS_")
            ),
            s.gap,
            s.solve_time_us,
            s.candidates_after_reduction,
            s.candidates_before
        );
    }
    if !record.stock_versions.is_empty() {
        let versions: Vec<String> = record
            .stock_versions
            .iter()
            .map(|v| format!("{} v{} seq {}", v.node, v.version, v.sequence))
            .collect();
        let versions: Vec<&str> = versions.iter().map(String::as_str).collect();
        let _ = writeln!(
            out,
            "  stock of {} nodes: {}",
            versions.len(),
            listed(&versions, LISTED)
        );
    }
    if !record.state_recorded_by.is_empty() {
        let _ = writeln!(
            out,
            "  the same stock and capacities as {} (answered from the promise cache; that record holds them)",
            record.state_recorded_by
        );
    }
    if !record.model_versions.is_empty() {
        let models: Vec<String> = record
            .model_versions
            .iter()
            .map(|m| match m.sha256.get(..12) {
                Some(short) => format!("{} {} (sha256 {short}…)", m.name, m.version),
                None => format!("{} {}", m.name, m.version),
            })
            .collect();
        let _ = writeln!(out, "  models: {}", models.join(", "));
    }
    if let Some(shadow) = &record.shadow {
        let model = name_and_version(shadow.model.as_ref());
        let _ = writeln!(
            out,
            "  shadow model {model}: fraud probability {:.3}, would {} ({})",
            shadow.fraud_probability,
            risk_decision_name(shadow.decision),
            if shadow.agrees { "agrees" } else { "disagrees" }
        );
    }
    if let Some(shadow) = &record.eta_shadow {
        let model = name_and_version(shadow.model.as_ref());
        let _ = writeln!(
            out,
            "  shadow ETA model {model}: {} ({} shipments)",
            if shadow.agrees {
                "would promise the same latest dates"
            } else {
                "would promise other latest dates"
            },
            shadow.shipments.len()
        );
        for s in &shadow.shipments {
            let _ = writeln!(
                out,
                "    {} from {}: q50 {:.2} -> {:.2} days, q90 {:.2} -> {:.2} days",
                s.service_level().as_str_name(),
                s.node,
                s.live_q50,
                s.shadow_q50,
                s.live_q90,
                s.shadow_q90
            );
        }
    }
    let _ = writeln!(
        out,
        "  {} features recorded; input sha256 {}",
        record.features.len(),
        record.input_hash
    );
    let _ = writeln!(
        out,
        "  config sha256 {}, network sha256 {}, server {}",
        record.config_hash, record.network_hash, record.server_version
    );
    out
}

/// `name version` of a recorded model (empty when absent).
fn name_and_version(model: Option<&pb::ModelVersion>) -> String {
    model
        .map(|m| format!("{} {}", m.name, m.version))
        .unwrap_or_default()
}

/// One event as a line: position, time, kind, decision, order,
/// reservation, summary.
pub fn event_line(event: &pb::DecisionEvent) -> String {
    let mut line = format!(
        "{} {} {} {}",
        event.position,
        time(event.at.as_ref()),
        event_kind_name(event.kind),
        event.decision_id
    );
    if !event.order_id.is_empty() {
        let _ = write!(line, " order={}", event.order_id);
    }
    if !event.reservation_id.is_empty() {
        let _ = write!(line, " reservation={}", event.reservation_id);
    }
    let _ = write!(line, " {}", event.summary);
    line
}

/// A replay's verdict as text: `identical`, or `different` and one line per
/// difference.
pub fn replay_text(replay: &pb::ReplayDecisionResponse) -> String {
    let id = replay
        .original
        .as_ref()
        .map_or("?", |r| r.decision_id.as_str());
    if replay.identical {
        return format!("{id}: identical\n");
    }
    let mut out = format!("{id}: different\n");
    for difference in &replay.differences {
        let _ = writeln!(out, "  {difference}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allocation_record() -> pb::DecisionRecord {
        let reason = pb::Reason {
            code: pb::ReasonCode::LowestCost as i32,
            message: "cheapest node with stock".into(),
            node: "DC-ATL".into(),
            ..Default::default()
        };
        pb::DecisionRecord {
            decision_id: "dec_01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
            kind: pb::DecisionKind::Allocation as i32,
            response: Some(pb::decision_record::Response::AllocateResponse(
                pb::AllocateResponse {
                    order_id: "o-1".into(),
                    disposition: pb::OrderDisposition::Allocated as i32,
                    shipments: vec![pb::Shipment {
                        node: "DC-ATL".into(),
                        service: "UPS-GROUND".into(),
                        units: 2,
                        total_cost_minor: 1843,
                        ..Default::default()
                    }],
                    objective: Some(pb::Objective {
                        total_minor: 1843,
                        ..Default::default()
                    }),
                    excluded: ["ST-1", "ST-2"]
                        .into_iter()
                        .map(|node| pb::ExcludedCandidate {
                            node: node.into(),
                            reasons: vec![pb::Reason {
                                code: pb::ReasonCode::ExcludedNoStock as i32,
                                node: node.into(),
                                ..Default::default()
                            }],
                        })
                        .collect(),
                    used_node_alternatives: vec![pb::NodeAlternative {
                        node: "DC-ATL".into(),
                        cost_without_minor: Some(2043),
                    }],
                    ..Default::default()
                },
            )),
            reasons: vec![reason],
            model_versions: vec![pb::ModelVersion {
                name: "fraud-gbt".into(),
                version: "2025.06.1".into(),
                sha256: "5eed".repeat(16),
            }],
            config_hash: "c0ffee".into(),
            ..Default::default()
        }
    }

    #[test]
    fn an_allocation_reads_as_decision_reasons_alternatives_and_versions() {
        let text = explain_text(&allocation_record());
        for expected in [
            "(ALLOCATION)",
            "Order o-1: ALLOCATED",
            "Shipment 1: DC-ATL via UPS-GROUND",
            "1843 minor",
            "LOWEST_COST: cheapest node with stock (node DC-ATL)",
            "Without DC-ATL: 2043 minor (+200 minor)",
            "models: fraud-gbt 2025.06.1 (sha256 5eed5eed5eed…)",
            "config sha256 c0ffee",
            "Excluded (EXCLUDED_NO_STOCK): ST-1, ST-2",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from\n{text}");
        }
    }

    #[test]
    fn a_quote_from_the_cache_names_the_record_that_holds_its_state() {
        let mut record = allocation_record();
        assert!(!explain_text(&record).contains("the same stock and capacities as"));
        record.state_recorded_by = "dec_01J0000000000000000000000A".into();
        let text = explain_text(&record);
        assert!(
            text.contains("the same stock and capacities as dec_01J0000000000000000000000A"),
            "{text}"
        );
    }

    #[test]
    fn an_eta_shadow_reads_as_its_version_agreement_and_each_shipment() {
        let mut record = allocation_record();
        assert!(!explain_text(&record).contains("shadow ETA model"));
        record.eta_shadow = Some(pb::EtaShadow {
            model: Some(pb::ModelVersion {
                name: "eta".into(),
                version: "eta-next".into(),
                sha256: String::new(),
            }),
            shipments: vec![pb::EtaShadowShipment {
                service_level: pb::ServiceLevel::Ground as i32,
                node: "DC-ABE".into(),
                live_q50: 2.0,
                shadow_q50: 2.5,
                live_q90: 3.2,
                shadow_q90: 4.1,
                ..Default::default()
            }],
            agrees: false,
        });
        let text = explain_text(&record);
        for expected in [
            "shadow ETA model eta eta-next: would promise other latest dates (1 shipments)",
            "SERVICE_LEVEL_GROUND from DC-ABE: q50 2.00 -> 2.50 days, q90 3.20 -> 4.10 days",
        ] {
            assert!(text.contains(expected), "{expected:?} in {text}");
        }
    }

    #[test]
    fn long_lists_are_cut_with_a_count() {
        let nodes = ["a", "b", "c"];
        assert_eq!(listed(&nodes, 3), "a, b, c");
        assert_eq!(listed(&nodes, 2), "a, b and 1 more (--json lists all)");
    }

    #[test]
    fn event_kinds_parse_in_any_spelling_but_unspecified() {
        assert_eq!(
            parse_event_kind("risk-scored"),
            Some(pb::DecisionEventKind::RiskScored)
        );
        assert_eq!(
            parse_event_kind("DECISION_EVENT_KIND_ORDER_HELD"),
            Some(pb::DecisionEventKind::OrderHeld)
        );
        assert_eq!(parse_event_kind("unspecified"), None);
        assert_eq!(parse_event_kind("nope"), None);
    }

    #[test]
    fn replays_print_identical_or_each_difference() {
        let mut replay = pb::ReplayDecisionResponse {
            original: Some(allocation_record()),
            identical: true,
            ..Default::default()
        };
        assert!(replay_text(&replay).ends_with(": identical\n"));
        replay.identical = false;
        replay.differences = vec!["lines[0].assignments: DC-ATL x2 -> DC-DFW x2".into()];
        let text = replay_text(&replay);
        assert!(text.contains("different"), "{text}");
        assert!(text.contains("  lines[0].assignments"), "{text}");
    }
}
