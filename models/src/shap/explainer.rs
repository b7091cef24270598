//! TreeSHAP with per-leaf tables precomputed from the ensemble, for serving
//! many rows.

use super::ensemble::{Ensemble, Split, Tree};
use super::path::*;
use super::treeshap::{Contributions, Walk};

/// Leaves whose path has more distinct features than this are not tabled
/// (their tree is explained by the recursion instead).
const MAX_TABLED_FEATURES: usize = 12;

/// Most table values kept over all trees (64 MB of f64); trees beyond the
/// budget are explained by the recursion.
const MAX_TABLE_VALUES: usize = 8 << 20;

/// TreeSHAP with per-leaf tables precomputed from the ensemble, for serving
/// many rows: the same contributions as [`Ensemble::contributions`]
/// (to rounding), several times faster.
///
/// In path-dependent TreeSHAP a leaf's share for each distinct feature on
/// its path depends on the row only through which of those features the row
/// follows all the way (the "one fractions", 0 or 1). With `u` distinct
/// features there are `2^u` such patterns, so each leaf's `u` values are
/// computed once per pattern at construction (up to
/// `MAX_TABLED_FEATURES` features per leaf; about 4 MB for the fraud
/// model). Explaining a row is then one split decision per node and one table
/// lookup per leaf, with no allocation beyond the result.
#[derive(Debug, Clone)]
pub struct Explainer {
    num_features: usize,
    bias: f64,
    tabled: Vec<TabledTree>,
    walked: Vec<Tree>,
    max_walk_len: usize,
    max_nodes: usize,
}

/// One tree with its leaf tables.
#[derive(Debug, Clone)]
struct TabledTree {
    splits: Vec<Split>,
    leaves: Vec<LeafTable>,
    /// Every leaf's path steps, concatenated.
    steps: Vec<Step>,
    /// Every leaf's distinct path features, concatenated.
    features: Vec<u32>,
    /// Every leaf's table: `2^u` patterns x `u` values, concatenated.
    values: Vec<f64>,
}

/// Where one leaf's data sits in its [`TabledTree`].
#[derive(Debug, Clone, Copy)]
struct LeafTable {
    steps: (u32, u32),
    features: u32,
    distinct: u32,
    values: usize,
}

/// One split on a leaf's path: the node, the branch the path takes, and the
/// index of the split's feature among the leaf's distinct features.
#[derive(Debug, Clone, Copy)]
struct Step {
    node: u32,
    left: bool,
    local: u8,
}

impl Ensemble {
    /// Precomputes the TreeSHAP tables of this ensemble (milliseconds for a
    /// few hundred leaves); see [`Explainer`].
    pub fn explainer(&self) -> Explainer {
        let mut budget = MAX_TABLE_VALUES;
        let mut tabled = Vec::new();
        let mut walked = Vec::new();
        let mut bias = 0.0;
        for tree in &self.trees {
            bias += tree.expected_value();
            if tree.splits.is_empty() {
                continue;
            }
            match TabledTree::build(tree, budget) {
                Some(t) => {
                    budget -= t.values.len();
                    tabled.push(t);
                }
                None => walked.push(tree.clone()),
            }
        }
        Explainer {
            num_features: self.num_features(),
            bias,
            max_walk_len: walked.iter().map(|t| t.max_depth).max().unwrap_or(0) + 1,
            max_nodes: tabled.iter().map(|t| t.splits.len()).max().unwrap_or(0),
            tabled,
            walked,
        }
    }
}

impl TabledTree {
    /// The tables of `tree`, or `None` if a leaf has too many distinct
    /// features or the tables would exceed `budget` values.
    fn build(tree: &Tree, budget: usize) -> Option<TabledTree> {
        let mut t = TabledTree {
            splits: tree.splits.clone(),
            leaves: vec![
                LeafTable {
                    steps: (0, 0),
                    features: 0,
                    distinct: 0,
                    values: 0,
                };
                tree.leaf_values.len()
            ],
            steps: Vec::new(),
            features: Vec::new(),
            values: Vec::new(),
        };
        let mut path: Vec<(u32, bool)> = Vec::with_capacity(tree.max_depth);
        t.visit(tree, 0, &mut path, budget).then_some(t)
    }

    fn visit(
        &mut self,
        tree: &Tree,
        node: i32,
        path: &mut Vec<(u32, bool)>,
        budget: usize,
    ) -> bool {
        if node >= 0 {
            let split = &tree.splits[node as usize];
            for (child, left) in [(split.left, true), (split.right, false)] {
                path.push((node as u32, left));
                let ok = self.visit(tree, child, path, budget);
                path.pop();
                if !ok {
                    return false;
                }
            }
            return true;
        }
        // A leaf: its distinct features with their combined zero fractions.
        let leaf = !node as usize;
        let mut features: Vec<usize> = Vec::new();
        let mut zeros: Vec<f64> = Vec::new();
        let steps_start = self.steps.len() as u32;
        for &(n, left) in path.iter() {
            let split = &tree.splits[n as usize];
            let child = if left { split.left } else { split.right };
            let zero = tree.count(child) / split.count;
            let local = match features.iter().position(|&f| f == split.feature) {
                Some(k) => {
                    zeros[k] *= zero;
                    k
                }
                None => {
                    features.push(split.feature);
                    zeros.push(zero);
                    features.len() - 1
                }
            };
            self.steps.push(Step {
                node: n,
                left,
                local: local as u8,
            });
        }
        let u = features.len();
        if u > MAX_TABLED_FEATURES || self.values.len() + (u << u) > budget {
            return false;
        }
        self.leaves[leaf] = LeafTable {
            steps: (steps_start, self.steps.len() as u32),
            features: self.features.len() as u32,
            distinct: u as u32,
            values: self.values.len(),
        };
        self.features.extend(features.iter().map(|&f| f as u32));
        let leaf_value = tree.leaf_values[leaf];
        let mut unique = vec![PathElement::default(); u + 1];
        for pattern in 0..1usize << u {
            extend_path(&mut unique, 0, 1.0, 1.0, -1);
            for (k, (&f, &z)) in features.iter().zip(&zeros).enumerate() {
                let one = if pattern >> k & 1 == 1 { 1.0 } else { 0.0 };
                extend_path(&mut unique, k + 1, z, one, f as isize);
            }
            for k in 1..=u {
                let w = unwound_path_sum(&unique, u, k);
                let el = unique[k];
                self.values
                    .push(w * (el.one_fraction - el.zero_fraction) * leaf_value);
            }
        }
        true
    }
}

impl Explainer {
    /// Number of input features.
    pub fn num_features(&self) -> usize {
        self.num_features
    }

    /// TreeSHAP contributions for one row (values in input order; NaN =
    /// missing), as [`Ensemble::contributions`].
    ///
    /// # Panics
    /// If `row` does not have exactly [`Explainer::num_features`] values.
    pub fn contributions(&self, row: &[f32]) -> Contributions {
        let mut values = vec![0.0; self.num_features];
        self.contributions_into(row, &mut values);
        Contributions {
            values,
            bias: self.bias,
        }
    }

    /// The expected raw output (the bias of every explanation).
    pub fn bias(&self) -> f64 {
        self.bias
    }

    /// Writes the per-feature contributions of `row` into `out` (overwriting
    /// it); no allocation when every tree is tabled.
    ///
    /// # Panics
    /// If `row` or `out` does not have exactly [`Explainer::num_features`]
    /// values.
    pub fn contributions_into(&self, row: &[f32], out: &mut [f64]) {
        assert_eq!(
            row.len(),
            self.num_features,
            "row length must equal the model's feature count"
        );
        assert_eq!(out.len(), self.num_features, "one output per feature");
        out.fill(0.0);
        let mut left = [false; 64];
        let mut left_vec = Vec::new();
        let goes_left: &mut [bool] = if self.max_nodes <= left.len() {
            &mut left[..]
        } else {
            left_vec.resize(self.max_nodes, false);
            &mut left_vec[..]
        };
        for t in &self.tabled {
            for (d, s) in goes_left.iter_mut().zip(&t.splits) {
                *d = s.next(f64::from(row[s.feature])) == s.left;
            }
            for leaf in &t.leaves {
                let mut broken = 0u32;
                for step in &t.steps[leaf.steps.0 as usize..leaf.steps.1 as usize] {
                    if goes_left[step.node as usize] != step.left {
                        broken |= 1 << step.local;
                    }
                }
                let u = leaf.distinct as usize;
                let pattern = ((1usize << u) - 1) & !(broken as usize);
                let at = leaf.values + pattern * u;
                let features = &t.features[leaf.features as usize..][..u];
                for (&f, &v) in features.iter().zip(&t.values[at..at + u]) {
                    out[f as usize] += v;
                }
            }
        }
        if !self.walked.is_empty() {
            let row64: Vec<f64> = row.iter().map(|&v| f64::from(v)).collect();
            let n = self.max_walk_len;
            let mut path = vec![PathElement::default(); n * (n + 1) / 2];
            let mut scratch = LeafScratch::with_capacity(n);
            for tree in &self.walked {
                let mut walk = Walk {
                    tree,
                    row: &row64,
                    phi: out,
                    path: &mut path,
                    scratch: &mut scratch,
                };
                walk.recurse(0, 0, 0, 1.0, 1.0, -1);
            }
        }
    }
}

#[cfg(test)]
mod explainer_tests {
    use super::*;

    fn rows_of(json: &str) -> Vec<Vec<f32>> {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().map_or(f32::NAN, |x| x as f32))
                    .collect()
            })
            .collect()
    }

    fn agree(e: &Ensemble, rows: &[Vec<f32>]) {
        let x = e.explainer();
        assert!(!rows.is_empty());
        for row in rows {
            let want = e.contributions(row);
            let got = x.contributions(row);
            assert!((got.bias - want.bias).abs() <= 1e-12);
            for (j, (g, w)) in got.values.iter().zip(&want.values).enumerate() {
                assert!((g - w).abs() <= 1e-9, "feature {j}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn explainer_matches_the_recursion_on_the_fixtures() {
        for (model, rows) in [
            (
                include_str!("testdata/tiny_binary.lgb.txt"),
                include_str!("testdata/tiny_binary.rows.json"),
            ),
            (
                include_str!("testdata/tiny_regression_zero_missing.lgb.txt"),
                include_str!("testdata/tiny_regression_zero_missing.rows.json"),
            ),
        ] {
            agree(&Ensemble::parse(model).unwrap(), &rows_of(rows));
        }
    }

    #[test]
    fn explainer_matches_the_recursion_on_the_shipped_fraud_model() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fraud.lgb.txt");
        let Ok(e) = Ensemble::load(&path) else {
            return;
        };
        // Rows around every threshold the model uses, plus missing values.
        let mut rows = Vec::new();
        let n = e.num_features();
        for (k, tree) in e.trees.iter().enumerate() {
            for (j, s) in tree.splits.iter().enumerate() {
                let mut row: Vec<f32> = (0..n)
                    .map(|i| ((i * 7 + j * 3 + k) % 11) as f32 * 0.5)
                    .collect();
                row[s.feature] = s.threshold as f32;
                rows.push(row.clone());
                row[s.feature] = s.threshold as f32 + 1.0;
                rows.push(row.clone());
                row[(s.feature + 1) % n] = f32::NAN;
                rows.push(row);
            }
        }
        agree(&e, &rows);
    }

    #[test]
    fn trees_over_the_limits_fall_back_to_the_recursion() {
        let e = Ensemble::parse(include_str!("testdata/tiny_binary.lgb.txt")).unwrap();
        let rows = rows_of(include_str!("testdata/tiny_binary.rows.json"));
        let tree = &e.trees[0];
        assert!(TabledTree::build(tree, 0).is_none());
        // Every tree explained by the recursion inside the explainer.
        let mut all_walked = e.explainer();
        all_walked.walked = e
            .trees
            .iter()
            .filter(|t| !t.splits.is_empty())
            .cloned()
            .collect();
        all_walked.tabled.clear();
        all_walked.max_walk_len = e.trees.iter().map(|t| t.max_depth).max().unwrap_or(0) + 1;
        for row in &rows {
            let want = e.contributions(row);
            let got = all_walked.contributions(row);
            for (g, w) in got.values.iter().zip(&want.values) {
                assert!((g - w).abs() <= 1e-12);
            }
        }
    }
}
