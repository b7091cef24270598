//! A sliding window of the last rows a model saw, kept as bin counts per
//! column against the column's reference histogram.

use std::collections::VecDeque;

use super::reference::ReferenceHistogram;

/// Floor on a bin's share inside the PSI's logarithm, so an empty bin on
/// either side gives a large but finite term (the usual smoothing).
pub const PSI_FLOOR: f64 = 1e-4;

/// Population stability index of `actual` counts (over `n` rows) against
/// `expected` shares, bin by bin: `sum (a - e) * ln(a / e)`, each share
/// floored at [`PSI_FLOOR`].
pub fn psi(expected: &[f64], actual: &[u32], n: u64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    expected
        .iter()
        .zip(actual)
        .map(|(&e, &count)| {
            let e = e.max(PSI_FLOOR);
            let a = (f64::from(count) / n as f64).max(PSI_FLOOR);
            (a - e) * (a / e).ln()
        })
        .sum()
}

/// The last `capacity` rows of some columns, as bins.
#[derive(Debug)]
pub struct Window {
    capacity: usize,
    columns: Vec<Column>,
    /// Each kept row's bins, one per column (missing = the last bin).
    rows: VecDeque<Box<[u8]>>,
}

#[derive(Debug)]
struct Column {
    reference: ReferenceHistogram,
    expected: Vec<f64>,
    counts: Vec<u32>,
}

impl Window {
    /// An empty window of `capacity` rows over columns with these
    /// references (at most 255 bins each).
    pub fn new(references: Vec<ReferenceHistogram>, capacity: usize) -> Window {
        let columns = references
            .into_iter()
            .map(|reference| {
                let expected = reference.expected();
                Column {
                    counts: vec![0; expected.len()],
                    expected,
                    reference,
                }
            })
            .collect();
        Window {
            capacity: capacity.max(1),
            columns,
            rows: VecDeque::new(),
        }
    }

    /// Adds one row (its values in column order; extra values are ignored,
    /// missing ones count as missing), dropping the oldest when full.
    pub fn push(&mut self, values: &[f32]) {
        if self.rows.len() == self.capacity
            && let Some(old) = self.rows.pop_front()
        {
            for (column, &bin) in self.columns.iter_mut().zip(old.iter()) {
                column.counts[usize::from(bin)] -= 1;
            }
        }
        let bins: Box<[u8]> = self
            .columns
            .iter_mut()
            .enumerate()
            .map(|(i, column)| {
                let missing = column.counts.len() - 1;
                let bin = values
                    .get(i)
                    .and_then(|&v| column.reference.bin(v))
                    .unwrap_or(missing)
                    .min(missing);
                column.counts[bin] += 1;
                bin as u8
            })
            .collect();
        self.rows.push_back(bins);
    }

    /// Rows in the window.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the window holds no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Each column's name and PSI over the rows in the window.
    pub fn psi(&self) -> Vec<(String, f64)> {
        let n = self.rows.len() as u64;
        self.columns
            .iter()
            .map(|c| (c.reference.feature.clone(), psi(&c.expected, &c.counts, n)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> ReferenceHistogram {
        ReferenceHistogram {
            feature: "x".into(),
            cuts: vec![1.0, 2.0, 3.0],
            shares: vec![0.25; 4],
            missing_share: 0.0,
        }
    }

    #[test]
    fn the_reference_population_is_stable_and_a_shifted_one_is_not() {
        let mut w = Window::new(vec![reference()], 1_000);
        for i in 0..1_000 {
            w.push(&[(i % 4) as f32 + 0.5]);
        }
        assert!(w.psi()[0].1 < 1e-9, "{:?}", w.psi());
        // Everything in the top bin: far from a quarter per bin.
        for _ in 0..1_000 {
            w.push(&[10.0]);
        }
        assert_eq!(w.len(), 1_000);
        assert!(w.psi()[0].1 > 0.25, "{:?}", w.psi());
    }

    #[test]
    fn old_rows_leave_the_window() {
        let mut w = Window::new(vec![reference()], 4);
        for v in [10.0, 10.0, 10.0, 10.0, 0.5, 1.5, 2.5, 3.5] {
            w.push(&[v]);
        }
        assert!(w.psi()[0].1 < 1e-9, "only the last four rows count");
        w.push(&[f32::NAN]);
        assert!(
            w.psi()[0].1 > 0.1,
            "a missing value the reference never had"
        );
    }

    #[test]
    fn psi_matches_the_formula() {
        let expected = [0.5, 0.5];
        let value = psi(&expected, &[3, 1], 4);
        let want = (0.75f64 - 0.5) * (0.75f64 / 0.5).ln() + (0.25f64 - 0.5) * (0.25f64 / 0.5).ln();
        assert!((value - want).abs() < 1e-12);
    }
}
