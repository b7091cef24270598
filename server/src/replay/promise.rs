//! Replaying a promise: the recorded request at the recorded order time,
//! over a stock store holding exactly the recorded rows and the recorded
//! capacities, with no promise cache; the answers are compared in
//! everything that was quoted (not the decision id, the quote time or
//! whether the plan came from the cache).

use allot_proto::v1 as pb;
use allot_service::{DecisionId, ServiceError};

use super::{Services, precondition, read_record, recorded_state, recorded_with};
use crate::convert::promise::{promise_request, promise_response};
use crate::convert::time::system_time;

fn level(l: i32) -> String {
    pb::ServiceLevel::try_from(l).map_or_else(
        |_| l.to_string(),
        |l| l.as_str_name().trim_start_matches("SERVICE_LEVEL_").into(),
    )
}

fn ship_from(o: &pb::DeliveryOption) -> String {
    o.ship_from
        .iter()
        .map(|s| format!("{} {} x{} from {}", s.line_id, s.sku, s.quantity, s.node))
        .collect::<Vec<_>>()
        .join(", ")
}

fn instant(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref().map_or_else(
        || "none".into(),
        |t| format!("{}.{:09}", t.seconds, t.nanos),
    )
}

/// Differences between a recorded promise and its replay, one line each.
pub(crate) fn differences(a: &pb::PromiseResponse, b: &pb::PromiseResponse) -> Vec<String> {
    let mut out = Vec::new();
    if a.model_version != b.model_version {
        out.push(format!(
            "model_version: {:?} -> {:?}",
            a.model_version, b.model_version
        ));
    }
    let levels = |r: &pb::PromiseResponse| {
        r.options
            .iter()
            .map(|o| level(o.service_level))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if a.options.len() != b.options.len() {
        out.push(format!("options: [{}] -> [{}]", levels(a), levels(b)));
    }
    for (x, y) in a.options.iter().zip(&b.options) {
        let at = format!("options[{}]", level(x.service_level));
        if x.service_level != y.service_level {
            out.push(format!("options: [{}] -> [{}]", levels(a), levels(b)));
            break;
        }
        if x.ship_from != y.ship_from {
            out.push(format!(
                "{at}.ship_from: {} -> {}",
                ship_from(x),
                ship_from(y)
            ));
        }
        let fields = [
            ("service", x.service.clone(), y.service.clone()),
            ("ship_by", instant(&x.ship_by), instant(&y.ship_by)),
            (
                "ship_date_local",
                x.ship_date_local.clone(),
                y.ship_date_local.clone(),
            ),
            (
                "earliest_delivery_date",
                x.earliest_delivery_date.clone(),
                y.earliest_delivery_date.clone(),
            ),
            (
                "latest_delivery_date",
                x.latest_delivery_date.clone(),
                y.latest_delivery_date.clone(),
            ),
            (
                "earliest_delivery",
                instant(&x.earliest_delivery),
                instant(&y.earliest_delivery),
            ),
            (
                "latest_delivery",
                instant(&x.latest_delivery),
                instant(&y.latest_delivery),
            ),
            (
                "on_time_probability",
                x.on_time_probability.to_string(),
                y.on_time_probability.to_string(),
            ),
            (
                "cost_minor",
                x.cost_minor.to_string(),
                y.cost_minor.to_string(),
            ),
        ];
        for (name, before, after) in fields {
            if before != after {
                out.push(format!("{at}.{name}: {before} -> {after}"));
            }
        }
    }
    let unavailable = |r: &pb::PromiseResponse| {
        r.unavailable
            .iter()
            .map(|u| {
                let mut codes: Vec<String> = u
                    .reasons
                    .iter()
                    .map(|r| {
                        pb::ReasonCode::try_from(r.code).map_or_else(
                            |_| r.code.to_string(),
                            |c| c.as_str_name().trim_start_matches("REASON_CODE_").into(),
                        )
                    })
                    .collect();
                codes.dedup();
                format!("{} {}", level(u.service_level), codes.join("/"))
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    if a.unavailable != b.unavailable {
        out.push(format!(
            "unavailable: {} -> {}",
            unavailable(a),
            unavailable(b)
        ));
    }
    out
}

/// `record`'s state, or that of the promise record `basis` it refers to (a
/// quote answered from the cache). FAILED_PRECONDITION when that record is
/// gone (pruned, or lost with a failed batch) or is not a promise.
async fn state_of(
    services: &Services,
    record: &pb::DecisionRecord,
) -> Result<allot_service::decisions::RecordedState, ServiceError> {
    let network = services.network();
    let basis = record.state_recorded_by.as_str();
    if basis.is_empty() {
        return recorded_state(record, network);
    }
    let gone = || {
        precondition(
            record,
            format!("its state is recorded by promise decision {basis}, which is not retained"),
        )
    };
    let id = DecisionId::parse(basis, "state_recorded_by").map_err(|_| gone())?;
    let state = match read_record(services, &id).await {
        Ok(state) if state.kind == pb::DecisionKind::Promise as i32 => state,
        Ok(_) => return Err(gone()),
        Err(e) if e.code() == allot_service::Code::NotFound => return Err(gone()),
        Err(e) => return Err(e),
    };
    recorded_state(
        &pb::DecisionRecord {
            stock_read: state.stock_read,
            capacity: state.capacity,
            ..record.clone()
        },
        network,
    )
}

/// Re-runs a PROMISE record and compares the answers.
pub(super) async fn replay(
    services: &Services,
    record: pb::DecisionRecord,
) -> Result<pb::ReplayDecisionResponse, ServiceError> {
    let with = recorded_with(&record);
    services.replay.check_versions(&with)?;
    let Some(pb::decision_record::Request::PromiseRequest(mut request)) = record.request.clone()
    else {
        return Err(precondition(&record, "no recorded promise request"));
    };
    let Some(pb::decision_record::Response::PromiseResponse(recorded)) = record.response.clone()
    else {
        return Err(precondition(&record, "no recorded promise response"));
    };
    let network = services.network();
    let state = state_of(services, &record).await?;
    let decided_at = state
        .decided_at
        .ok_or_else(|| precondition(&record, "no recorded decision time"))?;
    // The recorded order time: explicit in the request, else the time the
    // quote was made (recorded as `decided_at`).
    if request.order_time.is_none() {
        request.order_time = record.decided_at;
    }
    let promise = promise_request(network, request, decided_at)?;
    let (promise, outcome) = services.replay.promise(&with, promise, state).await?;
    let quoted_at = recorded
        .quoted_at
        .as_ref()
        .map_or(Ok(decided_at), |t| system_time(t, "quoted_at"))?;
    let mut replayed = promise_response(
        network,
        &promise,
        &outcome,
        record.decision_id.clone(),
        quoted_at,
    );
    // Whether a plan came from the cache is not part of the decision.
    for (o, r) in replayed.options.iter_mut().zip(&recorded.options) {
        o.from_cache = r.from_cache;
    }
    let differences = differences(&recorded, &replayed);
    Ok(pb::ReplayDecisionResponse {
        original: Some(record),
        identical: differences.is_empty(),
        differences,
        response: Some(pb::replay_decision_response::Response::PromiseResponse(
            replayed,
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(cost: i64) -> pb::DeliveryOption {
        pb::DeliveryOption {
            service_level: pb::ServiceLevel::Ground as i32,
            service: "NPX-GROUND".into(),
            latest_delivery_date: "2026-12-01".into(),
            cost_minor: cost,
            ..Default::default()
        }
    }

    #[test]
    fn differences_name_the_option_and_the_field() {
        let a = pb::PromiseResponse {
            options: vec![option(100)],
            ..Default::default()
        };
        assert!(differences(&a, &a).is_empty());
        let mut b = a.clone();
        b.options[0].cost_minor = 120;
        b.options[0].latest_delivery_date = "2026-12-02".into();
        assert_eq!(
            differences(&a, &b),
            vec![
                "options[GROUND].latest_delivery_date: 2026-12-01 -> 2026-12-02".to_string(),
                "options[GROUND].cost_minor: 100 -> 120".to_string(),
            ]
        );
        let c = pb::PromiseResponse::default();
        assert_eq!(
            differences(&a, &c),
            vec!["options: [GROUND] -> []".to_string()]
        );
    }
}
