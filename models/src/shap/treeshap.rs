//! Path-dependent TreeSHAP (Lundberg, Erion and Lee 2018, "Consistent
//! Individualized Feature Attribution for Tree Ensembles", Algorithm 2), the
//! algorithm behind LightGBM's `predict(..., pred_contrib=True)`.
//!
//! For each tree it walks every root-to-leaf path once, tracking for each
//! feature on the path the share of subsets ("zero fraction": the share of
//! training rows that follow the branch, from the node counts; "one fraction":
//! whether the row itself follows it) and the permutation weights, so the cost
//! is O(leaves x depth^2) per tree instead of exponential.

use super::ensemble::{Ensemble, Tree};
use super::path::*;

/// Per-feature contributions and the bias for one row, in the model's raw
/// output space (log-odds for a binary classifier).
#[derive(Debug, Clone, PartialEq)]
pub struct Contributions {
    /// One value per feature, in input order.
    pub values: Vec<f64>,
    /// The expected raw output over the training data (LightGBM's last column).
    pub bias: f64,
}

impl Contributions {
    /// The raw score these contributions explain: `bias + sum(values)`.
    pub fn raw_score(&self) -> f64 {
        self.bias + self.values.iter().sum::<f64>()
    }

    /// The per-feature values as `f32`, e.g. for [`super::fraud_reasons`].
    pub fn values_f32(&self) -> Vec<f32> {
        self.values.iter().map(|&v| v as f32).collect()
    }
}

impl Ensemble {
    /// TreeSHAP contributions for one row (values in input order; NaN = missing).
    ///
    /// # Panics
    /// If `row` does not have exactly [`Ensemble::num_features`] values.
    pub fn contributions(&self, row: &[f32]) -> Contributions {
        let row: Vec<f64> = row.iter().map(|&v| f64::from(v)).collect();
        self.contributions_f64(&row)
    }

    /// Like [`Ensemble::contributions`], for a row of `f64`.
    ///
    /// # Panics
    /// If `row` does not have exactly [`Ensemble::num_features`] values.
    pub fn contributions_f64(&self, row: &[f64]) -> Contributions {
        assert_eq!(
            row.len(),
            self.num_features(),
            "row length must equal the model's feature count"
        );
        let max_len = self.trees.iter().map(|t| t.max_depth).max().unwrap_or(0) + 1;
        let mut path = vec![PathElement::default(); max_len * (max_len + 1) / 2];
        let mut phi = vec![0.0; row.len()];
        let mut scratch = LeafScratch::with_capacity(max_len);
        let mut bias = 0.0;
        for tree in &self.trees {
            bias += tree.expected_value();
            if !tree.splits.is_empty() {
                let mut walk = Walk {
                    tree,
                    row,
                    phi: &mut phi,
                    path: &mut path,
                    scratch: &mut scratch,
                };
                walk.recurse(0, 0, 0, 1.0, 1.0, -1);
            }
        }
        Contributions { values: phi, bias }
    }
}

/// State of one tree's recursion.
pub(super) struct Walk<'a> {
    pub(super) tree: &'a Tree,
    pub(super) row: &'a [f64],
    pub(super) phi: &'a mut [f64],
    pub(super) path: &'a mut [PathElement],
    pub(super) scratch: &'a mut LeafScratch,
}

impl Walk<'_> {
    /// LightGBM's `Tree::TreeSHAP`: `parent` is where the parent's path starts in
    /// the shared buffer, `depth` the parent's path length (this node's depth).
    pub(super) fn recurse(
        &mut self,
        node: i32,
        parent: usize,
        depth: usize,
        zero: f64,
        one: f64,
        feature: isize,
    ) {
        let start = parent + depth;
        if depth > 0 {
            self.path.copy_within(parent..parent + depth, start);
        }
        let mut depth = depth;
        extend_path(&mut self.path[start..], depth, zero, one, feature);

        let tree = self.tree;
        if node < 0 {
            let leaf_value = tree.leaf_values[!node as usize];
            leaf_contributions(
                &self.path[start..=start + depth],
                leaf_value,
                self.phi,
                self.scratch,
            );
            return;
        }

        let split = &tree.splits[node as usize];
        let hot = split.next(self.row[split.feature]);
        let cold = if hot == split.left {
            split.right
        } else {
            split.left
        };
        let w = split.count;
        let hot_zero = tree.count(hot) / w;
        let cold_zero = tree.count(cold) / w;
        let mut incoming_zero = 1.0;
        let mut incoming_one = 1.0;

        // A feature already on the path: undo that split and redo it here.
        let split_feature = split.feature as isize;
        let path = &mut self.path[start..];
        if let Some(k) = (0..=depth).find(|&k| path[k].feature == split_feature) {
            incoming_zero = path[k].zero_fraction;
            incoming_one = path[k].one_fraction;
            unwind_path(path, depth, k);
            depth -= 1;
        }

        self.recurse(
            hot,
            start,
            depth + 1,
            hot_zero * incoming_zero,
            incoming_one,
            split_feature,
        );
        self.recurse(
            cold,
            start,
            depth + 1,
            cold_zero * incoming_zero,
            0.0,
            split_feature,
        );
    }
}
