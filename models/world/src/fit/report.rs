//! The calibration report: the fit's coverage and reliability as a Markdown
//! section, and writing it into a report file.

use std::fmt::Write as _;
use std::path::Path;

use super::{Bin, FitReport, MIN_WINDOW_ROWS, REPORT_BEGIN, REPORT_END};

fn bin_rows(out: &mut String, bins: &[Bin]) {
    for b in bins {
        let _ = writeln!(
            out,
            "| [{:.3}, {:.3}{} | {} | {} | {} | {} |",
            b.lo,
            b.hi,
            if b.hi >= 1.0 { "]" } else { ")" },
            b.n,
            if b.n == 0 {
                "-".into()
            } else {
                format!("{:.3}", b.stated)
            },
            if b.n == 0 {
                "-".into()
            } else {
                format!("{:.3}", b.observed)
            },
            if b.n == 0 {
                "-".into()
            } else {
                format!("{:+.3}", b.observed - b.stated)
            },
        );
    }
}

/// "world seed 7", or "world seeds 7, 8 and 9".
fn worlds(seeds: &[u64]) -> String {
    match seeds {
        [] => "no world".to_string(),
        [one] => format!("world seed {one}"),
        [first @ .., last] => {
            let first: Vec<String> = first.iter().map(u64::to_string).collect();
            format!("world seeds {} and {last}", first.join(", "))
        }
    }
}

/// The REPORT.md section for `report`, between [`REPORT_BEGIN`] and
/// [`REPORT_END`].
pub fn render(report: &FitReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{REPORT_BEGIN}");
    let _ = writeln!(s, "## ETA calibration: promised dates and windows\n");
    let _ = writeln!(
        s,
        "Written by `allot-world calibrate` (run by `models/training/retrain` after training) for `{}`, {}. \
Held-out shipments (released on `valid` and `test` days; the model trains on `train` days) are split by order into two \
disjoint halves{}: {} shipments **fit** the calibration in `models/eta.calibration.json`, {} others **evaluate** it (all numbers below).\n",
        report.model_version,
        worlds(&report.seeds),
        if report.seeds.len() > 1 {
            " (per world, then pooled)"
        } else {
            ""
        },
        report.fit_rows,
        report.eval_rows
    );
    let _ = writeln!(
        s,
        "The promise evaluated is the one `GetDeliveryPromise` makes: the latest delivery date is the destination-local date \
of release + q90 (calibrated window), on time when delivered by the end of that date. The stated probability is the \
calibrated P(transit <= days to the end of that date): a CDF through q10/q50/q90 (linear in between, exponential tails) \
mapped through an isotonic regression fitted on three dates per shipment (those of release + q10, q50, q90).\n"
    );
    let _ = writeln!(
        s,
        "**Expected calibration error of the promised date: {:.4}** (target <= 0.02; uncalibrated CDF and window: {:.4}). \
Observed on-time share of the promised date: {:.1}%.\n",
        report.promise_ece,
        report.promise_ece_raw,
        100.0 * report.promise_on_time
    );
    let _ = writeln!(
        s,
        "| stated probability | shipments | mean stated | observed on time | observed - stated |"
    );
    let _ = writeln!(s, "| --- | --- | --- | --- | --- |");
    bin_rows(&mut s, &report.promise);
    let _ = writeln!(
        s,
        "\nThe map over its whole range (three dates per shipment, ten equal bins): ECE {:.4}.\n",
        report.all_dates_ece
    );
    let _ = writeln!(
        s,
        "| stated probability | pairs | mean stated | observed on time | observed - stated |"
    );
    let _ = writeln!(s, "| --- | --- | --- | --- | --- |");
    bin_rows(&mut s, &report.all_dates);
    let _ = writeln!(
        s,
        "\n### Window coverage (share of true transit in [q10, q90], nominal 80%)\n\n\
The raw quantiles are widened (or narrowed) per service by split-conformal adjustments fitted on the fit half: q10 + \
the 10th percentile of (true - q10), q90 + the 90th percentile of (true - q90); a service with fewer than {MIN_WINDOW_ROWS} \
fit shipments takes the residuals of every service of its level. Promise windows and probabilities use the adjusted \
window.\n"
    );
    let _ = writeln!(
        s,
        "| service | shipments | raw [q10, q90] | calibrated window | q10 shift (days) | q90 shift (days) |"
    );
    let _ = writeln!(s, "| --- | --- | --- | --- | --- | --- |");
    for c in &report.coverage {
        let _ = writeln!(
            s,
            "| {} | {} | {:.1}% | {:.1}% | {} | {} |",
            c.service,
            c.n,
            100.0 * c.raw,
            100.0 * c.calibrated,
            if c.service == "all" {
                "-".into()
            } else {
                format!("{:+.3}", c.adjust.0)
            },
            if c.service == "all" {
                "-".into()
            } else {
                format!("{:+.3}", c.adjust.1)
            },
        );
    }
    let _ = writeln!(s, "{REPORT_END}");
    s
}

/// Replaces the calibration section of the report at `path` (or appends
/// it when the report has none).
pub fn write_section(path: &Path, section: &str) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let out = match (text.find(REPORT_BEGIN), text.find(REPORT_END)) {
        (Some(a), Some(b)) if b > a => {
            format!(
                "{}{}{}",
                &text[..a],
                section,
                &text[b + REPORT_END.len()..].trim_start_matches('\n')
            )
        }
        _ => {
            let mut t = text.trim_end().to_string();
            if !t.is_empty() {
                t.push_str("\n\n");
            }
            t.push_str(section);
            t
        }
    };
    std::fs::write(path, out)
}

#[cfg(test)]
mod tests {
    use super::worlds;

    #[test]
    fn the_worlds_fitted_on_are_named() {
        assert_eq!(worlds(&[7]), "world seed 7");
        assert_eq!(worlds(&[7, 8]), "world seeds 7 and 8");
        assert_eq!(worlds(&[7, 8, 9]), "world seeds 7, 8 and 9");
    }
}
