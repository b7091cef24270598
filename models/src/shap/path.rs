//! The path algebra of path-dependent TreeSHAP: the unique feature path of
//! a root-to-leaf walk, extended and unwound as the walk goes, and a leaf's
//! contributions from its path.

/// One element of the unique feature path.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PathElement {
    /// Feature split on (-1 for the root placeholder).
    pub(super) feature: isize,
    /// Share of training rows that take this branch.
    pub(super) zero_fraction: f64,
    /// 1.0 if the explained row takes this branch, else 0.0.
    pub(super) one_fraction: f64,
    /// Permutation weight.
    pub(super) pweight: f64,
}

pub(super) fn extend_path(
    path: &mut [PathElement],
    depth: usize,
    zero: f64,
    one: f64,
    feature: isize,
) {
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

pub(super) fn unwind_path(path: &mut [PathElement], depth: usize, index: usize) {
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

/// Reusable buffers of [`leaf_contributions`], one slot per path element.
#[derive(Debug, Default)]
pub(super) struct LeafScratch {
    /// `d1 / (i + 1)` for the current depth.
    a: Vec<f64>,
    /// `(depth - i) / (i + 1)` for the current depth.
    b: Vec<f64>,
    /// Per followed element: `zero / one`.
    zc: Vec<f64>,
    /// Per followed element: the recurrence's running value.
    next: Vec<f64>,
    /// Per followed element: the unwound sum so far.
    total: Vec<f64>,
    /// Per followed element: feature index and `(one - zero) / one`.
    target: Vec<(usize, f64)>,
}

impl LeafScratch {
    pub(super) fn with_capacity(n: usize) -> Self {
        Self {
            a: Vec::with_capacity(n),
            b: Vec::with_capacity(n),
            zc: Vec::with_capacity(n),
            next: Vec::with_capacity(n),
            total: Vec::with_capacity(n),
            target: Vec::with_capacity(n),
        }
    }
}

/// Adds one leaf's share to `phi` for every feature on its unique `path`
/// (`path.len()` = path depth + 1, element 0 the root placeholder).
///
/// The same numbers as calling [`unwound_path_sum`] for each element, with
/// the shared work hoisted: for elements the row does not follow
/// (`one_fraction == 0`) the unwound sum is one weighted sum of the
/// permutation weights divided by the element's zero fraction, computed once
/// per leaf; the elements the row follows run their recurrences side by side
/// (independent chains, no divisions in the loop).
pub(super) fn leaf_contributions(
    path: &[PathElement],
    leaf_value: f64,
    phi: &mut [f64],
    s: &mut LeafScratch,
) {
    let depth = path.len() - 1;
    if depth == 0 {
        return;
    }
    let d1 = (depth + 1) as f64;
    s.a.clear();
    s.b.clear();
    for i in 0..depth {
        let inv = 1.0 / (i + 1) as f64;
        s.a.push(d1 * inv);
        s.b.push((depth - i) as f64 * inv);
    }
    s.zc.clear();
    s.target.clear();
    let mut cold_sum: Option<f64> = None;
    for el in &path[1..=depth] {
        let (one, zero) = (el.one_fraction, el.zero_fraction);
        if one != 0.0 {
            let inv_one = 1.0 / one;
            s.zc.push(zero * inv_one);
            s.target
                .push((el.feature as usize, (one - zero) * inv_one * leaf_value));
        } else {
            let sum = *cold_sum.get_or_insert_with(|| {
                (0..depth)
                    .map(|i| path[i].pweight * d1 / (depth - i) as f64)
                    .sum()
            });
            phi[el.feature as usize] += sum / zero * (one - zero) * leaf_value;
        }
    }
    let h = s.zc.len();
    if h == 0 {
        return;
    }
    s.next.clear();
    s.next.resize(h, path[depth].pweight);
    s.total.clear();
    s.total.resize(h, 0.0);
    let (next, total, zc) = (&mut s.next[..h], &mut s.total[..h], &s.zc[..h]);
    for i in (0..depth).rev() {
        let (a, b, pw) = (s.a[i], s.b[i], path[i].pweight);
        for k in 0..h {
            let n = next[k];
            total[k] += n * a;
            // tmp * zero * (depth - i) / d1 with tmp = n * d1 / ((i + 1) * one)
            next[k] = pw - n * zc[k] * b;
        }
    }
    for (&(feature, scale), &t) in s.target.iter().zip(total.iter()) {
        phi[feature] += t * scale;
    }
}

pub(super) fn unwound_path_sum(path: &[PathElement], depth: usize, index: usize) -> f64 {
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
