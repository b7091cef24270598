//! ForecastDemand: the request into a forecast query (codes resolved, each
//! field checked and named), the forecast into its answer.

use std::collections::HashSet;
use std::time::Instant;

use allot_engine::network::Network;
use allot_models::demand::Promotion;
use allot_proto::v1 as pb;
use allot_service::ServiceError;
use allot_service::demand::{
    CategoryPromotion, DemandAnswer, ForecastQuery, MAX_FORECAST_ITEMS, Place, horizon,
};
use chrono::NaiveDate;

use super::{invalid, not_found};

/// The query of a ForecastDemand request.
pub(crate) fn forecast_query(
    network: &Network,
    request: pb::ForecastDemandRequest,
    deadline: Instant,
) -> Result<ForecastQuery, ServiceError> {
    let pb::ForecastDemandRequest {
        skus,
        regions,
        nodes,
        horizon_days,
        promotions,
    } = request;
    if skus.is_empty() {
        return Err(invalid("skus", "at least one SKU code is required"));
    }
    for (field, len) in [
        ("skus", skus.len()),
        ("regions", regions.len()),
        ("nodes", nodes.len()),
    ] {
        if len > MAX_FORECAST_ITEMS {
            return Err(invalid(
                field,
                format!("{len} codes: at most {MAX_FORECAST_ITEMS}"),
            ));
        }
    }
    if regions.is_empty() && nodes.is_empty() {
        return Err(invalid(
            "regions",
            "at least one region or node code is required",
        ));
    }
    let skus = resolve("skus", "SKU", &skus, |c| network.sku_id(c))?;
    let mut places: Vec<Place> = resolve("regions", "region", &regions, |c| network.region_id(c))?
        .into_iter()
        .map(Place::Region)
        .collect();
    places.extend(
        resolve("nodes", "node", &nodes, |c| network.node_id(c))?
            .into_iter()
            .map(Place::Node),
    );
    let promotions = promotions
        .into_iter()
        .enumerate()
        .map(|(i, p)| promotion(&format!("promotions[{i}]"), p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ForecastQuery {
        skus,
        places,
        horizon_days: horizon(horizon_days)?,
        promotions,
        deadline,
    })
}

/// Resolves codes (each once) to ids; `field[i]` names a code that is
/// empty, repeated (INVALID_ARGUMENT) or unknown (NOT_FOUND).
pub(crate) fn resolve<T>(
    field: &str,
    what: &str,
    codes: &[String],
    id: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, ServiceError> {
    let mut seen = HashSet::new();
    codes
        .iter()
        .enumerate()
        .map(|(i, code)| {
            let field = format!("{field}[{i}]");
            if code.is_empty() {
                return Err(invalid(&field, "empty code"));
            }
            if !seen.insert(code.as_str()) {
                return Err(invalid(&field, format!("{code:?} is listed twice")));
            }
            id(code).ok_or_else(|| not_found(&field, what, code))
        })
        .collect()
}

fn date(field: &str, text: &str) -> Result<NaiveDate, ServiceError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|e| invalid(field, format!("{text:?} is not a YYYY-MM-DD date: {e}")))
}

fn promotion(field: &str, p: pb::Promotion) -> Result<CategoryPromotion, ServiceError> {
    let pb::Promotion {
        category,
        first_day,
        last_day,
        discount,
    } = p;
    if category.is_empty() {
        return Err(invalid(&format!("{field}.category"), "required"));
    }
    let from = date(&format!("{field}.first_day"), &first_day)?;
    let to = date(&format!("{field}.last_day"), &last_day)?;
    if to < from {
        return Err(invalid(
            &format!("{field}.last_day"),
            format!("{to} is before first_day {from}"),
        ));
    }
    if !(discount > 0.0 && discount < 1.0) {
        return Err(invalid(
            &format!("{field}.discount"),
            format!("{discount}: must be strictly between 0 and 1"),
        ));
    }
    Ok(CategoryPromotion {
        category,
        promotion: Promotion { from, to, discount },
    })
}

/// The answer of a forecast.
pub(crate) fn demand_forecast(network: &Network, answer: DemandAnswer) -> pb::DemandForecast {
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    pb::DemandForecast {
        model_version: answer.model_version,
        dispersion_size: if answer.dispersion_size.is_finite() {
            answer.dispersion_size
        } else {
            0.0
        },
        series: answer
            .series
            .into_iter()
            .map(|s| pb::DemandSeries {
                sku: network.sku(s.sku).code.clone(),
                region: network.region(s.region).code.clone(),
                node: s
                    .node
                    .map(|n| network.node(n).code.clone())
                    .unwrap_or_default(),
                history: s
                    .history
                    .iter()
                    .map(|k| pb::DaySales {
                        date: day(k.date),
                        known: k.units.is_some(),
                        units: k.units.unwrap_or(0),
                    })
                    .collect(),
                ordered_today: s.ordered_today,
                days: s
                    .days
                    .iter()
                    .map(|d| pb::DayDemand {
                        date: day(d.date),
                        mean: d.mean,
                        q10: d.q10,
                        q50: d.q50,
                        q90: d.q90,
                        promotion: d.promotion,
                    })
                    .collect(),
            })
            .collect(),
    }
}
