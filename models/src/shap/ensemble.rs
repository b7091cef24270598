//! LightGBM's model text format (`booster.save_model(...)`), parsed into trees.
//!
//! Only what TreeSHAP and raw prediction need is kept: the tree structure,
//! numerical split thresholds with their decision-type bits, leaf values (which
//! LightGBM stores with shrinkage already applied, and the initial score folded
//! into the first tree) and the per-node training counts used as cover.

use std::path::Path;

use super::ShapError;

/// How a split sends a missing value (`decision_type` bits 2-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingType {
    /// No special handling: NaN is read as 0.0 and compared with the threshold.
    None,
    /// Zero (|x| <= 1e-35) and NaN go the default direction.
    Zero,
    /// NaN goes the default direction.
    NaN,
}

/// One internal node: a numerical split `x[feature] <= threshold` goes left.
#[derive(Debug, Clone)]
pub struct Split {
    /// Index of the feature in the model's input order.
    pub feature: usize,
    /// Threshold of the `<=` comparison.
    pub threshold: f64,
    /// Whether missing values go left (`decision_type` bit 1).
    pub default_left: bool,
    /// Which values count as missing.
    pub missing: MissingType,
    /// Left child: `>= 0` is a node, `< 0` is leaf `!child`.
    pub left: i32,
    /// Right child, encoded like `left`.
    pub right: i32,
    /// Training rows that reached this node (TreeSHAP's cover).
    pub count: f64,
}

/// One regression tree of the ensemble.
#[derive(Debug, Clone)]
pub struct Tree {
    /// Internal nodes; node 0 is the root when there is at least one split.
    pub splits: Vec<Split>,
    /// Leaf outputs (shrinkage applied).
    pub leaf_values: Vec<f64>,
    /// Training rows that reached each leaf.
    pub leaf_counts: Vec<f64>,
    /// Depth of the deepest leaf (0 for a single-leaf tree).
    pub max_depth: usize,
}

/// A parsed LightGBM model: one output (binary classifier or regressor).
#[derive(Debug, Clone)]
pub struct Ensemble {
    /// Feature names in input order (`feature_names=` line).
    pub feature_names: Vec<String>,
    /// The objective line, e.g. `binary sigmoid:1` or `regression`.
    pub objective: String,
    /// The trees, in boosting order.
    pub trees: Vec<Tree>,
}

impl Ensemble {
    /// Reads and parses a model text file.
    pub fn load(path: &Path) -> Result<Self, ShapError> {
        let text = std::fs::read_to_string(path).map_err(|source| ShapError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses the text written by LightGBM's `save_model`.
    pub fn parse(text: &str) -> Result<Self, ShapError> {
        let mut feature_names = Vec::new();
        let mut objective = String::new();
        let mut max_feature_idx: Option<usize> = None;
        let mut blocks: Vec<Vec<(&str, &str)>> = Vec::new();
        let mut in_tree = false;
        for line in text.lines() {
            let line = line.trim();
            if line == "end of trees" {
                break;
            }
            if line.starts_with("Tree=") {
                blocks.push(Vec::new());
                in_tree = true;
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            match (in_tree, blocks.last_mut()) {
                (true, Some(block)) => block.push((key, value)),
                _ => match key {
                    "feature_names" => {
                        feature_names = value.split_whitespace().map(str::to_owned).collect();
                    }
                    "objective" => objective = value.to_owned(),
                    "max_feature_idx" => max_feature_idx = Some(parse_num(key, value)?),
                    "num_tree_per_iteration" if value != "1" => {
                        return Err(ShapError::Unsupported(format!(
                            "num_tree_per_iteration={value}: only single-output models (binary, regression) are supported"
                        )));
                    }
                    _ => {}
                },
            }
        }
        let num_features = match max_feature_idx {
            Some(max) => max + 1,
            None => return Err(ShapError::Format("no max_feature_idx line".into())),
        };
        if feature_names.len() != num_features {
            return Err(ShapError::Format(format!(
                "{} feature names for max_feature_idx={}",
                feature_names.len(),
                num_features - 1
            )));
        }
        if blocks.is_empty() {
            return Err(ShapError::Format("no Tree= blocks".into()));
        }
        let trees = blocks
            .iter()
            .enumerate()
            .map(|(i, block)| parse_tree(block, num_features).map_err(|e| e.in_tree(i)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            feature_names,
            objective,
            trees,
        })
    }

    /// Number of input features.
    pub fn num_features(&self) -> usize {
        self.feature_names.len()
    }

    /// The raw score (log-odds for a binary classifier) for one row.
    pub fn predict_raw(&self, features: &[f64]) -> f64 {
        self.trees
            .iter()
            .map(|t| t.leaf_values[t.leaf_for(features)])
            .sum()
    }
}

impl Tree {
    /// Index of the leaf a row falls into.
    pub fn leaf_for(&self, features: &[f64]) -> usize {
        if self.splits.is_empty() {
            return 0;
        }
        let mut node = 0i32;
        while node >= 0 {
            let split = &self.splits[node as usize];
            node = split.next(features[split.feature]);
        }
        !node as usize
    }

    /// Expected output over the training data: leaves weighted by their counts.
    pub fn expected_value(&self) -> f64 {
        match self.splits.first() {
            None => self.leaf_values[0],
            Some(root) => self
                .leaf_values
                .iter()
                .zip(&self.leaf_counts)
                .map(|(v, c)| c / root.count * v)
                .sum(),
        }
    }

    /// Training rows that reached a node (`>= 0`) or a leaf (`< 0`).
    pub fn count(&self, node: i32) -> f64 {
        if node >= 0 {
            self.splits[node as usize].count
        } else {
            self.leaf_counts[!node as usize]
        }
    }
}

impl Split {
    /// The child a value goes to, exactly as LightGBM's `NumericalDecision`.
    pub fn next(&self, value: f64) -> i32 {
        let mut value = value;
        if value.is_nan() && self.missing != MissingType::NaN {
            value = 0.0;
        }
        let is_missing = match self.missing {
            MissingType::None => false,
            MissingType::Zero => value > -K_ZERO_THRESHOLD && value <= K_ZERO_THRESHOLD,
            MissingType::NaN => value.is_nan(),
        };
        if is_missing {
            return if self.default_left {
                self.left
            } else {
                self.right
            };
        }
        if value <= self.threshold {
            self.left
        } else {
            self.right
        }
    }
}

/// LightGBM's `kZeroThreshold`: values this close to 0 count as zero.
const K_ZERO_THRESHOLD: f64 = 1e-35;

fn parse_tree(block: &[(&str, &str)], num_features: usize) -> Result<Tree, ShapError> {
    let get = |key: &str| block.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let need = |key: &str| get(key).ok_or_else(|| ShapError::Format(format!("missing {key}")));
    let num_leaves: usize = parse_num("num_leaves", need("num_leaves")?)?;
    if get("is_linear").is_some_and(|v| v != "0") {
        return Err(ShapError::Unsupported(
            "linear trees (linear_tree=true)".into(),
        ));
    }
    if get("num_cat").is_some_and(|v| v != "0") {
        return Err(ShapError::Unsupported(
            "categorical splits (num_cat > 0): train with numerical features only".into(),
        ));
    }
    let leaf_values: Vec<f64> = parse_list("leaf_value", need("leaf_value")?)?;
    check_len("leaf_value", leaf_values.len(), num_leaves)?;
    if num_leaves == 1 {
        return Ok(Tree {
            splits: Vec::new(),
            leaf_values,
            leaf_counts: vec![0.0],
            max_depth: 0,
        });
    }
    let n = num_leaves - 1;
    let features: Vec<usize> = parse_list("split_feature", need("split_feature")?)?;
    let thresholds: Vec<f64> = parse_list("threshold", need("threshold")?)?;
    let decision: Vec<u8> = parse_list("decision_type", need("decision_type")?)?;
    let left: Vec<i32> = parse_list("left_child", need("left_child")?)?;
    let right: Vec<i32> = parse_list("right_child", need("right_child")?)?;
    let counts: Vec<f64> = parse_list("internal_count", need("internal_count")?)?;
    let leaf_counts: Vec<f64> = parse_list("leaf_count", need("leaf_count")?)?;
    for (name, len) in [
        ("split_feature", features.len()),
        ("threshold", thresholds.len()),
        ("decision_type", decision.len()),
        ("left_child", left.len()),
        ("right_child", right.len()),
        ("internal_count", counts.len()),
    ] {
        check_len(name, len, n)?;
    }
    check_len("leaf_count", leaf_counts.len(), num_leaves)?;
    let mut splits = Vec::with_capacity(n);
    for i in 0..n {
        let bits = decision[i];
        if bits & 1 != 0 {
            return Err(ShapError::Unsupported(format!(
                "categorical split at node {i}: train with numerical features only"
            )));
        }
        let missing = match (bits >> 2) & 3 {
            0 => MissingType::None,
            1 => MissingType::Zero,
            2 => MissingType::NaN,
            other => return Err(ShapError::Format(format!("node {i}: missing type {other}"))),
        };
        if features[i] >= num_features {
            return Err(ShapError::Format(format!(
                "node {i} splits on feature {} of {num_features}",
                features[i]
            )));
        }
        for child in [left[i], right[i]] {
            let ok = if child >= 0 {
                (child as usize) < n
            } else {
                (!child as usize) < num_leaves
            };
            if !ok {
                return Err(ShapError::Format(format!(
                    "node {i}: child {child} out of range"
                )));
            }
        }
        splits.push(Split {
            feature: features[i],
            threshold: thresholds[i],
            default_left: bits & 2 != 0,
            missing,
            left: left[i],
            right: right[i],
            count: counts[i],
        });
    }
    let max_depth = depth(&splits, 0, 0, n)?;
    Ok(Tree {
        splits,
        leaf_values,
        leaf_counts,
        max_depth,
    })
}

/// Depth of the deepest leaf under `node`; refuses cycles (depth beyond the node count).
fn depth(splits: &[Split], node: i32, at: usize, n: usize) -> Result<usize, ShapError> {
    if node < 0 {
        return Ok(at);
    }
    if at > n {
        return Err(ShapError::Format("tree has a cycle".into()));
    }
    let s = &splits[node as usize];
    Ok(depth(splits, s.left, at + 1, n)?.max(depth(splits, s.right, at + 1, n)?))
}

fn check_len(name: &str, got: usize, want: usize) -> Result<(), ShapError> {
    if got == want {
        Ok(())
    } else {
        Err(ShapError::Format(format!(
            "{name} has {got} values, expected {want}"
        )))
    }
}

fn parse_num<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ShapError> {
    value
        .trim()
        .parse()
        .map_err(|_| ShapError::Format(format!("{key}: cannot parse {value:?}")))
}

fn parse_list<T: std::str::FromStr>(key: &str, value: &str) -> Result<Vec<T>, ShapError> {
    value
        .split_whitespace()
        .map(|v| parse_num(key, v))
        .collect()
}
