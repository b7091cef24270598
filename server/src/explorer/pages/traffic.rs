//! Request rates and latencies per RPC.

use maud::{Markup, html};

use super::page;
use crate::explorer::traffic::RpcTraffic;

/// The traffic page; `None` when metrics are off.
pub(crate) fn render(rows: Option<&[RpcTraffic]>, window_s: u64) -> Markup {
    let body = html! {
        @match rows {
            None => { p { "Metrics are off on this server (" code { "metrics.enabled = false" } "), so there is nothing to show." } }
            Some([]) => { p.muted { "No request served yet." } }
            Some(rows) => {
                p.muted { "Rates over the last " (window_s) " s; latency quantiles over every request since start, to the bucket's upper bound." }
                table id="traffic" {
                    thead { tr { th { "RPC" } th.num { "Requests" } th.num { "Errors" } th.num { "Per second" } th.num { "p50" } th.num { "p99" } } }
                    tbody {
                        @for r in rows {
                            tr {
                                td.mono { (r.rpc) } td.num { (r.requests) } td.num { (r.errors) }
                                td.num { (format!("{:.2}", r.per_second)) }
                                td.num { (seconds(r.p50_s)) } td.num { (seconds(r.p99_s)) }
                            }
                        }
                    }
                }
            }
        }
    };
    page("Traffic", body)
}

fn seconds(s: Option<f64>) -> String {
    match s {
        None => "-".to_string(),
        Some(s) if s.is_infinite() => "> 2.5 s".to_string(),
        Some(s) if s < 0.001 => format!("≤ {:.0} µs", s * 1e6),
        Some(s) => format!("≤ {:.0} ms", s * 1e3),
    }
}
