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

/// One element of the unique feature path.
#[derive(Debug, Clone, Copy, Default)]
struct PathElement {
    /// Feature split on (-1 for the root placeholder).
    feature: isize,
    /// Share of training rows that take this branch.
    zero_fraction: f64,
    /// 1.0 if the explained row takes this branch, else 0.0.
    one_fraction: f64,
    /// Permutation weight.
    pweight: f64,
}

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
        let mut bias = 0.0;
        for tree in &self.trees {
            bias += tree.expected_value();
            if !tree.splits.is_empty() {
                let mut walk = Walk {
                    tree,
                    row,
                    phi: &mut phi,
                    path: &mut path,
                };
                walk.recurse(0, 0, 0, 1.0, 1.0, -1);
            }
        }
        Contributions { values: phi, bias }
    }
}

/// State of one tree's recursion.
struct Walk<'a> {
    tree: &'a Tree,
    row: &'a [f64],
    phi: &'a mut [f64],
    path: &'a mut [PathElement],
}

impl Walk<'_> {
    /// LightGBM's `Tree::TreeSHAP`: `parent` is where the parent's path starts in
    /// the shared buffer, `depth` the parent's path length (this node's depth).
    fn recurse(
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
            leaf_contributions(&self.path[start..=start + depth], leaf_value, self.phi);
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

fn extend_path(path: &mut [PathElement], depth: usize, zero: f64, one: f64, feature: isize) {
    path[depth] = PathElement {
        feature,
        zero_fraction: zero,
        one_fraction: one,
        pweight: if depth == 0 { 1.0 } else { 0.0 },
    };
    let inv_d1 = 1.0 / (depth + 1) as f64;
    for i in (0..depth).rev() {
        let w = path[i].pweight * inv_d1;
        path[i + 1].pweight += one * w * (i + 1) as f64;
        path[i].pweight = zero * w * (depth - i) as f64;
    }
}

fn unwind_path(path: &mut [PathElement], depth: usize, index: usize) {
    let one = path[index].one_fraction;
    let zero = path[index].zero_fraction;
    let mut next_one_portion = path[depth].pweight;
    let d1 = (depth + 1) as f64;
    let inv_d1 = 1.0 / d1;
    if one != 0.0 {
        let inv_one = 1.0 / one;
        for i in (0..depth).rev() {
            let tmp = path[i].pweight;
            path[i].pweight = next_one_portion * d1 * inv_one / (i + 1) as f64;
            next_one_portion = tmp - path[i].pweight * zero * (depth - i) as f64 * inv_d1;
        }
    } else {
        let scale = d1 / zero;
        for i in (0..depth).rev() {
            path[i].pweight = path[i].pweight * scale / (depth - i) as f64;
        }
    }
    for i in index..depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero_fraction = path[i + 1].zero_fraction;
        path[i].one_fraction = path[i + 1].one_fraction;
    }
}

/// Longest unique path handled with stack scratch in [`leaf_contributions`];
/// deeper paths fall back to [`unwound_path_sum`].
const STACK_PATH: usize = 64;

/// Adds one leaf's share to `phi` for every feature on its unique `path`
/// (`path.len()` = path depth + 1, element 0 the root placeholder).
///
/// Equivalent to calling [`unwound_path_sum`] for each element, with the
/// shared work hoisted: the sum for elements the row does not follow
/// (`one_fraction == 0`) is the same weighted sum of the permutation weights
/// for all of them, divided by each one's zero fraction, so it is computed
/// once per leaf; elements the row follows keep the per-element recurrence,
/// with the divisions replaced by precomputed factors.
fn leaf_contributions(path: &[PathElement], leaf_value: f64, phi: &mut [f64]) {
    let depth = path.len() - 1;
    if depth == 0 {
        return;
    }
    if depth >= STACK_PATH {
        for i in 1..=depth {
            let w = unwound_path_sum(path, depth, i);
            let el = path[i];
            phi[el.feature as usize] += w * (el.one_fraction - el.zero_fraction) * leaf_value;
        }
        return;
    }
    let d1 = (depth + 1) as f64;
    // For i < depth: a[i] = d1 / (i + 1), b[i] = (depth - i) / (i + 1).
    let mut a = [0.0f64; STACK_PATH];
    let mut b = [0.0f64; STACK_PATH];
    // Sum over i < depth of pweight[i] * d1 / (depth - i), computed lazily.
    let mut cold_sum: Option<f64> = None;
    for (i, (a, b)) in a.iter_mut().zip(b.iter_mut()).take(depth).enumerate() {
        let inv = 1.0 / (i + 1) as f64;
        *a = d1 * inv;
        *b = (depth - i) as f64 * inv;
    }
    for el in &path[1..=depth] {
        let (one, zero) = (el.one_fraction, el.zero_fraction);
        let w = if one != 0.0 {
            let inv_one = 1.0 / one;
            let mut next = path[depth].pweight;
            let mut total = 0.0;
            for i in (0..depth).rev() {
                let tmp = next * a[i] * inv_one;
                total += tmp;
                // tmp * zero * (depth - i) / d1 = next * zero * b[i] / one
                next = path[i].pweight - next * (zero * inv_one) * b[i];
            }
            total
        } else {
            let s = *cold_sum.get_or_insert_with(|| {
                (0..depth)
                    .map(|i| path[i].pweight * d1 / (depth - i) as f64)
                    .sum()
            });
            s / zero
        };
        phi[el.feature as usize] += w * (one - zero) * leaf_value;
    }
}

fn unwound_path_sum(path: &[PathElement], depth: usize, index: usize) -> f64 {
    let one = path[index].one_fraction;
    let zero = path[index].zero_fraction;
    let mut next_one_portion = path[depth].pweight;
    let d1 = (depth + 1) as f64;
    let mut total = 0.0;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let tmp = next_one_portion * d1 / ((i + 1) as f64 * one);
            total += tmp;
            next_one_portion = path[i].pweight - tmp * zero * ((depth - i) as f64 / d1);
        } else {
            total += (path[i].pweight / zero) / ((depth - i) as f64 / d1);
        }
    }
    total
}
