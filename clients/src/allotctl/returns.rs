//! `allotctl return`: where a returned item goes and what happens to each
//! unit (ReturnsService.RouteReturn).

use allot_client::proto::{
    Destination, ItemCondition, ReturnDecision, ReturnDisposition, ReturnReason,
    RouteReturnRequest, destination::Location,
};
use clap::Args;

use super::output::{print_one, write_line};
use super::server::Server;

/// Arguments of `return`.
#[derive(Debug, Args)]
pub struct ReturnArgs {
    /// The OMS's return (RMA) id.
    #[arg(long = "id", value_name = "RMA")]
    pub return_id: String,
    /// SKU code of the returned item.
    #[arg(long)]
    pub sku: String,
    /// Units returned.
    #[arg(long, default_value_t = 1)]
    pub quantity: u32,
    /// Postal code the item ships from.
    #[arg(long = "from", value_name = "POSTAL_CODE")]
    pub origin: String,
    /// Why: defective, damaged-in-transit, wrong-item, not-as-described,
    /// size-fit, no-longer-needed, arrived-late, other.
    #[arg(long, default_value = "other", value_parser = parse_reason)]
    pub reason: ReturnReason,
    /// Its condition: new-sealed, like-new, used, damaged.
    #[arg(long, default_value = "used", value_parser = parse_condition)]
    pub condition: ItemCondition,
    /// What the customer paid per unit, minor units (default: the list
    /// price).
    #[arg(long, value_name = "MINOR")]
    pub price: Option<u64>,
    /// The original order's id.
    #[arg(long = "order", value_name = "ID", default_value = "")]
    pub order_id: String,
    /// Print the ReturnDecision as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The proto enum name of a kebab-case word, e.g. `size-fit` ->
/// `PREFIX_SIZE_FIT`.
fn enum_name(prefix: &str, word: &str) -> String {
    format!("{prefix}_{}", word.trim().to_uppercase().replace('-', "_"))
}

fn parse_reason(word: &str) -> Result<ReturnReason, String> {
    ReturnReason::from_str_name(&enum_name("RETURN_REASON", word))
        .filter(|r| *r != ReturnReason::Unspecified)
        .ok_or_else(|| format!("{word:?}: give defective, damaged-in-transit, wrong-item, not-as-described, size-fit, no-longer-needed, arrived-late or other"))
}

fn parse_condition(word: &str) -> Result<ItemCondition, String> {
    ItemCondition::from_str_name(&enum_name("ITEM_CONDITION", word))
        .filter(|c| *c != ItemCondition::Unspecified)
        .ok_or_else(|| format!("{word:?}: give new-sealed, like-new, used or damaged"))
}

/// Runs `return`.
pub async fn route_return(server: &Server, args: ReturnArgs) -> anyhow::Result<()> {
    let client = server.connect().await?;
    let answer = client
        .returns()
        .route_return(RouteReturnRequest {
            return_id: args.return_id,
            order_id: args.order_id,
            sku: args.sku,
            quantity: args.quantity,
            reason: args.reason as i32,
            condition: args.condition as i32,
            origin: Some(Destination {
                location: Some(Location::PostalCode(args.origin)),
                ..Default::default()
            }),
            unit_price_minor: args.price,
        })
        .await?
        .into_inner();
    if args.json {
        return print_one(&answer, "ReturnDecision");
    }
    write_line(&decision_text(&answer))
}

fn disposition(d: i32) -> String {
    ReturnDisposition::try_from(d)
        .map(|d| {
            d.as_str_name()
                .trim_start_matches("RETURN_DISPOSITION_")
                .to_lowercase()
                .replace('_', " ")
        })
        .unwrap_or_else(|_| d.to_string())
}

fn money(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", minor.abs() / 100, minor.abs() % 100)
}

/// The decision as lines: where, each disposition's units, the money, the
/// runner-up and the reasons.
pub fn decision_text(d: &ReturnDecision) -> String {
    let mut out = Vec::new();
    if d.node.is_empty() {
        out.push(format!(
            "return {}: write off, the customer keeps it (decision {})",
            d.return_id, d.decision_id
        ));
    } else {
        out.push(format!(
            "return {}: ship to {} with {} (decision {})",
            d.return_id, d.node, d.service, d.decision_id
        ));
        for u in &d.units {
            out.push(format!(
                "  {:>5} unit(s) {:<16} recovers {}",
                u.quantity,
                disposition(u.disposition),
                money(u.recovery_minor)
            ));
        }
        out.push(format!(
            "  recovery {}  label {}  receiving {}  net {}",
            money(d.expected_recovery_minor),
            money(d.shipping_cost_minor),
            money(d.receiving_cost_minor),
            money(d.net_recovery_minor)
        ));
    }
    if let Some(r) = &d.runner_up {
        out.push(format!(
            "  runner-up {} ({}), net {}",
            r.node,
            disposition(r.disposition),
            money(r.net_recovery_minor)
        ));
    }
    for r in &d.reasons {
        out.push(format!("  - {}", r.message));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use allot_client::proto::{ReturnAlternative, ReturnUnits};

    #[test]
    fn words_parse_and_bad_ones_say_what_is_allowed() {
        assert_eq!(parse_reason("size-fit").unwrap(), ReturnReason::SizeFit);
        assert_eq!(
            parse_condition("new-sealed").unwrap(),
            ItemCondition::NewSealed
        );
        assert!(parse_reason("meh").unwrap_err().contains("size-fit"));
        assert!(parse_condition("unspecified").is_err());
    }

    #[test]
    fn text_names_the_node_units_money_and_runner_up() {
        let d = ReturnDecision {
            return_id: "rma-1".into(),
            node: "DC-ATL".into(),
            service: "UPX-GROUND".into(),
            decision_id: "dec_1".into(),
            units: vec![ReturnUnits {
                disposition: ReturnDisposition::Refurbish as i32,
                quantity: 2,
                recovery_minor: 10_050,
            }],
            expected_recovery_minor: 10_050,
            shipping_cost_minor: 900,
            receiving_cost_minor: 360,
            net_recovery_minor: 8_790,
            runner_up: Some(ReturnAlternative {
                node: "ST-NYC".into(),
                disposition: ReturnDisposition::Liquidate as i32,
                net_recovery_minor: -5,
                shipping_cost_minor: 500,
            }),
            ..Default::default()
        };
        let text = decision_text(&d);
        assert!(text.contains("ship to DC-ATL with UPX-GROUND"), "{text}");
        assert!(text.contains("2 unit(s) refurbish"), "{text}");
        assert!(text.contains("net 87.90"), "{text}");
        assert!(
            text.contains("runner-up ST-NYC (liquidate), net -0.05"),
            "{text}"
        );
    }
}
