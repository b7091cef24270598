//! The loaded models (cards, hashes, gates) and their live drift.

use allot_proto::v1 as pb;
use maud::{Markup, html};

use super::names;
use super::{page, stamp};

/// The models page.
pub(crate) fn render(info: &pb::ModelInfo, drift: &pb::ModelDriftReport) -> Markup {
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
