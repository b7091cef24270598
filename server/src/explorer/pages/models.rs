//! The loaded models (cards, hashes, gates) and their live drift.

use allot_proto::v1 as pb;
use maud::{Markup, html};

use super::names;
use super::{page, stamp};

/// Upper bounds of the fraud score histogram's bins (the scores crowd near
/// zero, so the bins widen as they rise).
const SCORE_BINS: [f64; 8] = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0];

/// The models page; `scores` are the live fraud probabilities of the
/// recent decisions.
pub(crate) fn render(info: &pb::ModelInfo, drift: &pb::ModelDriftReport, scores: &[f64]) -> Markup {
    let mut counts = [0usize; SCORE_BINS.len()];
    for score in scores {
        let bin = SCORE_BINS
            .iter()
            .position(|upper| *score <= *upper)
            .unwrap_or(SCORE_BINS.len() - 1);
        counts[bin] += 1;
    }
    let most = counts.iter().copied().max().unwrap_or(0).max(1);
    let body = html! {
        section aria-labelledby="cards-title" {
            h2 id="cards-title" { "Loaded models" }
            table id="models" {
                thead { tr { th { "Name" } th { "Version" } th { "Kind" } th { "Role" } th { "Loaded" } th { "SHA-256 of the file" } th { "Thresholds" } th { "Gates passed" } } }
                tbody {
                    @for m in &info.models {
                        tr {
                            td { (m.name) } td { (m.version) } td { (names::model_kind(m.kind)) } td { (names::model_role(m.role)) }
                            td { (stamp(m.loaded_at.as_ref())) }
                            td.mono { (m.sha256) }
                            td { @for (k, v) in &m.thresholds { (k) " = " (v) br; } }
                            td { @for g in &m.gates { span.badge { (g.gate) } " " span.muted { (g.detail) } br; } }
                        }
                    }
                }
            }
        }
        section aria-labelledby="scores-title" {
            h2 id="scores-title" { "Fraud score distribution" }
            @if scores.is_empty() { p.muted { "No order scored among the recent decisions yet." } } @else {
                p.muted { "The live model's fraud probability over the " (scores.len()) " most recent scored orders." }
                table id="fraud-scores" {
                    thead { tr { th { "Probability" } th.num { "Orders" } th { "" } } }
                    tbody {
                        @for (i, upper) in SCORE_BINS.iter().enumerate() {
                            @let lower = if i == 0 { 0.0 } else { SCORE_BINS[i - 1] };
                            tr {
                                td { (format!("{lower} to {upper}")) }
                                td.num { (counts[i]) }
                                td { span.bar style={ "width:" (counts[i] * 200 / most) "px" } {} }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="drift-title" {
            h2 id="drift-title" { "Drift" }
            p.muted { "Population stability index of each input and output against the card's reference, over the recent window; alert at " (drift.alert_psi) ". Bands: below 0.1 stable, 0.1 to 0.25 moderate, above 0.25 significant." }
            @for m in &drift.models {
                h3 { (m.name) " " (m.version) " " span.badge { (names::model_role(m.role)) } }
                p {
                    (m.rows) " rows in a window of " (m.window) "; max PSI " (format!("{:.3}", m.max_psi))
                    @if !m.enough_rows { " (too few rows to judge yet)" }
                    @if m.alert { " " strong.error { "ALERT" } }
                }
                table {
                    thead { tr { th { "Column" } th { "Output" } th.num { "PSI" } th { "Band" } } }
                    tbody { @for c in &m.columns { tr { td.mono { (c.name) } td { @if c.output { "yes" } } td.num { (format!("{:.3}", c.psi)) } td { (names::drift_band(c.band)) } } } }
                }
            }
        }
    };
    page("Models", body)
}
