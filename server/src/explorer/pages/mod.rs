//! The explorer's HTML: one module per page, the page shell and the
//! formatting every page shares. Rendered with maud, which escapes every
//! value it interpolates.

pub(crate) mod decision;
pub(crate) mod map;
pub(crate) mod models;
pub(crate) mod names;
pub(crate) mod search;
pub(crate) mod signin;
pub(crate) mod stock;
pub(crate) mod traffic;

use std::time::SystemTime;

use maud::{DOCTYPE, Markup, html};

/// The styles of every page: system fonts, no external resource.
const STYLE: &str = r#"
:root { color-scheme: light; --ink:#1b1f24; --muted:#57606a; --line:#d0d7de; --accent:#0b5cad; --warn:#9a3412; --ok:#166534; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); margin: 0; }
header { background: #0d1b2a; color: #fff; padding: .6rem 1.2rem; display: flex; gap: 1.5rem; align-items: center; flex-wrap: wrap; }
header a { color: #fff; text-decoration: none; padding: .2rem .4rem; border-radius: 4px; }
header a:hover, header a:focus-visible { background: #23395b; }
header .brand { font-weight: 700; font-size: 1.1rem; }
main { padding: 1rem 1.2rem 3rem; max-width: 1300px; }
h1 { font-size: 1.4rem; margin: .4rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .3rem 0 .8rem; }
th, td { border: 1px solid var(--line); padding: .25rem .55rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
form.search { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: .6rem 1rem; align-items: end; margin-bottom: 1rem; }
label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); gap: .15rem; }
input, select, button { font: inherit; padding: .3rem .45rem; border: 1px solid #8c959f; border-radius: 4px; }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .8rem; border: 1px solid var(--line); background: #f6f8fa; }
.identical { color: var(--ok); font-weight: 700; }
.different, .error { color: var(--warn); font-weight: 700; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; }
.bar { display: inline-block; height: .7rem; background: var(--accent); vertical-align: middle; }
.bar.neg { background: var(--ok); }
.cols { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
svg.map { border: 1px solid var(--line); background: #f8fbff; max-width: 100%; height: auto; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .88em; }
"#;

/// A whole page: the navigation, `title` and `body`.
pub(crate) fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · allot decision explorer" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                header {
                    span.brand { "allot" }
                    nav aria-label="Explorer" {
                        a href="/" { "Decisions" } " "
                        a href="/stock" { "Stock" } " "
                        a href="/models" { "Models" } " "
                        a href="/traffic" { "Traffic" }
                    }
                }
                main id="main" { h1 { (title) } (body) }
            }
        }
    }
}

/// `minor` units of `currency` as `12.34 USD`.
pub(crate) fn money(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", abs / 100, abs % 100)
}

/// A time as `2026-12-07 20:41:05 UTC`.
pub(crate) fn when(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at)
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

/// A recorded timestamp as [`when`] shows it; `-` when absent.
pub(crate) fn stamp(at: Option<&prost_types::Timestamp>) -> String {
    at.and_then(|t| {
        chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
    })
    .map_or_else(
        || "-".to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

/// A probability as a percentage with one decimal.
pub(crate) fn percent(p: f64) -> String {
    format!("{:.1}%", p * 100.0)
}
