//! The Lagrangian lower bound: the demand rows are moved into the objective
//! with multipliers `lambda[line]`; what is left separates by node, and each
//! node's part is a sort-and-fill (take the units with negative reduced cost
//! `unit cost - lambda`, cheapest first, up to the capacity). The node set
//! then takes the forced-in nodes plus up to `k - |in|` free nodes of most
//! negative value; the split penalty's "-1" applies once any node ships, and
//! the empty set is an option while no node is forced in.
//!
//! Every value of the Lagrangian function is a valid lower bound; the
//! multipliers are improved by subgradient steps (Polyak step towards the
//! incumbent, projected to at most the backorder penalty) and handed down
//! to child nodes of the search.

use super::reduce::Model;

/// Node status in a search node.
pub(crate) const FREE: u8 = 0;
/// The node must ship.
pub(crate) const IN: u8 = 1;
/// The node must not ship.
pub(crate) const OUT: u8 = 2;

/// One evaluation of the Lagrangian function, with scratch space.
#[derive(Debug, Default)]
pub(crate) struct Lagrange {
    /// Value of each model node (fixed cost + reduced-cost fill), for active nodes.
    pub value: Vec<f64>,
    /// The bound.
    pub lb: f64,
    /// Subgradient: demand minus supply per line.
    pub g: Vec<f64>,
    /// Free nodes chosen by the subproblem, most negative first.
    pub selected: Vec<usize>,
    /// Free nodes' values; the first `sel` are the selection, ascending.
    sorted: Vec<(f64, usize)>,
    /// Length of the selection.
    sel: usize,
    /// Free nodes with negative value.
    neg: usize,
    /// Free nodes the non-empty option must take.
    mandatory: usize,
    /// Constant part: demand term, backorders, forced-in nodes, split.
    base_in: f64,
    /// Prefix sums of the negative values.
    prefix: Vec<f64>,
    /// Free slots: k - |in|.
    slots: usize,
    /// Whether the bound is the empty-set option.
    pub empty: bool,
    items: Vec<(f64, u32)>,
}

impl Lagrange {
    /// Creates buffers for `m`.
    pub fn new(m: &Model) -> Lagrange {
        Lagrange {
            value: vec![0.0; m.n()],
            g: vec![0.0; m.l],
            ..Lagrange::default()
        }
    }

    /// Value of node n's subproblem: fixed cost + best reduced-cost fill.
    /// When `x` is given, the units taken are subtracted from it per line.
    /// Reads only the node's pairs the bound can use (`Model::pairs`): the
    /// multipliers never exceed the backorder penalty.
    fn node_value(&mut self, m: &Model, n: usize, lambda: &[f64], x: Option<&mut [f64]>) -> f64 {
        let pairs = m.pairs_of(n);
        if m.roomy[n] {
            let mut sum = 0.0;
            for p in pairs {
                let lam = lambda[p.line as usize];
                sum += (p.cost1 - lam).min(0.0) * p.units1 + (p.cost2 - lam).min(0.0) * p.units2;
            }
            if let Some(x) = x {
                for p in pairs {
                    let lam = lambda[p.line as usize];
                    let t1 = if p.cost1 < lam { p.units1 } else { 0.0 };
                    let t2 = if p.cost2 < lam { p.units2 } else { 0.0 };
                    x[p.line as usize] -= t1 + t2;
                }
            }
            return m.fixed[n] as f64 + sum;
        }
        let mut sum = 0.0;
        let mut units = 0.0;
        self.items.clear();
        for (j, p) in pairs.iter().enumerate() {
            let lam = lambda[p.line as usize];
            // The cheap tier costs no more than the dear one, so the dear
            // tier is taken only with the cheap one (or when it is empty).
            let r1 = p.cost1 - lam;
            if r1 < 0.0 && p.units1 > 0.0 {
                sum += r1 * p.units1;
                units += p.units1;
                self.items.push((r1, j as u32));
            }
            let r2 = p.cost2 - lam;
            if r2 < 0.0 && p.units2 > 0.0 {
                sum += r2 * p.units2;
                units += p.units2;
                self.items.push((r2, (j as u32) | TIER2));
            }
        }
        let room = f64::from(m.cap[n]);
        if units <= room {
            if let Some(x) = x {
                for &(_, code) in &self.items {
                    let p = &pairs[(code & !TIER2) as usize];
                    let u = if code & TIER2 != 0 {
                        p.units2
                    } else {
                        p.units1
                    };
                    x[p.line as usize] -= u;
                }
            }
            return m.fixed[n] as f64 + sum;
        }
        self.items
            .sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut room = room;
        let mut sum = 0.0;
        let mut x = x;
        for &(r, code) in &self.items {
            if room <= 0.0 {
                break;
            }
            let p = &pairs[(code & !TIER2) as usize];
            let u = if code & TIER2 != 0 {
                p.units2
            } else {
                p.units1
            }
            .min(room);
            room -= u;
            sum += r * u;
            if let Some(x) = x.as_deref_mut() {
                x[p.line as usize] -= u;
            }
        }
        m.fixed[n] as f64 + sum
    }

    /// Evaluates the Lagrangian function at `lambda` over the `active`
    /// (not excluded) nodes, for node sets of at least `lo` nodes; fills the
    /// bound, the selection and, when `subgradient`, the subgradient.
    pub fn eval(
        &mut self,
        m: &Model,
        lambda: &[f64],
        status: &[u8],
        active: &[usize],
        lo: usize,
        subgradient: bool,
    ) {
        let mut base = 0.0;
        for (line, &lam) in lambda.iter().enumerate() {
            let q = f64::from(m.qty[line]);
            base += lam * q;
            if let Some(bp) = m.backorder {
                base += (bp as f64 - lam).min(0.0) * q;
            }
        }
        let mut n_in = 0;
        let mut neg = 0;
        self.sorted.clear();
        for &n in active {
            let v = self.node_value(m, n, lambda, None);
            self.value[n] = v;
            if status[n] == IN {
                base += v;
                n_in += 1;
            } else {
                neg += usize::from(v < 0.0);
                self.sorted.push((v, n));
            }
        }
        self.slots = m.k.saturating_sub(n_in);
        self.neg = neg;
        // The non-empty option: at least max(lo, 1) nodes in all.
        self.mandatory = lo.max(1).saturating_sub(n_in);
        self.base_in = base - m.split as f64;
        self.selected.clear();
        self.empty = false;
        let z1 = if self.mandatory > self.slots || self.mandatory > self.sorted.len() {
            self.sel = 0;
            self.prefix.clear();
            f64::INFINITY
        } else {
            let sel = self.mandatory.max(neg.min(self.slots));
            if sel < self.sorted.len() && sel > 0 {
                self.sorted.select_nth_unstable_by(sel - 1, |a, b| {
                    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
                });
            }
            let prefix = &mut self.sorted[..sel];
            prefix.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            self.sel = sel;
            self.prefix.clear();
            self.prefix.push(0.0);
            let mut acc = 0.0;
            for &(v, _) in &self.sorted[..sel] {
                acc += v;
                self.prefix.push(acc);
            }
            self.base_in + acc
        };
        if n_in == 0 && lo == 0 && base <= z1 {
            self.lb = base;
            self.empty = true;
        } else {
            self.lb = z1;
            if z1.is_finite() {
                self.selected
                    .extend(self.sorted[..self.sel].iter().map(|&(_, n)| n));
            }
        }
        if subgradient {
            let mut g = std::mem::take(&mut self.g);
            for (line, gl) in g.iter_mut().enumerate() {
                *gl = f64::from(m.qty[line]);
                if let Some(bp) = m.backorder
                    && (bp as f64) < lambda[line]
                {
                    *gl = 0.0;
                }
            }
            if !self.empty && self.lb.is_finite() {
                for &n in active {
                    if status[n] == IN {
                        self.node_value(m, n, lambda, Some(&mut g));
                    }
                }
                let selected = std::mem::take(&mut self.selected);
                for &n in &selected {
                    self.node_value(m, n, lambda, Some(&mut g));
                }
                self.selected = selected;
            }
            self.g = g;
        }
    }

    /// The bound of this evaluation (its non-empty option) if free node `n`
    /// were forced in.
    pub fn bound_if_in(&self, n: usize) -> f64 {
        if self.slots == 0 || self.prefix.is_empty() || self.mandatory > self.slots {
            return f64::INFINITY;
        }
        if self.sorted[..self.sel].iter().any(|&(_, x)| x == n) {
            return self.base_in + self.prefix[self.sel];
        }
        let v = self.value[n];
        let neg = self.neg - usize::from(v < 0.0);
        let sel = self
            .mandatory
            .saturating_sub(1)
            .max(neg.min(self.slots - 1))
            .min(self.sel);
        self.base_in + v + self.prefix[sel]
    }
}

/// Marks the dear tier in an item code.
const TIER2: u32 = 1 << 31;

/// Multipliers to start from: per line, the cheapest "unit cost plus the
/// node's fixed cost spread over the units it could ship of that line",
/// capped at the backorder penalty.
pub(crate) fn initial_lambda(m: &Model) -> Vec<f64> {
    (0..m.l)
        .map(|line| {
            let mut best = f64::INFINITY;
            for n in 0..m.n() {
                let i = m.at(n, line);
                let units = m.cap1[i] + m.cap2[i];
                if units == 0 {
                    continue;
                }
                let share = m.fixed[n] as f64 / f64::from(units.min(m.cap[n]));
                best = best.min(m.cost1[i] as f64 + share);
            }
            match m.backorder {
                Some(bp) => best.min(bp as f64),
                None if best.is_finite() => best,
                None => 0.0,
            }
        })
        .collect()
}
