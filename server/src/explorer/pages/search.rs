//! The front page: search the recent decisions, and the live feed.

use maud::{Markup, PreEscaped, html};

use super::names::{DECISION_EVENTS, event};
use super::{page, when};
use crate::explorer::index::Entry;

/// The values the search form was sent with, to show them again.
#[derive(Debug, Default, Clone)]
pub(crate) struct Form {
    pub order: String,
    pub decision: String,
    pub customer: String,
    pub node: String,
    pub disposition: String,
    pub kind: String,
    pub from: String,
    pub to: String,
}

/// The dispositions a search can ask for.
const DISPOSITIONS: [&str; 15] = [
    "ALLOCATED",
    "PARTIALLY_BACKORDERED",
    "BACKORDERED",
    "UNFULFILLABLE",
    "HELD_FRAUD",
    "HELD_REVIEW",
    "APPROVE",
    "REVIEW",
    "REJECT",
    "QUOTED",
    "RESTOCK",
    "REFURBISH",
    "LIQUIDATE",
    "RETURN_TO_VENDOR",
    "WRITE_OFF",
];

/// The live feed's refresh: every 2 s, the rows after the newest shown.
const FEED_SCRIPT: &str = r#"
(function () {
  const table = document.getElementById('feed');
  let last = Number(table.dataset.last);
  async function poll() {
    try {
      const r = await fetch('/feed?after=' + last, { credentials: 'same-origin' });
      if (r.ok) {
        const rows = await r.text();
        const body = table.tBodies[0];
        if (rows.trim()) {
          body.insertAdjacentHTML('afterbegin', rows);
          while (body.rows.length > 50) body.deleteRow(-1);
        }
        last = Number(r.headers.get('x-allot-last') || last);
      }
    } catch (e) { /* the next poll tries again */ }
    setTimeout(poll, 2000);
  }
  setTimeout(poll, 2000);
})();
"#;

/// The search page: the form, the matches (or `problem`, naming the field
/// that was wrong), and the live feed starting with `recent`.
pub(crate) fn render(
    form: &Form,
    nodes: &[String],
    searched: bool,
    results: Result<&[Entry], &str>,
    recent: &[Entry],
    last_position: u64,
    indexed: usize,
) -> Markup {
    let body = html! {
        form.search method="get" action="/" role="search" aria-label="Search decisions" {
            label { "Order id" input type="text" name="order" value=(form.order); }
            label { "Decision id" input type="text" name="decision" value=(form.decision); }
            label { "Customer id (or its hmac: hash)" input type="text" name="customer" value=(form.customer); }
            label { "Node"
                select name="node" {
                    option value="" { "any" }
                    @for node in nodes { option value=(node) selected[*node == form.node] { (node) } }
                }
            }
            label { "Disposition"
                select name="disposition" {
                    option value="" { "any" }
                    @for d in DISPOSITIONS { option value=(d) selected[d == form.disposition] { (d) } }
                }
            }
            label { "Kind"
                select name="kind" {
                    option value="" { "any" }
                    @for k in DECISION_EVENTS { option value=(event(k)) selected[event(k) == form.kind] { (event(k)) } }
                }
            }
            label { "From (UTC)" input type="datetime-local" name="from" value=(form.from); }
            label { "To (UTC)" input type="datetime-local" name="to" value=(form.to); }
            button type="submit" { "Search" }
        }
        @if searched {
            section aria-labelledby="results-title" {
                h2 id="results-title" { "Matches" }
                @match results {
                    Err(problem) => { p.error role="alert" { (problem) } }
                    Ok([]) => { p { "No decision among the " (indexed) " most recent matches." } }
                    Ok(found) => {
                        p.muted { (found.len()) " shown, newest first." }
                        (table("results", found, None))
                    }
                }
            }
        }
        section aria-labelledby="feed-title" {
            h2 id="feed-title" { "Live feed" }
            p.muted { "The newest decisions, refreshed every 2 seconds. Searches cover the " (indexed) " most recent (promise quotes by time and kind only)." }
            (table("feed", recent, Some(last_position)))
        }
        script { (PreEscaped(FEED_SCRIPT)) }
    };
    page("Decisions", body)
}

fn table(id: &str, entries: &[Entry], last: Option<u64>) -> Markup {
    html! {
        table id=(id) data-last=[last] {
            caption.muted style="text-align:left" { @if last.is_some() { "Live decisions" } @else { "Matching decisions" } }
            thead { tr { th { "When" } th { "Kind" } th { "Order" } th { "Decision" } th { "Outcome" } th { "Nodes" } th { "Summary" } } }
            tbody { (rows(entries)) }
        }
    }
}

/// Table rows for `entries` (also what the live feed appends).
pub(crate) fn rows(entries: &[Entry]) -> Markup {
    html! {
        @for e in entries {
            tr {
                td { (when(e.at)) }
                td { span.badge { (event(e.kind)) } }
                td { (e.order_id) }
                td.mono { a href={ "/decisions/" (e.decision_id) } { (e.decision_id) } }
                td { (e.disposition) }
                td { (e.nodes.join(", ")) }
                td.muted { (e.summary) }
            }
        }
    }
}
