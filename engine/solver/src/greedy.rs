//! The greedy baseline: what a naive order management system does.
//!
//! Line by line, in request order, it takes units from the option with the
//! lowest incremental cost per unit: a node already shipping for this order
//! costs only its unit cost, a new node also brings its package cost and the
//! split penalty. Free stock ranks before protected stock (which carries the
//! protection penalty). Capacity, `max_nodes` and the backorder rule are
//! respected; units no node can take are backordered when allowed.
//!
//! It then also tries every single-node plan (the only shape ship-complete
//! allows) and keeps the cheaper of the two, so ship-complete orders a single
//! node can fill always get a plan. Deterministic: ties break by candidate
//! index. Never proven optimal; it is the deadline floor and the solvers'
//! starting incumbent.

use super::problem::{Plan, Problem, check, objective};

/// The greedy plan, or `None` when it finds no feasible plan (only possible
/// when backorders are not allowed). With backorders allowed it always
/// returns a plan that passes [`check`].
pub fn greedy(problem: &Problem) -> Option<Plan> {
    let by_lines = line_by_line(problem);
    let single = best_single_node(problem);
    let best = match (by_lines, single) {
        (Some(a), Some(b)) => {
            if objective(problem, &b).total() < objective(problem, &a).total() {
                Some(b)
            } else {
                Some(a)
            }
        }
        (a, b) => a.or(b),
    };
    debug_assert!(best.as_ref().is_none_or(|p| check(problem, p).is_ok()));
    best
}

/// One option for the next units of a line: a candidate and a stock tier.
#[derive(Clone, Copy)]
struct Choice {
    candidate: usize,
    protected: bool,
    units: u32,
    /// Incremental cost of taking `units` units.
    cost: i64,
    used: bool,
}

impl Choice {
    /// Whether `self` is strictly better than `other`: lower cost per unit
    /// (compared exactly), then already used, then free tier, then index.
    fn better_than(&self, other: &Choice) -> bool {
        let lhs = i128::from(self.cost) * i128::from(other.units);
        let rhs = i128::from(other.cost) * i128::from(self.units);
        (lhs, !self.used, self.protected, self.candidate)
            < (rhs, !other.used, other.protected, other.candidate)
    }
}

fn line_by_line(problem: &Problem) -> Option<Plan> {
    let n = problem.n();
    let mut plan = Plan::all_backordered(problem);
    let mut load = vec![0u32; n];
    let mut used = vec![false; n];
    let mut used_count = 0u32;
    let max_nodes = problem.max_nodes.unwrap_or(u32::MAX);
    for (l, line) in problem.lines.iter().enumerate() {
        let mut remaining = line.quantity;
        while remaining > 0 {
            let mut best: Option<Choice> = None;
            for c in 0..n {
                if !used[c] && used_count >= max_nodes {
                    continue;
                }
                let room = problem.candidates[c].capacity.saturating_sub(load[c]);
                let i = problem.at(l, c);
                for protected in [false, true] {
                    let (stock, taken) = if protected {
                        (problem.protected_stock[i], plan.protected[i])
                    } else {
                        (problem.free_stock[i], plan.free[i])
                    };
                    let units = remaining.min(room).min(stock.saturating_sub(taken));
                    if units == 0 {
                        continue;
                    }
                    let mut per_unit = problem.unit_cost(l, c);
                    if protected {
                        per_unit += problem.protect_penalty[i];
                    }
                    let mut cost = per_unit * i64::from(units);
                    if !used[c] {
                        cost += problem.candidates[c].package_cost;
                        if used_count > 0 {
                            cost += problem.split_penalty;
                        }
                    }
                    let choice = Choice {
                        candidate: c,
                        protected,
                        units,
                        cost,
                        used: used[c],
                    };
                    if best.as_ref().is_none_or(|b| choice.better_than(b)) {
                        best = Some(choice);
                    }
                }
            }
            let Some(choice) = best else { break };
            let i = problem.at(l, choice.candidate);
            if choice.protected {
                plan.protected[i] += choice.units;
            } else {
                plan.free[i] += choice.units;
            }
            load[choice.candidate] += choice.units;
            if !used[choice.candidate] {
                used[choice.candidate] = true;
                used_count += 1;
            }
            remaining -= choice.units;
        }
        if remaining > 0 && !problem.allow_backorder {
            return None;
        }
        plan.backordered[l] = remaining;
    }
    Some(plan)
}

/// The cheapest plan that ships everything from one node (free stock first),
/// if any node can.
fn best_single_node(problem: &Problem) -> Option<Plan> {
    if problem.max_nodes == Some(0) {
        return None;
    }
    // One scratch plan, filled for each node that can ship everything and
    // emptied again (allocating a plan per candidate was most of this).
    let mut scratch = Plan::all_backordered(problem);
    let mut best: Option<(i64, usize)> = None;
    'nodes: for c in 0..problem.n() {
        let mut load = 0u32;
        for (l, line) in problem.lines.iter().enumerate() {
            let i = problem.at(l, c);
            let held = u64::from(problem.free_stock[i]) + u64::from(problem.protected_stock[i]);
            if u64::from(line.quantity) > held {
                continue 'nodes;
            }
            load += line.quantity;
        }
        if load > problem.candidates[c].capacity {
            continue;
        }
        fill_single_node(problem, &mut scratch, c);
        let total = objective(problem, &scratch).total();
        if best.is_none_or(|(t, _)| total < t) {
            best = Some((total, c));
        }
        for (l, line) in problem.lines.iter().enumerate() {
            let i = problem.at(l, c);
            scratch.free[i] = 0;
            scratch.protected[i] = 0;
            scratch.backordered[l] = line.quantity;
        }
    }
    best.map(|(_, c)| {
        fill_single_node(problem, &mut scratch, c);
        scratch
    })
}

/// Puts every line on candidate `c` (free stock first) in a plan that ships
/// nothing from `c` yet; `c` must hold enough for every line.
fn fill_single_node(problem: &Problem, plan: &mut Plan, c: usize) {
    for (l, line) in problem.lines.iter().enumerate() {
        let i = problem.at(l, c);
        let free = line.quantity.min(problem.free_stock[i]);
        plan.free[i] = free;
        plan.protected[i] = line.quantity - free;
        plan.backordered[l] = 0;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::testgen::random_problem;

    proptest! {
        #[test]
        fn greedy_plans_are_feasible(seed in any::<u64>(), lines in 1usize..6, nodes in 1usize..12) {
            let mut problem = random_problem(seed, lines, nodes);
            match greedy(&problem) {
                Some(plan) => prop_assert_eq!(check(&problem, &plan), Ok(())),
                None => prop_assert!(!problem.allow_backorder),
            }
            problem.allow_backorder = true;
            let plan = greedy(&problem);
            prop_assert!(plan.is_some());
            prop_assert_eq!(check(&problem, &plan.unwrap()), Ok(()));
        }

        #[test]
        fn greedy_is_deterministic(seed in any::<u64>()) {
            let problem = random_problem(seed, 4, 8);
            prop_assert_eq!(greedy(&problem), greedy(&problem));
        }
    }

    #[test]
    fn ship_complete_finds_the_single_node_that_has_everything() {
        // Line 0 is cheapest at node 0, but only node 1 holds both lines.
        let mut problem = random_problem(7, 2, 2);
        problem.free_stock = vec![
            problem.lines[0].quantity,
            problem.lines[0].quantity,
            0,
            problem.lines[1].quantity,
        ];
        problem.protected_stock = vec![0; 4];
        problem.transport_per_unit = vec![1, 500, 1, 1];
        for c in &mut problem.candidates {
            c.capacity = 1_000;
        }
        problem.max_nodes = Some(1);
        problem.allow_backorder = false;
        let plan = greedy(&problem).unwrap();
        assert_eq!(plan.used(&problem), vec![1]);
    }
}
