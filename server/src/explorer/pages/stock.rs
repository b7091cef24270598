//! Stock of one SKU across the nodes, in a table and on the map.

use allot_engine::network::Network;
use allot_proto::v1 as pb;
use maud::{Markup, html};

use super::map::{self, Mark};
use super::{page, stamp};

/// The stock page: the SKU form, and `found` (or why not).
pub(crate) fn render(
    network: &Network,
    sku: &str,
    found: Option<Result<pb::SkuAvailability, String>>,
) -> Markup {
    let body = html! {
        form.search method="get" action="/stock" {
            label { "SKU code" input type="text" name="sku" value=(sku) required placeholder="SKU-000001"; }
            button type="submit" { "Show stock" }
        }
        @match &found {
            None => { p.muted { "Enter a SKU code to see its units at every node." } }
            Some(Err(problem)) => { p.error role="alert" { (problem) } }
            Some(Ok(a)) => {
                p { "On hand " strong { (a.total_on_hand) } ", available " strong { (a.total_available) } " across " (a.nodes.len()) " nodes." }
                div.cols {
                    table id="stock" {
                        thead { tr { th { "Node" } th.num { "On hand" } th.num { "Reserved" } th.num { "Protected" } th.num { "Available" } th { "Updated" } } }
                        tbody {
                            @for n in &a.nodes {
                                tr { td { (n.node) } td.num { (n.on_hand) } td.num { (n.reserved) } td.num { (n.protected) } td.num { (n.available) } td { (stamp(n.updated_at.as_ref())) } }
                            }
                        }
                    }
                    (map::render(
                        network,
                        &a.nodes.iter().filter(|n| n.available > 0).map(|n| (n.node.clone(), Mark::Holds(n.available))).collect::<Vec<_>>(),
                        None,
                        &format!("Available units of {} by node", a.sku),
                    ))
                }
            }
        }
    };
    page("Stock", body)
}
