//! What differs between a recorded answer and its replay, one line each, in
//! everything that was decided: the disposition, the lines and their
//! reasons, the shipments with their costs and windows, the objective, the
//! solver's status, the exclusions and the risk assessment. Ids, timings,
//! the reservation and the explanations bounded by time (alternatives,
//! runners-up) are not compared.

use allot_proto::v1 as pb;

fn disposition(d: i32) -> String {
    pb::OrderDisposition::try_from(d).map_or_else(|_| d.to_string(), |d| d.as_str_name().into())
}

fn codes(reasons: &[pb::Reason]) -> String {
    let names: Vec<String> = reasons
        .iter()
        .map(|r| {
            let code = pb::ReasonCode::try_from(r.code)
                .map_or_else(|_| r.code.to_string(), |c| c.as_str_name().into());
            let code = code.trim_start_matches("REASON_CODE_").to_string();
            if r.node.is_empty() {
                code
            } else {
                format!("{code}@{}", r.node)
            }
        })
        .collect();
    format!("[{}]", names.join(", "))
}

fn reasons_line(out: &mut Vec<String>, at: &str, a: &[pb::Reason], b: &[pb::Reason]) {
    if a == b {
        return;
    }
    let (ca, cb) = (codes(a), codes(b));
    if ca != cb {
        out.push(format!("{at}: {ca} -> {cb}"));
    } else {
        let text = |r: &[pb::Reason]| {
            r.iter()
                .map(|r| r.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        };
        out.push(format!("{at} messages: {} -> {}", text(a), text(b)));
    }
}

fn assignments(line: &pb::LineAllocation) -> String {
    if line.assignments.is_empty() {
        return "none".into();
    }
    line.assignments
        .iter()
        .map(|a| {
            let protected = if a.protected_quantity > 0 {
                format!(" ({} protected)", a.protected_quantity)
            } else {
                String::new()
            };
            format!("{} x{} {}{protected}", a.node, a.quantity, a.service)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn time(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref()
        .map_or_else(|| "-".into(), |t| format!("{}.{:09}", t.seconds, t.nanos))
}

fn shipment(s: &pb::Shipment) -> String {
    let window = s.delivery_window.as_ref().map_or_else(
        || "no window".to_string(),
        |w| {
            format!(
                "window {}..{} p={}",
                time(&w.earliest),
                time(&w.latest),
                w.on_time_probability
            )
        },
    );
    format!(
        "{} {} {}u {}g package {} transport {} handling {} lateness {} total {}, {window}",
        s.node,
        s.service,
        s.units,
        s.weight_grams,
        s.package_cost_minor,
        s.transport_cost_minor,
        s.handling_cost_minor,
        s.lateness_penalty_minor,
        s.total_cost_minor
    )
}

fn objective(out: &mut Vec<String>, a: Option<pb::Objective>, b: Option<pb::Objective>) {
    let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
    let terms = [
        ("total_minor", a.total_minor, b.total_minor),
        ("package_minor", a.package_minor, b.package_minor),
        ("transport_minor", a.transport_minor, b.transport_minor),
        ("handling_minor", a.handling_minor, b.handling_minor),
        (
            "split_penalty_minor",
            a.split_penalty_minor,
            b.split_penalty_minor,
        ),
        (
            "lateness_penalty_minor",
            a.lateness_penalty_minor,
            b.lateness_penalty_minor,
        ),
        (
            "protection_penalty_minor",
            a.protection_penalty_minor,
            b.protection_penalty_minor,
        ),
        (
            "backorder_penalty_minor",
            a.backorder_penalty_minor,
            b.backorder_penalty_minor,
        ),
    ];
    for (name, x, y) in terms {
        if x != y {
            out.push(format!("objective.{name}: {x} -> {y}"));
        }
    }
}

/// Differences between two risk assessments (probability, decision,
/// reasons, model), each line prefixed with `at`.
pub(crate) fn risk(
    at: &str,
    a: Option<&pb::RiskAssessment>,
    b: Option<&pb::RiskAssessment>,
) -> Vec<String> {
    let mut out = Vec::new();
    let (a, b) = match (a, b) {
        (None, None) => return out,
        (Some(_), None) => return vec![format!("{at}risk: assessed -> not assessed")],
        (None, Some(_)) => return vec![format!("{at}risk: not assessed -> assessed")],
        (Some(a), Some(b)) => (a, b),
    };
    if a.fraud_probability != b.fraud_probability {
        out.push(format!(
            "{at}fraud_probability: {} -> {}",
            a.fraud_probability, b.fraud_probability
        ));
    }
    if a.decision != b.decision {
        let name = |d: i32| {
            pb::RiskDecision::try_from(d).map_or_else(|_| d.to_string(), |d| d.as_str_name().into())
        };
        out.push(format!(
            "{at}decision: {} -> {}",
            name(a.decision),
            name(b.decision)
        ));
    }
    reasons_line(&mut out, &format!("{at}reasons"), &a.reasons, &b.reasons);
    if (&a.model_name, &a.model_version) != (&b.model_name, &b.model_version) {
        out.push(format!(
            "{at}model: {} {} -> {} {}",
            a.model_name, a.model_version, b.model_name, b.model_version
        ));
    }
    out
}

/// Differences between a recorded Allocate answer and its replay.
pub(crate) fn allocation(a: &pb::AllocateResponse, b: &pb::AllocateResponse) -> Vec<String> {
    let mut out = Vec::new();
    if a.order_id != b.order_id {
        out.push(format!("order_id: {} -> {}", a.order_id, b.order_id));
    }
    if a.disposition != b.disposition {
        out.push(format!(
            "disposition: {} -> {}",
            disposition(a.disposition),
            disposition(b.disposition)
        ));
    }
    if a.lines.len() != b.lines.len() {
        out.push(format!(
            "lines: {} -> {} lines",
            a.lines.len(),
            b.lines.len()
        ));
    }
    for (i, (x, y)) in a.lines.iter().zip(&b.lines).enumerate() {
        if (&x.line_id, &x.sku, x.quantity) != (&y.line_id, &y.sku, y.quantity) {
            out.push(format!(
                "lines[{i}]: {} {} x{} -> {} {} x{}",
                x.line_id, x.sku, x.quantity, y.line_id, y.sku, y.quantity
            ));
        }
        if x.assignments != y.assignments {
            out.push(format!(
                "lines[{i}].assignments: {} -> {}",
                assignments(x),
                assignments(y)
            ));
        }
        if x.backordered_quantity != y.backordered_quantity {
            out.push(format!(
                "lines[{i}].backordered_quantity: {} -> {}",
                x.backordered_quantity, y.backordered_quantity
            ));
        }
        reasons_line(
            &mut out,
            &format!("lines[{i}].reasons"),
            &x.reasons,
            &y.reasons,
        );
    }
    if a.shipments.len() != b.shipments.len() {
        out.push(format!(
            "shipments: {} -> {}",
            a.shipments
                .iter()
                .map(|s| s.node.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            b.shipments
                .iter()
                .map(|s| s.node.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    } else {
        for (i, (x, y)) in a.shipments.iter().zip(&b.shipments).enumerate() {
            if x != y {
                out.push(format!(
                    "shipments[{i}]: {} -> {}",
                    shipment(x),
                    shipment(y)
                ));
            }
        }
    }
    objective(&mut out, a.objective, b.objective);
    let status = |s: &Option<pb::SolverStats>| s.as_ref().map_or(0, |s| s.status);
    if status(&a.solver) != status(&b.solver) {
        let name = |s: i32| {
            pb::SolverStatus::try_from(s).map_or_else(|_| s.to_string(), |s| s.as_str_name().into())
        };
        out.push(format!(
            "solver.status: {} -> {}",
            name(status(&a.solver)),
            name(status(&b.solver))
        ));
    }
    if a.excluded != b.excluded {
        let nodes = |e: &[pb::ExcludedCandidate]| e.len();
        out.push(format!(
            "excluded: {} -> {} nodes, or their reasons changed",
            nodes(&a.excluded),
            nodes(&b.excluded)
        ));
    }
    out.extend(risk("risk.", a.risk.as_ref(), b.risk.as_ref()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer() -> pb::AllocateResponse {
        pb::AllocateResponse {
            decision_id: "dec_a".into(),
            order_id: "o-1".into(),
            disposition: pb::OrderDisposition::Allocated as i32,
            lines: vec![pb::LineAllocation {
                line_id: "1".into(),
                sku: "SKU-1".into(),
                quantity: 2,
                assignments: vec![pb::LineAssignment {
                    node: "DC-ATL".into(),
                    quantity: 2,
                    service: "UPX-GROUND".into(),
                    protected_quantity: 0,
                }],
                backordered_quantity: 0,
                reasons: vec![pb::Reason {
                    code: pb::ReasonCode::LowestCost as i32,
                    ..Default::default()
                }],
            }],
            objective: Some(pb::Objective {
                total_minor: 900,
                ..Default::default()
            }),
            solver: Some(pb::SolverStats {
                status: pb::SolverStatus::Optimal as i32,
                solve_time_us: 10,
                ..Default::default()
            }),
            risk: Some(pb::RiskAssessment {
                fraud_probability: 0.25,
                decision: pb::RiskDecision::Approve as i32,
                scoring_time_us: 3,
                decision_id: "dec_a".into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn ids_and_timings_do_not_count() {
        let a = answer();
        let mut b = answer();
        b.decision_id = "dec_b".into();
        b.solver.as_mut().unwrap().solve_time_us = 99;
        let risk = b.risk.as_mut().unwrap();
        risk.scoring_time_us = 7;
        risk.decision_id = "dec_b".into();
        assert!(allocation(&a, &b).is_empty());
    }

    #[test]
    fn a_moved_assignment_and_a_new_decision_are_named() {
        let a = answer();
        let mut b = answer();
        b.lines[0].assignments[0].node = "DC-DFW".into();
        b.objective.as_mut().unwrap().total_minor = 950;
        b.risk.as_mut().unwrap().decision = pb::RiskDecision::Review as i32;
        let d = allocation(&a, &b);
        assert_eq!(
            d,
            vec![
                "lines[0].assignments: DC-ATL x2 UPX-GROUND -> DC-DFW x2 UPX-GROUND",
                "objective.total_minor: 900 -> 950",
                "risk.decision: RISK_DECISION_APPROVE -> RISK_DECISION_REVIEW",
            ]
        );
    }
}
