//! A map of the network drawn as SVG from its coordinates (an
//! equirectangular projection around the network's middle latitude; no tile
//! server): every node as a dot, the marked nodes on top, and the
//! destination with a line from each node that ships to it.

use allot_engine::network::{GeoPoint, Network};
use maud::{Markup, html};

/// Width of the drawing, SVG units.
const WIDTH: f64 = 720.0;
/// Margin around the nodes, SVG units.
const PAD: f64 = 28.0;

/// How a node is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// It ships (part of) the order.
    Used,
    /// It was the next best choice.
    RunnerUp,
    /// It could not ship (the reasons are in the page's table).
    Excluded,
    /// It holds units (the stock page); the radius grows with them.
    Holds(i64),
}

/// The map with `marks` (node code and mark) and, when known, the
/// destination; `caption` says what it shows, for readers without sight.
pub(crate) fn render(
    network: &Network,
    marks: &[(String, Mark)],
    destination: Option<GeoPoint>,
    caption: &str,
) -> Markup {
    let mut points: Vec<GeoPoint> = network.nodes().iter().map(|n| n.location).collect();
    points.extend(destination);
    let (min_lat, max_lat) = span(points.iter().map(|p| p.lat));
    let (min_lon, max_lon) = span(points.iter().map(|p| p.lon));
    let squeeze = ((min_lat + max_lat) / 2.0).to_radians().cos().max(0.2);
    let width_deg = ((max_lon - min_lon) * squeeze).max(1e-6);
    let height_deg = (max_lat - min_lat).max(1e-6);
    let scale = (WIDTH - 2.0 * PAD) / width_deg;
    let height = height_deg * scale + 2.0 * PAD;
    let at = |p: GeoPoint| {
        (
            PAD + (p.lon - min_lon) * squeeze * scale,
            PAD + (max_lat - p.lat) * scale,
        )
    };
    let located = |code: &str| {
        network
            .node_id(code)
            .map(|id| at(network.node(id).location))
    };
    let most = marks
        .iter()
        .filter_map(|(_, m)| match m {
            Mark::Holds(units) => Some(*units),
            _ => None,
        })
        .max()
        .unwrap_or(1)
        .max(1);
    let used: Vec<(f64, f64)> = marks
        .iter()
        .filter(|(_, m)| *m == Mark::Used)
        .filter_map(|(code, _)| located(code))
        .collect();
    let description = describe(marks);
    html! {
        figure style="margin:0" {
            svg.map viewBox={ "0 0 " (WIDTH) " " (height.round()) } width=(WIDTH) role="img"
                aria-labelledby="map-title map-desc" xmlns="http://www.w3.org/2000/svg" {
                title id="map-title" { (caption) }
                desc id="map-desc" { (description) }
                @for node in network.nodes() {
                    @let (x, y) = at(node.location);
                    circle cx=(r(x)) cy=(r(y)) r="2.5" fill="#9aa5b1" { title { (node.code) } }
                }
                @if let Some(dest) = destination {
                    @let (dx, dy) = at(dest);
                    @for (x, y) in &used {
                        line x1=(r(*x)) y1=(r(*y)) x2=(r(dx)) y2=(r(dy)) stroke="#0b5cad" stroke-width="1.5" stroke-dasharray="5 3" {}
                    }
                }
                @for (code, mark) in marks {
                    @if let Some((x, y)) = located(code) {
                        @match mark {
                            Mark::Used => {
                                circle.used cx=(r(x)) cy=(r(y)) r="7" fill="#0b5cad" stroke="#fff" stroke-width="1.5" data-node=(code) { title { (code) ": ships" } }
                                text x=(r(x + 9.0)) y=(r(y - 6.0)) font-size="12" fill="#0b5cad" font-weight="700" { (code) }
                            }
                            Mark::RunnerUp => {
                                circle.runner-up cx=(r(x)) cy=(r(y)) r="6" fill="none" stroke="#d97706" stroke-width="2.5" data-node=(code) { title { (code) ": runner-up" } }
                                text x=(r(x + 8.0)) y=(r(y + 14.0)) font-size="11" fill="#9a3412" { (code) }
                            }
                            Mark::Excluded => {
                                path.excluded d={ "M" (r(x - 4.0)) " " (r(y - 4.0)) " L" (r(x + 4.0)) " " (r(y + 4.0)) " M" (r(x - 4.0)) " " (r(y + 4.0)) " L" (r(x + 4.0)) " " (r(y - 4.0)) }
                                    stroke="#b91c1c" stroke-width="2" data-node=(code) { title { (code) ": excluded" } }
                            }
                            Mark::Holds(units) => {
                                @let radius = 3.0 + 9.0 * (*units as f64 / most as f64).sqrt();
                                circle.holds cx=(r(x)) cy=(r(y)) r=(r(radius)) fill="#0b5cad" fill-opacity="0.55" data-node=(code) { title { (code) ": " (units) " available" } }
                            }
                        }
                    }
                }
                @if let Some(dest) = destination {
                    @let (dx, dy) = at(dest);
                    path.destination d={ "M" (r(dx)) " " (r(dy - 8.0)) " L" (r(dx + 8.0)) " " (r(dy)) " L" (r(dx)) " " (r(dy + 8.0)) " L" (r(dx - 8.0)) " " (r(dy)) " Z" }
                        fill="#111" { title { "destination" } }
                }
            }
            figcaption.muted {
                (caption) ". "
                "Grey dots: every node. "
                @if marks.iter().any(|(_, m)| *m == Mark::Used) { "Blue: ships the order. " }
                @if marks.iter().any(|(_, m)| *m == Mark::RunnerUp) { "Orange ring: runner-up. " }
                @if marks.iter().any(|(_, m)| *m == Mark::Excluded) { "Red cross: excluded. " }
                @if destination.is_some() { "Black diamond: destination." }
            }
        }
    }
}

/// The lowest and highest of `values`.
fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// A coordinate to one decimal, as SVG reads it.
fn r(v: f64) -> String {
    format!("{v:.1}")
}

/// The marks in words.
fn describe(marks: &[(String, Mark)]) -> String {
    let named = |want: fn(&Mark) -> bool| {
        marks
            .iter()
            .filter(|(_, m)| want(m))
            .map(|(c, _)| c.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    for (label, want) in [
        (
            "ships from",
            (|m: &Mark| *m == Mark::Used) as fn(&Mark) -> bool,
        ),
        ("runners-up", |m: &Mark| *m == Mark::RunnerUp),
        ("excluded", |m: &Mark| *m == Mark::Excluded),
        ("holding stock", |m: &Mark| matches!(m, Mark::Holds(_))),
    ] {
        let nodes = named(want);
        if !nodes.is_empty() {
            parts.push(format!("{label}: {nodes}"));
        }
    }
    parts.join("; ")
}
