//! `allotctl forecast`: daily demand per SKU and region (or node's region)
//! from the demand model (PlanningService.ForecastDemand).

use allot_client::proto::{DemandForecast, ForecastDemandRequest, Promotion};
use clap::Args;

use super::output::{print_one, write_line};
use super::server::Server;

/// Arguments of `forecast`.
#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// A SKU code; repeat for several.
    #[arg(long = "sku", value_name = "CODE", required = true)]
    pub skus: Vec<String>,
    /// A region code; repeat for several.
    #[arg(long = "region", value_name = "CODE")]
    pub regions: Vec<String>,
    /// A node code (its region's demand); repeat for several.
    #[arg(long = "node", value_name = "CODE")]
    pub nodes: Vec<String>,
    /// Days to forecast from today, 1 to 28.
    #[arg(long, value_name = "N", default_value_t = 14)]
    pub days: u32,
    /// A promotion to expect: CATEGORY:FIRST_DAY:LAST_DAY:DISCOUNT, e.g.
    /// electronics:2026-12-10:2026-12-12:0.25; repeat for several.
    #[arg(long = "promotion", value_name = "SPEC", value_parser = parse_promotion)]
    pub promotions: Vec<Promotion>,
    /// Print the DemandForecast as JSON instead of one line per day.
    #[arg(long)]
    pub json: bool,
}

fn parse_promotion(spec: &str) -> Result<Promotion, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let [category, first_day, last_day, discount] = parts[..] else {
        return Err(format!(
            "{spec:?}: expected CATEGORY:FIRST_DAY:LAST_DAY:DISCOUNT"
        ));
    };
    let discount: f64 = discount
        .parse()
        .map_err(|e| format!("{spec:?}: discount {discount:?}: {e}"))?;
    Ok(Promotion {
        category: category.to_string(),
        first_day: first_day.to_string(),
        last_day: last_day.to_string(),
        discount,
    })
}

/// Runs `forecast`.
pub async fn forecast(server: &Server, args: ForecastArgs) -> anyhow::Result<()> {
    let client = server.connect().await?;
    let answer = client
        .planning()
        .forecast_demand(ForecastDemandRequest {
            skus: args.skus,
            regions: args.regions,
            nodes: args.nodes,
            horizon_days: args.days,
            promotions: args.promotions,
        })
        .await?
        .into_inner();
    if args.json {
        return print_one(&answer, "DemandForecast");
    }
    write_line(&forecast_text(&answer))
}

/// The forecast as lines: per series a header with the known history,
/// then one line per day.
pub fn forecast_text(answer: &DemandForecast) -> String {
    let mut out = vec![format!(
        "model {} (negative binomial size {:.2})",
        answer.model_version, answer.dispersion_size
    )];
    for s in &answer.series {
        let place = if s.node.is_empty() {
            format!("region {}", s.region)
        } else {
            format!("node {} (region {})", s.node, s.region)
        };
        let history: Vec<String> = s
            .history
            .iter()
            .map(|d| {
                if d.known {
                    d.units.to_string()
                } else {
                    "?".to_string()
                }
            })
            .collect();
        out.push(format!(
            "{} in {place}: last 7 days [{}], ordered today {}",
            s.sku,
            history.join(" "),
            s.ordered_today
        ));
        for d in &s.days {
            out.push(format!(
                "  {}  mean {:>7.2}  q10 {:>4}  q50 {:>4}  q90 {:>4}{}",
                d.date,
                d.mean,
                d.q10,
                d.q50,
                d.q90,
                if d.promotion { "  promotion" } else { "" }
            ));
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use allot_client::proto::{DayDemand, DaySales, DemandSeries};

    #[test]
    fn promotions_parse_and_bad_ones_say_why() {
        let p = parse_promotion("toys:2026-12-01:2026-12-02:0.3").unwrap();
        assert_eq!(p.category, "toys");
        assert_eq!(p.discount, 0.3);
        assert!(parse_promotion("toys:2026-12-01").is_err());
        assert!(
            parse_promotion("toys:a:b:x")
                .unwrap_err()
                .contains("discount")
        );
    }

    #[test]
    fn text_shows_unknown_days_and_each_forecast_day() {
        let answer = DemandForecast {
            model_version: "demand-1".into(),
            dispersion_size: 4.0,
            series: vec![DemandSeries {
                sku: "SKU-1".into(),
                region: "R1".into(),
                node: String::new(),
                history: vec![
                    DaySales {
                        date: "2026-12-01".into(),
                        known: false,
                        units: 0,
                    },
                    DaySales {
                        date: "2026-12-02".into(),
                        known: true,
                        units: 3,
                    },
                ],
                ordered_today: 2,
                days: vec![DayDemand {
                    date: "2026-12-08".into(),
                    mean: 2.5,
                    q10: 1,
                    q50: 2,
                    q90: 5,
                    promotion: true,
                }],
            }],
        };
        let text = forecast_text(&answer);
        assert!(
            text.contains("last 7 days [? 3], ordered today 2"),
            "{text}"
        );
        assert!(
            text.contains("2026-12-08  mean    2.50  q10    1  q50    2  q90    5  promotion"),
            "{text}"
        );
    }
}
